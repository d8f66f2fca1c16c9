// openVfs: the vfs over a Store. Loads (or creates) the drive's root, checks it against
// the last root this machine saw (E_ROLLBACK), replays the local journal on top of it and
// resumes the pending uploads. See docs/design.md "vfs".
import { mkdir } from 'node:fs/promises';
import { hostname, totalmem } from 'node:os';
import { isMegafsError, MegafsError } from '../errors.js';
import type { DriveKeys } from '../crypto/keys.js';
import { checkNotRolledBack, openRoot, rootHash } from '../crypto/root.js';
import { fromBase64, toHex } from '../format/bytes.js';
import { nodePlatform } from '../platform/node.js';
import type { RootRecord, Store } from '../store/store.js';
import { DiskCache } from './disk-cache.js';
import { Drive, type Base } from './drive.js';
import { VfsEngine } from './engine.js';
import { Journal } from './journal.js';
import { loadState, saveState } from './state.js';
import { claimStateDir } from './session-lock.js';
import { TreeIo } from './tree-io.js';
import type { Vfs } from './types.js';
import { Uploader } from './uploader.js';
import type { DirNode } from './nodes.js';
import { VfsShares } from './shares.js';

export type { Vfs } from './types.js';

export interface OpenVfsOptions {
  store: Store;
  keys: DriveKeys;
  /** Small local state: last seen root, journal. */
  stateDir: string;
  /** Ciphertext object cache. */
  cacheDir: string;
  cacheSizeBytes: number;
  /** Decrypted chunks kept in memory (default defaultMemCacheBytes(): from the RAM). */
  memCacheBytes?: number;
  /** Keep chunks just written in the memory cache, so they read back at memory speed
   *  (default true). A mount turns it off: the kernel's page cache already holds what
   *  was written, and reusing the buffers spares every write fresh memory. */
  keepWritten?: boolean;
  /** A session that will write (a mount): take the lease at once (Drive.takeLease). */
  lease?: boolean;
  /** Names this machine in roots it writes (any string; hashed to 16 bytes). */
  deviceId: string;
  hostName?: string;
  log?: (line: string) => void;
  /** Delay from a change to the commit of a new root (default 1000 ms). */
  commitDelayMs?: number;
  /** How long fsync waits for the store before it reports EIO (default 10 s). */
  fsyncWaitMs?: number;
  /** Parallel uploads (default 8). */
  uploadConcurrency?: number;
  /** The newest root any program on this machine has seen of this drive (the drive
   *  layer's record): where a start with the store down begins. Default: the last root
   *  this stateDir saw. */
  lastSeenRoot?: () => Promise<RootRecord | null>;
}

/** A Vfs plus what tests need: simulate a killed process. */
export interface VfsHandle extends Vfs {
  /** Stop at once as if the process died: nothing more is written anywhere. */
  abandon(): void;
  /** The drive's shares: capture an entry, add and revoke share records (shares.ts). */
  readonly shares: VfsShares;
}

const UPLOAD_MEM_BYTES = 64 << 20;
/** Bounds of the default memory cache: an eighth of the RAM, within these. */
const MEM_CACHE_MIN_BYTES = 64 << 20;
const MEM_CACHE_MAX_BYTES = 2 * 1024 ** 3;

/** The memory cache a mount gets unless told otherwise: totalmem/8 clamped to
 *  [64 MiB, 2 GiB] (2 GiB on a 16 GiB machine: a hot GiB file reads at memory speed).
 *  MEGAFS_MEM_CACHE_MB overrides it. */
export function defaultMemCacheBytes(): number {
  const env = Number(process.env.MEGAFS_MEM_CACHE_MB);
  if (Number.isFinite(env) && env > 0) return Math.floor(env * 1024 * 1024);
  return Math.min(MEM_CACHE_MAX_BYTES, Math.max(MEM_CACHE_MIN_BYTES, Math.floor(totalmem() / 8)));
}

/** The 16-byte device id (hex) a root names for `deviceId` (any string). */
export function deviceHex(deviceId: string): string {
  if (/^[0-9a-f]{32}$/.test(deviceId)) return deviceId;
  return toHex(nodePlatform.sha256(new TextEncoder().encode(deviceId))).slice(0, 32);
}

/** A DRIVE object that is gone or does not open (fsck's business) leaves the drive
 *  mountable: the top directory then stands for it, so reading / is EIO with the log line
 *  naming the object, and the drive refuses to commit (Drive.encodeTop). A store that does
 *  not answer fails the open, as a root it cannot read does. */
function brokenBase(base: Base, e: unknown): Base {
  const code = (e as { code?: string }).code;
  if (code !== 'E_NOT_FOUND' && code !== 'E_INTEGRITY' && code !== 'E_FORMAT' && code !== 'E_VERSION') throw e;
  return { ...base, top: base.treeId, meta: null, broken: true };
}

export async function openVfs(opts: OpenVfsOptions): Promise<VfsHandle> {
  const p = nodePlatform;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  await mkdir(opts.stateDir, { recursive: true });
  await mkdir(opts.cacheDir, { recursive: true });
  const state = await loadState(opts.stateDir);
  const cache = await DiskCache.open(opts.cacheDir, opts.cacheSizeBytes);
  let rec: RootRecord | null;
  try {
    rec = await opts.store.getRoot();
  } catch (e) {
    // Offline start: the last root this machine saw; its objects are in the disk cache
    // as far as they were ever read or written here. Commits wait for the store.
    if (!isMegafsError(e, 'E_UNAVAILABLE')) throw e;
    const last = (await opts.lastSeenRoot?.()) ?? (state.rootBytes ? { bytes: fromBase64(state.rootBytes), etag: state.rootEtag ?? '' } : null);
    if (!last) throw e;
    rec = last;
    log(`megafs: ${opts.store.name} is unavailable (${(e as Error).message}); starting offline from the last root seen here (version ${openRoot(p, opts.keys, rec.bytes).version})`);
  }
  let base: Base = { version: 0n, hash: null, etag: null, treeId: null, bytes: null, top: null, meta: null };
  let journalFrom = state.journalFrom;
  if (rec) {
    const root = openRoot(p, opts.keys, rec.bytes);
    const hash = rootHash(p, rec.bytes);
    let seen = state.seenVersion && state.seenHash ? { version: BigInt(state.seenVersion), hash: state.seenHash } : null;
    if (state.pendingHash === hash && state.pendingVersion) {
      // Our last swap landed before the process stopped.
      journalFrom = state.pendingJournalFrom ?? journalFrom;
      seen = { version: BigInt(state.pendingVersion), hash };
    }
    checkNotRolledBack(seen, root, hash);
    base = { version: root.version, hash, etag: rec.etag, treeId: root.treeId, bytes: rec.bytes, top: null, meta: null };
  } else if (state.seenVersion) {
    throw new MegafsError('E_ROLLBACK', `the store has no root, but this machine saw version ${state.seenVersion}`);
  }
  const { journal, ops } = await Journal.open(opts.stateDir, p, opts.keys.journal, journalFrom);
  const ref: { drive?: Drive } = {};
  const tree = new TreeIo(p, opts.keys.tree, opts.keys.nameHash, (id) => ref.drive!.fetchObject(id));
  const uploader = new Uploader(opts.store, cache, opts.uploadConcurrency ?? 8, UPLOAD_MEM_BYTES, (line) => ref.drive?.recordError(line));
  const drive = new Drive({
    store: opts.store, keys: opts.keys, stateDir: opts.stateDir, deviceIdHex: deviceHex(opts.deviceId),
    hostName: opts.hostName ?? hostname(), log, commitDelayMs: opts.commitDelayMs ?? 1000, fsyncWaitMs: opts.fsyncWaitMs ?? 10_000, memCacheBytes: opts.memCacheBytes ?? defaultMemCacheBytes(),
    keepWritten: opts.keepWritten ?? true,
  }, tree, journal, cache, uploader, base);
  ref.drive = drive;
  drive.journalFrom = journalFrom;
  drive.claim = await claimStateDir(opts.stateDir, drive.meta.sessionId);
  drive.meta.previousSessionId = drive.claim.previous;
  if (base.treeId) drive.base = base = await Drive.resolveBase(tree, base).catch((e: unknown) => brokenBase(base, e));
  if (opts.lease && !base.broken) void drive.takeLease();
  const now = Date.now();
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const top: DirNode = {
    type: 'dir', ino: 1, perm: 0o755, uid, gid, atimeMs: now, mtimeMs: now, ctimeMs: now, xattrs: new Map(), parent: null,
    name: '/', origin: null, children: rec ? null : new Map(), treeId: base.top, loading: null,
  };
  const engine = new VfsEngine(drive, top);
  drive.engine = engine;
  await saveState(opts.stateDir, { ...drive.seen(), journalFrom });
  engine.replaying = true;
  for (const op of ops) {
    try {
      await engine.apply(op);
    } catch (e) {
      log(`megafs: journal replay: ${op.op} ${'path' in op ? op.path : op.from} skipped (${(e as Error).message})`);
    }
  }
  engine.replaying = false;
  if (!rec) await drive.commit();
  else if (ops.length > 0) drive.changed();
  return Object.assign(engine, { abandon: () => drive.abandon(), shares: new VfsShares(engine, drive) });
}
