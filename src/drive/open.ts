// Open the drive: stores from the configuration, the header from the stores (or, when
// none answers, from this machine's copy of it), unlocked with the password
// (E_BAD_PASSWORD); or create a new drive (init, and the first `megafs mount` on a
// machine). Directory stores are attached to the drive by its header (fs-presence.ts),
// and the drive's store is guarded against rollback by what this machine has seen
// (rollback-guard.ts). The rules: docs/design.md "Opening a drive".
// Cheap Argon2id when MEGAFS_TEST_KDF=1 (tests).
import { join } from 'node:path';
import { isMegafsError, MegafsError } from '../errors.js';
import { checkKdfStrength, createDrive, newKdfParams, unlockWithMasterKey, unlockWithPassword, type DriveKeys } from '../crypto/keys.js';
import { stretchPassword } from '../crypto/kdf.js';
import { decodeRecoveryKey, encodeRecoveryKey } from '../crypto/recovery.js';
import { openRoot } from '../crypto/root.js';
import { decodeHeader, encodeHeader, type DriveHeader, type KdfParams } from '../format/header.js';
import { nodePlatform } from '../platform/node.js';
import { FsStore, type HeaderCheck } from '../store/fs.js';
import { signup } from '../store/http-account.js';
import { ReplicatedStore, type RootVersionFn } from '../store/replicate.js';
import type { Store } from '../store/store.js';
import { homePaths, saveConfig, type DriveConfig, type HomePaths } from './config.js';
import { driveStateDir, loadLocalDrive, saveLocalDrive, type LocalDrive } from './local-drive.js';
import { RollbackGuard } from './rollback-guard.js';
import { SeenRoots } from './seen-root.js';
import { accountKdf, combineStores, openStore, probeDirHeader, specKind } from './stores.js';

export interface Drive {
  /** The drive's store as every program here uses it: replicated when the configuration
   *  names several, guarded against rollback (rollback-guard.ts). */
  store: Store;
  /** The configured stores, in order (for status and fsck). */
  stores: Store[];
  /** The replicated store under `store`, when there are several. */
  replicas: ReplicatedStore | null;
  header: DriveHeader;
  keys: DriveKeys;
  /** The highest root this machine has seen of this drive (an offline start uses it). */
  seen: SeenRoots;
  close(): Promise<void>;
}

export interface OpenOptions {
  log?: (line: string) => void;
  paths?: HomePaths;
  /** `cfg` is this machine's configuration (not a `--store` override for one run):
   *  keep the header's copy and the drive id for the next offline start. Default true. */
  remember?: boolean;
}

interface Ctx {
  log: (line: string) => void;
  paths: HomePaths;
  remember: boolean;
}

const ctxOf = (o: OpenOptions): Ctx => ({ log: o.log ?? (() => {}), paths: o.paths ?? homePaths(), remember: o.remember ?? true });

/** Argon2id cost: the format's default, or the cheapest when MEGAFS_TEST_KDF=1. */
export function kdfCost(): Partial<Omit<KdfParams, 'alg' | 'salt'>> {
  return testKdf() ? { memKiB: 64, passes: 1, parallelism: 1 } : {};
}

function testKdf(): boolean {
  return process.env.MEGAFS_TEST_KDF === '1';
}

async function closeAll(stores: Store[]): Promise<void> {
  await Promise.allSettled(stores.map((s) => s.close()));
}

async function openAll(cfg: DriveConfig, authSecret: Uint8Array | undefined, belongs: HeaderCheck | undefined): Promise<Store[]> {
  const stores: Store[] = [];
  try {
    for (const spec of cfg.stores) stores.push(await openStore(spec, { user: cfg.user, authSecret, belongs }));
    return stores;
  } catch (e) {
    await closeAll(stores);
    throw e;
  }
}

function rootVersionFn(keys: DriveKeys): RootVersionFn {
  return (bytes) => {
    try {
      return openRoot(nodePlatform, keys, bytes).version;
    } catch {
      return null;
    }
  };
}

/** True when this machine knows the drive of `cfg`, or some configured store holds a
 *  drive header. Creates nothing. */
export async function driveExists(cfg: DriveConfig, paths: HomePaths = homePaths()): Promise<boolean> {
  if (await loadLocalDrive(paths, cfg)) return true;
  if (cfg.stores.some((s) => specKind(s) !== 'dir')) return true; // asking needs a password
  for (const spec of cfg.stores) if (await probeDirHeader(spec)) return true;
  return false;
}

export async function unlockDrive(cfg: DriveConfig, password: string, opts: OpenOptions = {}): Promise<Drive> {
  const ctx = ctxOf(opts);
  const local = await loadLocalDrive(ctx.paths, cfg);
  const kdf = await accountKdfOrLocal(cfg, local, ctx.log);
  // A hostile server could hand out cheap parameters to make the auth secret cheap to
  // brute-force: refuse them before stretching the password (docs/format.md "Keys").
  if (kdf) checkKdfStrength(kdf, testKdf());
  const authSecret = kdf ? (await stretchPassword(password, kdf)).authSecret : undefined;
  return openUnlocked(cfg, local, { authSecret, accountKdf: kdf ?? undefined }, ctx, async (header) => {
    checkKdfStrength(header.kdf, testKdf());
    return (await unlockWithPassword(nodePlatform, header, password)).keys;
  });
}

/** The account's KDF parameters from the server, or this machine's copy while it is down. */
async function accountKdfOrLocal(cfg: DriveConfig, local: LocalDrive | null, log: (line: string) => void): Promise<KdfParams | null> {
  try {
    return await accountKdf(cfg.stores, cfg.user);
  } catch (e) {
    if (!isMegafsError(e, 'E_UNAVAILABLE') || !local?.accountKdf) throw e;
    log(`megafs: ${(e as Error).message}; using this machine's copy of the account's KDF parameters`);
    return local.accountKdf;
  }
}

/** Unlock with the recovery key alone (no password): the master key, checked against
 *  the header. Stores that need an account (megafs serve) need the password instead. */
export async function unlockDriveWithRecoveryKey(cfg: DriveConfig, recoveryKey: string, opts: OpenOptions = {}): Promise<Drive> {
  if (cfg.stores.some((s) => specKind(s) === 'http')) {
    throw new MegafsError('E_USAGE', 'a megafs serve account opens with its password; the recovery key opens directory and S3 stores');
  }
  const ctx = ctxOf(opts);
  const masterKey = decodeRecoveryKey(nodePlatform, recoveryKey);
  return openUnlocked(cfg, await loadLocalDrive(ctx.paths, cfg), {}, ctx, async (header) => unlockWithMasterKey(header, masterKey));
}

interface Credentials {
  authSecret?: Uint8Array;
  accountKdf?: KdfParams;
}

/** The drive's header: the first store's that names this machine's drive (or, when this
 *  machine knows none, the first store's), else the local copy when no store answers. */
async function chooseHeader(cfg: DriveConfig, stores: Store[], local: LocalDrive | null, log: (line: string) => void): Promise<Uint8Array> {
  const got = await Promise.allSettled(stores.map((s) => s.getHeader()));
  for (const r of got) {
    if (r.status !== 'fulfilled' || !r.value) continue;
    if (!local || decodeHeader(r.value).driveId === local.driveId) return r.value;
  }
  const errors = got.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  const refusal = errors.find((e) => !isMegafsError(e, 'E_UNAVAILABLE'));
  if (refusal) throw refusal; // a wrong password (E_AUTH), a missing bucket: not "down"
  if (local) {
    log(`megafs: no store holds this drive's header now (${errors.map((e) => (e as Error).message).join('; ') || 'none answers'}); opening it from this machine's copy`);
    return local.header;
  }
  if (errors.length) throw errors[0];
  throw new MegafsError('E_NO_DRIVE', `no drive on ${cfg.stores.join(', ')}: run megafs init`);
}

async function openUnlocked(
  cfg: DriveConfig, local: LocalDrive | null, creds: Credentials, ctx: Ctx,
  unlock: (header: DriveHeader) => Promise<DriveKeys>,
): Promise<Drive> {
  // A directory store belongs to the drive whose header it holds: this machine's drive,
  // or (on a first open) the one chosen below; until then any header will do.
  let driveId = local?.driveId;
  const belongs: HeaderCheck = (h) => driveId === undefined || decodeHeader(h).driveId === driveId;
  const stores = await openAll(cfg, creds.authSecret, belongs);
  try {
    const bytes = await chooseHeader(cfg, stores, local, ctx.log);
    const header = decodeHeader(bytes);
    driveId = header.driveId;
    for (const s of stores) if (s instanceof FsStore) s.unavailableReason(); // look again, now that the drive is known
    const keys = await unlock(header);
    if (ctx.remember) await remember(ctx.paths, cfg, { driveId, header: bytes, ...(creds.accountKdf ? { accountKdf: creds.accountKdf } : {}) });
    return assemble(stores, header, keys, ctx);
  } catch (e) {
    await closeAll(stores);
    throw e;
  }
}

/** Keep the header's copy and the drive id, for the next start with the stores down. */
async function remember(paths: HomePaths, cfg: DriveConfig, d: LocalDrive): Promise<void> {
  await saveLocalDrive(paths, cfg, d);
  if (cfg.driveId !== d.driveId) {
    cfg.driveId = d.driveId;
    await saveConfig(paths, cfg);
  }
}

function assemble(stores: Store[], header: DriveHeader, keys: DriveKeys, ctx: Ctx): Drive {
  const version = rootVersionFn(keys);
  const combined = combineStores(stores, version, ctx.log);
  const seen = new SeenRoots(join(driveStateDir(ctx.paths, header.driveId), 'seen'));
  const store = new RollbackGuard(combined, seen, version);
  return {
    store, stores, replicas: combined instanceof ReplicatedStore ? combined : null, header, keys, seen,
    close: () => (combined === stores[0] ? stores[0].close() : closeAll([combined, ...stores])),
  };
}

/** Create a drive on every configured store; returns it and the recovery key (shown once). */
export async function createNewDrive(cfg: DriveConfig, password: string, opts: OpenOptions = {}): Promise<{ drive: Drive; recoveryKey: string }> {
  const ctx = ctxOf(opts);
  const kdf = newKdfParams(nodePlatform, kdfCost());
  const made = await createDrive(nodePlatform, password, kdf);
  const headerBytes = encodeHeader(made.header);
  for (const spec of cfg.stores) {
    if (specKind(spec) === 'http') await signup(spec, cfg.user ?? '', made.authSecret, headerBytes);
  }
  // Only here are directory stores made (and S3 buckets): opened with `belongs` unset.
  const created = await openAll(cfg, made.authSecret, undefined);
  try {
    if ((await firstHeaderOf(created.filter((_, i) => specKind(cfg.stores[i]) !== 'http'))) !== null) {
      throw new MegafsError('E_DRIVE_EXISTS', `a drive already exists on ${cfg.stores.join(', ')}`);
    }
    for (const s of created) await s.putHeader(headerBytes);
  } finally {
    await closeAll(created);
  }
  const accountKdf = cfg.stores.some((s) => specKind(s) === 'http') ? kdf : undefined;
  if (ctx.remember) await remember(ctx.paths, cfg, { driveId: made.header.driveId, header: headerBytes, ...(accountKdf ? { accountKdf } : {}) });
  // From here on as any later open: attached to the drive by its header.
  const driveId = made.header.driveId;
  const stores = await openAll(cfg, made.authSecret, (h) => decodeHeader(h).driveId === driveId);
  const drive = assemble(stores, made.header, made.keys, ctx);
  return { drive, recoveryKey: encodeRecoveryKey(nodePlatform, made.keys.masterKey) };
}

async function firstHeaderOf(stores: Store[]): Promise<Uint8Array | null> {
  for (const s of stores) {
    const h = await s.getHeader();
    if (h) return h;
  }
  return null;
}
