// The mount's shared machinery (VfsContext): the object path (memory cache -> disk cache
// -> store, with hash checks), persisting sealed objects, the commit timer, and commits:
// seal every changed file, write the changed tree objects bottom-up, wait for every
// upload, then compare-and-swap a new sealed root (version + 1, prevRootHash). A lost
// swap fetches the other root and merges (merge.ts) before trying again.
// Order inside one commit (commits run one at a time): seal files -> rotate journal and
// encode the tree (synchronously: one consistent snapshot) -> upload -> the commit
// invariant's gate (checkStored) -> CAS -> state.
//
// THE COMMIT INVARIANT (docs/design.md "The commit invariant"): a root is written only
// after every object it names, directly or through trees, is acknowledged by the store's
// write quorum. Kept here, in one place: encoding collects every named id the uploader's
// ledger does not know as stored (pass.unacked), files naming an object the store refused
// for good are held back at their last committed entry, and checkStored() waits for and
// then asserts the rest right before the compare-and-swap. A failed pass forgets what it
// sealed (tree memo, directory ids), so the next commit seals and sends it again.
import { LRUCache } from 'lru-cache';
import { fsError, isMegafsError, MegafsError, StoreError } from '../errors.js';
import type { DriveKeys } from '../crypto/keys.js';
import type { SealedObject } from '../crypto/object.js';
import { checkNotRolledBack, openRoot, rootHash, sealRoot, ZERO_HASH } from '../crypto/root.js';
import { toBase64, toHex } from '../format/bytes.js';
import { encodeName } from '../format/names.js';
import { encodeDirLeaf, ENTRY_DIR, ENTRY_FILE, ENTRY_SYMLINK, type TreeEntry } from '../format/tree.js';
import { nodePlatform } from '../platform/node.js';
import { bodyMatches, noteHashed } from '../store/body-hash.js';
import { eachLimited } from '../store/limit.js';
import type { RootRecord, Store } from '../store/store.js';
import { ChunkReader } from './chunk-reader.js';
import { releaseSealed } from './buffer-pool.js';
import { recycleChunkBuffer } from './fresh-buffers.js';
import type { VfsContext } from './context.js';
import type { DiskCache } from './disk-cache.js';
import type { VfsEngine } from './engine.js';
import type { Journal } from './journal.js';
import { mergeTrees } from './merge.js';
import { markDirty, pathOf, type DirNode, type FileNode, type Node } from './nodes.js';
import { saveState, type LocalState } from './state.js';
import type { TreeIo } from './tree-io.js';
import type { VfsStatus } from './types.js';
import { isPermanentRefusal, type Uploader } from './uploader.js';
import { allTrash, DEFAULT_DRIVE_RETENTION, freshDrive, resolveRoot } from './drive-meta.js';
import type { StateClaim } from './session-lock.js';
import { MetaOps, sealDrive, type MetaSnapshot, type TrashCapture } from './meta-ops.js';
import { Exposure } from './exposure.js';
import { encodeShareSnapshots } from './share-snapshot.js';
import type { DriveObject, RetentionFields, TrashRecord } from '../format/drive-object.js';

const MAX_ERRORS = 100;
/** A timer commit starts once requests pause this long (ms; at most the commit delay)... */
const QUIET_MS = 300;
/** ...or after this many commit delays of requests without a pause... */
const MAX_WAIT_DELAYS = 10;
/** ...or once unsealed buffers pass this many bytes. */
const WAIT_DIRTY_BYTES = 64 << 20;
/** Files a commit seals at once (small files closed since the last commit wait for it). */
const SEAL_PARALLEL = 32;


/** One encoding of the tree for a commit (or a merge inside one). */
interface Pass {
  /** Tree objects sealed by this pass. */
  out: SealedObject[];
  /** Directories given a tree id by this pass: reset to dirty if the pass fails. */
  dirs: DirNode[];
  /** Ids the new tree names that the store had not acknowledged when encoded. */
  unacked: Set<string>;
  /** Files held back at their committed entry (they name an object the store refused). */
  held: FileNode[];
  /** What of the pending drive-level operations this pass carries. */
  meta: MetaSnapshot;
  /** The pass leaves nothing of this session unnamed: its root drops the session's record. */
  clearing: boolean;
  /** The top directory and DRIVE object this pass encoded (the base once it lands). */
  top: string | null;
  drive: DriveObject | null;
  addedBytes: number;
}

/** Node-level errors of the local disk that mean "full", in megafs's terms. */
function diskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** How often a leased session looks at its record, and how old a record it renews. */
const LEASE_CHECK_MS = 3600_000;
const LEASE_RENEW_MS = 24 * 3600_000;

export interface Base {
  version: bigint;
  hash: string | null;
  etag: string | null;
  treeId: string | null;
  /** The sealed root itself (kept in state.json so that a restart works offline). */
  bytes: Uint8Array | null;
  /** The top directory's tree object (the root names it, or a DRIVE object naming it). */
  top: string | null;
  /** The DRIVE object the root names (null: a root written before format v3, or none). */
  meta: DriveObject | null;
  /** The root's DRIVE object did not open (index.ts brokenBase): nothing may commit over it. */
  broken?: true;
}

export interface DriveOptions {
  store: Store;
  keys: DriveKeys;
  stateDir: string;
  deviceIdHex: string;
  hostName: string;
  log: (line: string) => void;
  commitDelayMs: number;
  /** How long fsync waits for the store before it reports EIO. */
  fsyncWaitMs: number;
  memCacheBytes: number;
  /** Keep written chunks in the memory cache (else their buffers are reused). */
  keepWritten: boolean;
}

export class Drive implements VfsContext {
  readonly p = nodePlatform;
  readonly store: Store;
  readonly keys: DriveKeys;
  readonly log: (line: string) => void;
  engine!: VfsEngine;
  readonly reader: ChunkReader;
  readonly exposure: Exposure;
  dirtyBytes = 0;
  journalFrom = 0;
  private readonly mem: LRUCache<string, Uint8Array>;
  private readonly errors: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Date.now() of the last change or request (quiet() waits for a pause). */
  private lastActiveMs = 0;
  /** Explicit commits (fsync, sync, unmount) queued: a waiting timer commit goes at once. */
  private explicitWaiting = 0;
  private wakeQuiet: (() => void) | null = null;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private failedCommits = 0;
  private abandoned = false;
  /** Drive-level operations waiting for the next commit, and this session's record. */
  readonly meta: MetaOps;
  /** Sealed bytes persisted since the last commit (a version's "size of the change"). */
  private addedBytes = 0;
  /** This session's pending record is in the store's current root (uploads may go). */
  private announced = false;
  private announcing: Promise<void> | null = null;
  /** A commit that drops this session's record is under way: new uploads wait for it. */
  private clearing: Promise<void> | null = null;
  /** Objects of the pass being committed: protected by the record until the swap, and
   *  by the root after it, so they never wait for an announcement. */
  private passIds: Set<string> | null = null;
  /** This session's hold on its state directory (session-lock.ts). */
  claim: StateClaim | null = null;
  /** Shutting down: the last commit drops this session's record when nothing is pending. */
  private leaving = false;
  /** The gcRound of the last root seen: when it moves, the tree memo is dropped. */
  private gcRound = 0;

  constructor(
    readonly opts: DriveOptions,
    readonly tree: TreeIo,
    readonly journal: Journal,
    readonly cache: DiskCache,
    readonly uploader: Uploader,
    public base: Base,
  ) {
    this.store = opts.store;
    this.keys = opts.keys;
    this.log = opts.log;
    this.reader = new ChunkReader(this.p, cache);
    this.exposure = new Exposure(tree, () => this.base.meta?.shares ?? null, this.log);
    this.mem = new LRUCache<string, Uint8Array>({ maxSize: Math.max(1, opts.memCacheBytes), sizeCalculation: (v) => Math.max(1, v.length) });
    this.meta = new MetaOps(toHex(this.p.randomBytes(16)), opts.deviceIdHex);
    this.gcRound = base.meta?.gcRound ?? 0;
    uploader.gate = (id) => this.beforeUpload(id);
  }

  /** What the root names, resolved (the DRIVE object is read through the caches). */
  static async resolveBase(tree: TreeIo, b: Omit<Base, 'top' | 'meta'>): Promise<Base> {
    const r = await resolveRoot(tree, b.treeId);
    return { ...b, top: r.top, meta: r.drive };
  }

  /** Before any upload: this session's pending record must be in the store's root, so a
   *  collector on another device keeps what is uploaded until a root names it (docs/design.md
   *  "What the collector may delete"). */
  private async beforeUpload(id: string): Promise<void> {
    if (this.passIds?.has(id)) return;
    while (this.clearing) await this.clearing;
    if (this.announced) return;
    this.announcing ??= this.announce().finally(() => { this.announcing = null; });
    await this.announcing;
  }

  /** Take the lease at the start of a session that will write (a mount): the record,
   *  nothing pending yet, so a collector keeps what this session's base names. Failures
   *  are left to the first upload, which announces again. */
  async takeLease(): Promise<void> {
    if (!this.renewTimer) {
      // A lease lapses after a week without renewal (src/drive/gc.ts GC_LEASE_MS): an idle
      // mount renews its record once a day (commits renew it anyway).
      this.renewTimer = setInterval(() => {
        this.leasing = this.announce(false, LEASE_RENEW_MS).catch((e: Error) => this.log(`megafs: could not renew the session's lease: ${e.message}`));
      }, LEASE_CHECK_MS);
      this.renewTimer.unref();
    }
    if (this.meta.leased) return;
    this.leasing = this.announce(false).catch((e: Error) => this.log(`megafs: could not take the session's lease yet: ${e.message}`));
    await this.leasing;
  }

  /** A lease swap under way: the last commit waits for it, so the record it may land is
   *  one that commit drops. */
  private leasing: Promise<void> | null = null;

  private renewTimer: ReturnType<typeof setInterval> | null = null;
  private leaseAsked = false;

  /** Put this session's record into the store's current root (a swap that changes only
   *  the DRIVE object; our own base stays: the next commit merges over it). `pending`:
   *  before an upload no root names yet. */
  private async announce(pending = true, renewOlderThanMs: number | null = null): Promise<void> {
    if (this.stopped) return;
    const since = pending ? this.meta.pendingSince ?? Date.now() : this.meta.pendingSince ?? 0;
    if (pending) this.meta.pendingSince = since;
    for (let attempt = 0; attempt < 10; attempt++) {
      // A lease (not an upload's announcement) never lands after the session's last commit:
      // that commit drops the record, and nothing of the session needs it any more.
      if (!pending && (this.leaving || this.stopped)) return;
      const cur = await this.store.getRoot();
      if (!cur) { this.announced ||= pending; return; } // a new drive: no collector has anything to delete
      const root = openRoot(this.p, this.keys, cur.bytes);
      const hash = rootHash(this.p, cur.bytes);
      checkNotRolledBack(this.base.hash ? { version: this.base.version, hash: this.base.hash } : null, root, hash);
      const { top, drive } = await resolveRoot(this.tree, root.treeId);
      this.sawRound(drive);
      const mine = drive?.sessions.find((x) => x.sessionId === this.meta.sessionId);
      const stale = mine !== undefined && renewOlderThanMs !== null && Date.now() - mine.renewedMs > renewOlderThanMs;
      if (mine && !stale && (!pending || mine.pendingSinceMs !== 0)) { this.meta.leased = true; this.announced ||= pending; return; }
      if (!mine && renewOlderThanMs !== null) return; // the session left (or never took one): nothing to renew
      const d: DriveObject = drive ? { ...drive } : freshDrive(top!);
      const pendingSinceMs = stale ? mine!.pendingSinceMs : since;
      // A dead predecessor's record is ours now, its pending uploads too (our replayed
      // journal may name them).
      const prev = drive?.sessions.find((x) => x.sessionId === this.meta.previousSessionId);
      const inherited = prev && prev.pendingSinceMs > 0 ? prev.pendingSinceMs : null;
      const pendingSince = inherited === null ? pendingSinceMs : pendingSinceMs > 0 ? Math.min(pendingSinceMs, inherited) : inherited;
      const rec = { sessionId: this.meta.sessionId, deviceId: this.opts.deviceIdHex, pendingSinceMs: pendingSince, renewedMs: Date.now(), baseTop: mine?.baseTop ?? this.base.top };
      d.sessions = [...d.sessions.filter((x) => x.sessionId !== rec.sessionId && x.sessionId !== this.meta.previousSessionId), rec];
      const out: SealedObject[] = [];
      const id = sealDrive(this.tree, d, out);
      await this.store.put(id, out[0].bytes);
      const bytes = sealRoot(this.p, this.keys, {
        version: root.version + 1n, treeId: id, prevRootHash: hash, timeMs: Date.now(), deviceId: this.opts.deviceIdHex,
      });
      if ((await this.store.casRoot(cur.etag, bytes)).ok) {
        this.meta.leased = true;
        this.announced ||= pending;
        return;
      }
    }
    throw new StoreError('E_CONFLICT', 'the root kept moving while this session announced itself');
  }

  /** A root from the store: its collector round, and what it means for the tree memo. */
  private sawRound(meta: DriveObject | null): void {
    const round = meta?.gcRound ?? 0;
    if (round !== this.gcRound) {
      this.gcRound = round;
      this.tree.clearMemo();
    }
  }

  /** The drive's retention policy as the base root has it. */
  retentionPolicy(): RetentionFields {
    return { ...(this.base.meta?.retention ?? DEFAULT_DRIVE_RETENTION) };
  }

  /** Set the drive's retention policy at the next commit. */
  setRetention(p: RetentionFields): void {
    this.meta.retention = { ...p };
    this.changed();
  }

  /** The bin's records as the base root has them (newest first). */
  async binRecords(): Promise<TrashRecord[]> {
    return allTrash(this.tree, this.base.meta);
  }

  /** Remove the bin records `which` picks, at the next commit: restored, or emptied
   *  (`purge`: their objects leave every version too). */
  binRemove(which: (r: TrashRecord) => boolean, purge: boolean): void {
    this.meta.trashFilters.push({ which, purge });
    this.changed();
  }

  /** Put an entry in the bin (unlink, rename over it, truncate of its content). */
  trash(capture: TrashCapture): void {
    this.meta.trashAdds.push(capture);
    this.changed();
  }

  memGet(id: string): Uint8Array | undefined {
    return this.mem.get(id);
  }

  memSet(id: string, plain: Uint8Array): void {
    if (plain.length <= this.opts.memCacheBytes) this.mem.set(id, plain);
  }

  sealedDirty(id: string, plain: Uint8Array): void {
    if (this.opts.keepWritten) this.memSet(id, plain);
    else recycleChunkBuffer(plain);
  }

  async fetchObject(id: string): Promise<Uint8Array> {
    return (await this.fetchChunk(id)).bytes;
  }

  async fetchChunk(id: string): Promise<{ bytes: Uint8Array; checked: boolean; owned: boolean }> {
    const cached = await this.cache.get(id);
    if (cached) return { bytes: cached, checked: false, owned: true };
    const bytes = await this.store.get(id);
    // Not hashed again when the store checked it (HttpStore, S3Store and ReplicatedStore
    // note what they checked); else off the main thread when it can be.
    if (!(await bodyMatches(bytes, id))) throw new MegafsError('E_INTEGRITY', `object ${id.slice(0, 16)} from ${this.store.name} does not match its id`);
    await this.cache.put(id, bytes, false);
    return { bytes, checked: true, owned: false };
  }

  /** `o.bytes` may be a pooled buffer (sealChunkAsync): given back once it is on disk,
   *  unless the uploader keeps it (then it is left to the garbage collector). */
  async persist(o: SealedObject, owner: FileNode | null = null): Promise<void> {
    noteHashed(o.bytes, o.id); // sealObject hashed these bytes: a local FsStore need not again
    this.addedBytes += o.bytes.length;
    this.uploader.noteSealed(o.id);
    const release = (): void => releaseSealed(o.bytes);
    try {
      await this.cache.put(o.id, o.bytes, true);
    } catch (e) {
      release();
      this.uploader.forgetSealed(o.id);
      if (diskFull(e)) throw fsError('ENOSPC', `the cache disk is full (${(e as Error).message})`);
      throw fsError('EIO', `cache write failed: ${(e as Error).message}`);
    }
    this.uploader.enqueue(o.id, o.bytes, release, owner);
  }

  fingerprint(e: TreeEntry): string {
    return toHex(this.p.sha256(encodeDirLeaf([e])));
  }

  active(): void {
    this.lastActiveMs = Date.now();
  }

  changed(): void {
    this.lastActiveMs = Date.now();
    // A session that writes holds a lease from its first change (a mount: from the start),
    // so the base its changes build on is kept by any collector.
    if (!this.meta.leased && !this.leaseAsked && !this.base.broken && this.engine && !this.engine.replaying) {
      this.leaseAsked = true;
      void this.takeLease();
    }
    if (this.timer || this.stopped) return;
    const delay = this.opts.commitDelayMs * 2 ** Math.min(this.failedCommits, 5);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.commit(true).catch(() => undefined);
    }, delay);
    this.timer.unref();
  }

  recordError(line: string): void {
    this.log(`megafs: ${line}`);
    this.errors.push(line);
    if (this.errors.length > MAX_ERRORS) this.errors.shift();
  }

  /** One commit at a time; a failure is recorded and retried by the timer. A background
   *  (timer) commit first waits for a pause in the changes (quiet()). */
  commit(background = false, waitMs?: number): Promise<void> {
    if (!background) {
      this.explicitWaiting++;
      this.wakeQuiet?.();
    }
    const run = this.chain.then(() => {
      if (!background) this.explicitWaiting--;
      return this.commitOnce(background, waitMs);
    });
    this.chain = run.then(() => { this.failedCommits = 0; }, (e: Error) => {
      this.failedCommits++;
      this.recordError(`commit failed: ${e.message}`);
      this.changed();
    });
    return run;
  }

  private newPass(): Pass {
    return { out: [], dirs: [], unacked: new Set(), held: [], meta: this.meta.snapshot(), clearing: false, top: null, drive: null, addedBytes: this.addedBytes };
  }

  /** Note the ids a new entry names that the store has not acknowledged (the ledger is
   *  empty most of the time: then this costs nothing). */
  private noteNamed(pass: Pass, ids: Iterable<string>): void {
    for (const id of this.uploader.unacked(ids)) pass.unacked.add(id);
  }

  private entryOf(n: Node, pass: Pass): TreeEntry | null {
    const e: TreeEntry = {
      name: n.name, type: ENTRY_FILE, mode: n.perm, uid: n.uid, gid: n.gid, size: 0, mtimeMs: n.mtimeMs, ctimeMs: n.ctimeMs,
      xattrs: [...n.xattrs.entries()],
    };
    if (n.type === 'dir') { e.type = ENTRY_DIR; e.dirId = this.encodeDir(n, pass); }
    else if (n.type === 'symlink') { e.type = ENTRY_SYMLINK; e.target = n.target; e.size = encodeName(n.target).length; }
    else {
      const held = this.holding.get(n);
      if (held !== undefined) {
        pass.held.push(n);
        return held === null ? null : { ...held, name: n.name };
      }
      e.size = n.sealedSize;
      if (n.chunks) this.noteNamed(pass, n.chunks.values());
      const body = n.chunks ? this.tree.fileChunks(n.chunks, pass.out) : { lists: n.lists ?? [] };
      e.file = { fileId: n.fileId, fileKey: n.fileKey, ...body };
    }
    return e;
  }

  /** Seal `d` and its dirty descendants bottom-up; returns its tree object id. */
  encodeDir(d: DirNode, pass: Pass): string {
    if (d.treeId) {
      this.noteNamed(pass, [d.treeId]);
      return d.treeId;
    }
    if (!d.children) throw new Error('BUG: dirty directory without children');
    const entries: TreeEntry[] = [];
    for (const n of d.children.values()) {
      const e = this.entryOf(n, pass);
      if (e) entries.push(e);
    }
    d.treeId = this.tree.encodeDir(entries, pass.out);
    pass.dirs.push(d);
    return d.treeId;
  }

  /** A bin record for a capture (a big file's chunk lists are sealed into the pass). */
  private trashRecord(c: TrashCapture, pass: Pass): TrashRecord {
    const entry = { ...c.entry };
    if (c.chunks && entry.file) {
      this.noteNamed(pass, c.chunks.values());
      entry.file = { ...entry.file, ...this.tree.fileChunks(c.chunks, pass.out) };
    }
    return { deletedMs: c.deletedMs, deviceId: this.opts.deviceIdHex, dir: c.dir, entry, removed: c.removed };
  }

  /** Encode the whole tree for a commit: one synchronous snapshot. `changed` is false
   *  when the root would say what the base says. */
  private encodeTop(): { treeId: string; pass: Pass; changed: boolean } {
    const pass = this.newPass();
    const top = this.encodeDir(this.engine.top, pass);
    const topChanged = top !== this.base.top;
    pass.top = top;
    const trash = this.meta.trashAdds.map((c) => this.trashRecord(c, pass));
    encodeShareSnapshots(this.tree, this.meta.shareOps, pass.out, (ids) => this.noteNamed(pass, ids));
    for (const o of pass.out) pass.unacked.add(o.id);
    // Nothing of this session stays unnamed after this root: its record says nothing is
    // pending (and goes, when the session is leaving).
    const idle = this.engine.data.unsealed.size === 0 && this.holding.size === 0 && this.uploader.ledgerWithin(pass.unacked);
    pass.clearing = this.meta.pendingSince !== null && idle;
    const want = this.meta.wanted(pass.clearing, this.leaving && idle);
    const changed = this.meta.changes(this.base.meta, topChanged, want);
    if (changed && this.base.broken) throw new MegafsError('EIO', `the drive's DRIVE object ${this.base.treeId!.slice(0, 16)}… cannot be read; see megafs fsck`);
    let treeId = this.base.treeId ?? top;
    if (changed) {
      const d = this.meta.encode(this.tree, this.base.meta, top, this.base.version + 1n, Date.now(), this.addedBytes, topChanged, trash, want, pass.out);
      treeId = sealDrive(this.tree, d, pass.out);
      pass.drive = d;
      for (const o of pass.out) pass.unacked.add(o.id); // persist() notes them in the ledger
    }
    return { treeId, pass, changed };
  }

  /** A pass that failed: nothing it sealed may be taken as stored. */
  private failPass(pass: Pass): void {
    this.tree.discard();
    for (const d of pass.dirs) d.treeId = null;
    this.endPass();
  }

  private endPass(): void {
    this.passIds = null;
    const done = this.clearing;
    this.clearing = null;
    this.releaseClearing?.();
    this.releaseClearing = null;
    void done;
  }

  private releaseClearing: (() => void) | null = null;

  /** A pass's root landed: its drive-level operations are done, and a clearing pass
   *  leaves this session with nothing pending (the next upload announces it again). */
  private landed(pass: Pass): void {
    this.meta.consumed(pass.meta);
    this.addedBytes = Math.max(0, this.addedBytes - pass.addedBytes);
    if (pass.clearing) {
      this.meta.pendingSince = null;
      this.announced = false;
    }
    this.endPass();
  }

  /** Write the pass's tree objects to the cache and the upload queue, and wait for every
   *  object the tree names to be acknowledged (bounded by `waitMs` when given). */
  private async uploadPass(pass: Pass, waitMs?: number): Promise<void> {
    this.passIds = pass.unacked;
    if (pass.clearing && !this.clearing) this.clearing = new Promise<void>((r) => { this.releaseClearing = r; });
    try {
      await Promise.all(pass.out.map((o) => this.persist(o)));
      await this.uploader.waitFor(pass.unacked, waitMs);
      await this.uploader.durable();
    } catch (e) {
      this.failPass(pass);
      throw e;
    }
    this.tree.confirm();
  }

  /** The commit invariant's gate, right before a root is written: every object the new
   *  tree names that this process sealed is acknowledged by the store. A root that would
   *  name anything else is a bug, and is never written. */
  private checkStored(pass: Pass): void {
    const missing = this.uploader.unacked(pass.unacked);
    if (missing.length > 0) {
      this.failPass(pass);
      throw new MegafsError('E_INTERNAL', `BUG: a root would name ${missing.length} object(s) not on the store (${missing[0].slice(0, 16)}); not written`);
    }
  }

  /** Files naming an object the store refused for good, with the entry of their last
   *  committed version (null: none, the file is left out of the root). Refusals that
   *  nothing names any more (the file was deleted or rewritten) are dropped. */
  private readonly holding = new Map<FileNode, TreeEntry | null>();

  private async prepareHolding(): Promise<void> {
    this.holding.clear();
    if (this.uploader.refusedCount === 0) return;
    const owners = new Map<FileNode, string[]>();
    for (const r of this.uploader.refusals()) {
      const f = r.owner as FileNode | null;
      const named = f && pathOf(f) !== null && ((f.chunks && [...f.chunks.values()].includes(r.id)) || [...f.ahead.values()].includes(r.id));
      if (!f || !named) { this.uploader.dropRefused(r.id); continue; }
      let list = owners.get(f);
      if (!list) owners.set(f, (list = []));
      list.push(r.id);
    }
    for (const f of owners.keys()) this.holding.set(f, await this.committedEntryOf(f));
  }

  /** The entry of `f` in the committed root (by path, the same file id), or null. */
  private async committedEntryOf(f: FileNode): Promise<TreeEntry | null> {
    const path = pathOf(f);
    if (!path || !this.base.top) return null;
    const parts = path.split('/').filter((x) => x !== '');
    let dirId = this.base.top;
    try {
      for (let i = 0; i < parts.length; i++) {
        const e = (await this.tree.loadDir(dirId)).find((x) => x.name === parts[i]);
        if (!e) return null;
        if (i === parts.length - 1) {
          return e.type === ENTRY_FILE && e.file && toHex(e.file.fileId) === toHex(f.fileId) ? e : null;
        }
        if (e.type !== ENTRY_DIR || !e.dirId) return null;
        dirId = e.dirId;
      }
    } catch {
      return null;
    }
    return null;
  }

  /** Held-back files stay in the journal: their changes are not in the root just
   *  written, and the journal files that held them are about to be dropped. */
  private rejournalHeld(pass: Pass): void {
    for (const f of pass.held) {
      const path = pathOf(f);
      if (!path || !f.chunks) continue;
      markDirty(f.parent);
      if (this.holding.get(f) === null) {
        this.journal.appendSync({
          op: 'create', path, perm: f.perm, uid: f.uid, gid: f.gid, timeMs: f.ctimeMs, fileId: toHex(f.fileId), fileKey: toHex(f.fileKey),
        });
        for (const [name, value] of f.xattrs) this.journal.appendSync({ op: 'setxattr', path, name, value: toBase64(value), timeMs: f.ctimeMs });
      }
      this.journal.appendSync({ op: 'data', path, fileId: toHex(f.fileId), size: f.sealedSize, cutIndex: 0, set: [...f.chunks], mtimeMs: f.mtimeMs });
    }
  }

  /** Wait for a pause in the requests: a burst (tar x, a checkout, a build, reading it
   *  back) runs without sealing and uploading beside it, and is committed once it stops.
   *  Bounded by MAX_WAIT_DELAYS commit delays and WAIT_DIRTY_BYTES; an explicit commit
   *  (fsync, sync, unmount) ends the wait at once. */
  private async quiet(): Promise<void> {
    const quietMs = Math.min(QUIET_MS, this.opts.commitDelayMs);
    const until = Date.now() + MAX_WAIT_DELAYS * this.opts.commitDelayMs;
    while (this.explicitWaiting === 0 && !this.stopped && this.dirtyBytes < WAIT_DIRTY_BYTES) {
      const now = Date.now();
      const idleMs = now - this.lastActiveMs;
      if (idleMs >= quietMs || now >= until) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(quietMs - idleMs, until - now));
        t.unref();
        this.wakeQuiet = () => { clearTimeout(t); resolve(); };
      });
      this.wakeQuiet = null;
    }
  }

  private async commitOnce(background: boolean, waitMs?: number): Promise<void> {
    if (background) await this.quiet();
    if (this.abandoned) throw new MegafsError('E_INTERNAL', 'stopped');
    // A timer commit queued behind shutdown's own commit (its timer fired while the
    // shutdown sealed and committed) has nothing left to do, and must not write the state
    // or the journal once close() has returned.
    if (background && this.stopped) return;
    this.uploader.kick();
    if (!background) this.uploader.retryRefused();
    const data = this.engine.data;
    // A file that cannot be sealed (the cache disk is full) keeps its changes unsealed and
    // reports the failure at its next flush or fsync; the rest of the drive commits.
    await eachLimited([...data.unsealed].filter((f) => pathOf(f) !== null), SEAL_PARALLEL, (f) => data.seal(f).catch((e: Error) => {
      data.noteFailure(f, e);
    }));
    const seq = this.journal.rotate();
    let { treeId, pass, changed } = await this.encodeAndUpload(waitMs).catch((e: unknown) => this.overMovedRoot(e, waitMs));
    if (!changed) {
      this.landed(pass);
      this.rejournalHeld(pass);
      await this.covered(seq);
      return;
    }
    for (let attempt = 0; ; attempt++) {
      this.checkStored(pass);
      const version = this.base.version + 1n;
      const bytes = sealRoot(this.p, this.keys, {
        version, treeId, prevRootHash: this.base.hash ?? ZERO_HASH, timeMs: Date.now(), deviceId: this.opts.deviceIdHex,
      });
      const hash = rootHash(this.p, bytes);
      if (this.abandoned) throw new MegafsError('E_INTERNAL', 'stopped');
      await saveState(this.opts.stateDir, {
        ...this.seen(), journalFrom: this.journalFrom, pendingHash: hash, pendingVersion: version.toString(), pendingJournalFrom: seq + 1,
      });
      if (this.abandoned) throw new MegafsError('E_INTERNAL', 'stopped');
      const res = await this.store.casRoot(this.base.etag, bytes);
      if (this.abandoned) throw new MegafsError('E_INTERNAL', 'stopped');
      if (res.ok) {
        this.base = { version, hash, etag: res.etag, treeId, bytes, top: pass.top, meta: pass.drive };
        this.landed(pass);
        this.rejournalHeld(pass);
        await this.covered(seq);
        return;
      }
      if (attempt >= 10) throw new StoreError('E_CONFLICT', 'the root kept moving under this commit');
      // The lost pass's directories are encoded again over the merge (their memo keeps
      // the ids of what did not change): a file it held back is looked at again, even
      // when their root left our top directory as it was (a session's announcement).
      for (const d of pass.dirs) d.treeId = null;
      ({ treeId, pass, changed } = await this.mergeWith(res.current, waitMs));
      if (!changed) { // their root already says everything ours would
        this.landed(pass);
        this.rejournalHeld(pass);
        await this.covered(seq);
        return;
      }
    }
  }

  /** Journal files through `seq` are in the committed root now. */
  private async covered(seq: number): Promise<void> {
    if (this.abandoned) return;
    this.journalFrom = Math.max(this.journalFrom, seq + 1);
    await saveState(this.opts.stateDir, { ...this.seen(), journalFrom: this.journalFrom });
    await this.journal.dropThrough(seq);
  }

  seen(): Pick<LocalState, 'seenVersion' | 'seenHash' | 'rootBytes' | 'rootEtag'> {
    const b = this.base;
    if (!b.hash) return { seenVersion: null, seenHash: null };
    return { seenVersion: b.version.toString(), seenHash: b.hash, rootBytes: b.bytes ? toBase64(b.bytes) : undefined, rootEtag: b.etag ?? undefined };
  }


  /** Another machine moved the root: check it, merge its tree into ours, make it the base. */
  private async mergeWith(current: RootRecord | null, waitMs?: number): Promise<{ treeId: string; pass: Pass; changed: boolean }> {
    if (!current) throw new MegafsError('E_ROLLBACK', 'the store lost the root it had');
    const theirs = openRoot(this.p, this.keys, current.bytes);
    const hash = rootHash(this.p, current.bytes);
    checkNotRolledBack(this.base.hash ? { version: this.base.version, hash: this.base.hash } : null, theirs, hash);
    this.endPass();
    if (theirs.deviceId !== this.opts.deviceIdHex) this.log(`megafs: root moved to version ${theirs.version} (device ${theirs.deviceId.slice(0, 8)}); merging`);
    const next = await Drive.resolveBase(this.tree, { version: theirs.version, hash, etag: current.etag, treeId: theirs.treeId, bytes: current.bytes });
    this.sawRound(next.meta);
    await mergeTrees(this, this.engine, this.base.top, next.top!, `${theirs.deviceId.slice(0, 8)} ${new Date(theirs.timeMs).toISOString().slice(0, 19)}`);
    this.base = next;
    return this.encodeAndUpload(waitMs);
  }

  /** A drive-level page of the base is gone from the store: a collector rewrote it, so the
   *  root has moved; the commit goes on over the current root (merged), as after a lost swap. */
  private async overMovedRoot(e: unknown, waitMs?: number): Promise<{ treeId: string; pass: Pass; changed: boolean }> {
    if (!isMegafsError(e, 'E_NOT_FOUND')) throw e;
    const current = await this.store.getRoot();
    if (!current || current.etag === this.base.etag) throw e;
    return this.mergeWith(current, waitMs);
  }

  /** Encode and upload; a refusal that lands during the wait holds its file back and the
   *  tree is encoded again without it (the rest of the drive still commits). */
  private async encodeAndUpload(waitMs?: number): Promise<{ treeId: string; pass: Pass; changed: boolean }> {
    for (let attempt = 0; ; attempt++) {
      await this.prepareHolding();
      await this.meta.prepare(this.tree, this.base.meta);
      const next = this.encodeTop();
      try {
        await this.uploadPass(next.pass, waitMs);
        return next;
      } catch (e) {
        if (!isPermanentRefusal(e) || attempt >= 3) throw e;
      }
    }
  }

  /** An explicit commit bounded by fsyncWaitMs: rejects with E_UNAVAILABLE once that has
   *  passed (uploads or a compare-and-swap the store does not answer); the commit itself
   *  goes on, and a later one takes over what it did not finish. */
  commitBounded(): Promise<void> {
    const waitMs = this.opts.fsyncWaitMs;
    const run = this.commit(false, waitMs);
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new StoreError('E_UNAVAILABLE', `the store did not answer within ${Math.round(waitMs / 1000)} s`)), waitMs + 500);
      t.unref();
      run.then(() => { clearTimeout(t); resolve(); }, (e: Error) => { clearTimeout(t); reject(e); });
    });
  }

  spaceTight(): boolean {
    return (this.cache.pinnedBytes + this.dirtyBytes) * 2 > this.cache.limitBytes;
  }

  status(): VfsStatus {
    return {
      dirtyBytes: this.dirtyBytes + this.cache.pinnedBytes,
      queuedUploads: this.uploader.queued,
      cacheBytes: this.cache.totalBytes,
      cacheLimitBytes: this.cache.limitBytes,
      errors: [...this.errors],
      rootVersion: this.base.version.toString(),
    };
  }

  /** Seal, commit, stop. If the commit fails (store down) everything stays in the
   *  journal and the cache for the next start, and the failure is thrown. */
  async shutdown(): Promise<void> {
    this.leaving = true; // no lease swap starts now
    let done = false;
    try {
      await this.leasing;
      for (const f of this.engine.openFiles()) if (pathOf(f) !== null) await this.engine.data.seal(f);
      await this.commit();
      done = true;
    } finally {
      this.stopTimers();
      this.uploader.stop();
      this.reader.closeAll();
      await this.journal.close();
      // A clean end gives the state directory back; after a failed one the next session
      // takes this one's record over, as after a crash.
      if (done) await this.claim?.release();
      else this.claim?.abandon();
    }
  }

  private stopTimers(): void {
    this.stopped = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Tests: stop as if the process were killed (nothing more is written). */
  abandon(): void {
    this.claim?.abandon();
    this.abandoned = true;
    this.stopTimers();
    this.journal.abandon();
    this.uploader.stop();
    this.reader.closeAll();
  }
}
