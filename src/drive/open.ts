// Open the drive: stores from the configuration, the header from the first store that
// has one, unlocked with the password (E_BAD_PASSWORD); or create a new drive (init, and
// the first `megafs mount` on a machine). Cheap Argon2id when MEGAFS_TEST_KDF=1 (tests).
import { MegafsError } from '../errors.js';
import { checkKdfStrength, createDrive, newKdfParams, unlockWithMasterKey, unlockWithPassword, type DriveKeys } from '../crypto/keys.js';
import { stretchPassword } from '../crypto/kdf.js';
import { decodeRecoveryKey, encodeRecoveryKey } from '../crypto/recovery.js';
import { openRoot } from '../crypto/root.js';
import { decodeHeader, encodeHeader, type DriveHeader, type KdfParams } from '../format/header.js';
import { nodePlatform } from '../platform/node.js';
import { signup } from '../store/http-account.js';
import { firstHeader } from '../store/replicate.js';
import type { Store } from '../store/store.js';
import type { DriveConfig } from './config.js';
import { accountKdf, combineStores, openStore, specKind } from './stores.js';

export interface Drive {
  /** One store (replicated when the configuration names several). */
  store: Store;
  /** The configured stores, in order (for status and fsck). */
  stores: Store[];
  header: DriveHeader;
  keys: DriveKeys;
  close(): Promise<void>;
}

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

async function openAll(cfg: DriveConfig, authSecret: Uint8Array | undefined): Promise<Store[]> {
  const stores: Store[] = [];
  try {
    for (const spec of cfg.stores) stores.push(await openStore(spec, { user: cfg.user, authSecret }));
    return stores;
  } catch (e) {
    await closeAll(stores);
    throw e;
  }
}

function rootVersionFn(keys: DriveKeys): (b: Uint8Array) => bigint | null {
  return (bytes) => {
    try {
      return openRoot(nodePlatform, keys, bytes).version;
    } catch {
      return null;
    }
  };
}

/** True when some configured store holds a drive header. */
export async function driveExists(cfg: DriveConfig): Promise<boolean> {
  if (cfg.stores.some((s) => specKind(s) !== 'dir')) return true; // asking needs a password
  const stores = await openAll(cfg, undefined);
  try {
    return (await firstHeader(stores)) !== null;
  } finally {
    await closeAll(stores);
  }
}

export async function unlockDrive(cfg: DriveConfig, password: string, log: (line: string) => void = () => {}): Promise<Drive> {
  const kdf = await accountKdf(cfg.stores, cfg.user);
  // A hostile server could hand out cheap parameters to make the auth secret cheap to
  // brute-force: refuse them before stretching the password (docs/format.md "Keys").
  if (kdf) checkKdfStrength(kdf, testKdf());
  const authSecret = kdf ? (await stretchPassword(password, kdf)).authSecret : undefined;
  return openUnlocked(cfg, authSecret, log, async (header) => {
    checkKdfStrength(header.kdf, testKdf());
    return (await unlockWithPassword(nodePlatform, header, password)).keys;
  });
}

/** Unlock with the recovery key alone (no password): the master key, checked against
 *  the header. Stores that need an account (megafs serve) need the password instead. */
export async function unlockDriveWithRecoveryKey(cfg: DriveConfig, recoveryKey: string, log: (line: string) => void = () => {}): Promise<Drive> {
  if (cfg.stores.some((s) => specKind(s) === 'http')) {
    throw new MegafsError('E_USAGE', 'a megafs serve account opens with its password; the recovery key opens directory and S3 stores');
  }
  const masterKey = decodeRecoveryKey(nodePlatform, recoveryKey);
  return openUnlocked(cfg, undefined, log, async (header) => unlockWithMasterKey(header, masterKey));
}

async function openUnlocked(
  cfg: DriveConfig, authSecret: Uint8Array | undefined, log: (line: string) => void,
  unlock: (header: DriveHeader) => Promise<DriveKeys>,
): Promise<Drive> {
  const stores = await openAll(cfg, authSecret);
  try {
    const bytes = await firstHeader(stores);
    if (!bytes) throw new MegafsError('E_NO_DRIVE', `no drive on ${cfg.stores.join(', ')}: run megafs init`);
    const header = decodeHeader(bytes);
    const keys = await unlock(header);
    const store = combineStores(stores, rootVersionFn(keys), log);
    return { store, stores, header, keys, close: () => (store === stores[0] ? stores[0].close() : closeAll([store, ...stores])) };
  } catch (e) {
    await closeAll(stores);
    throw e;
  }
}

/** Create a drive on every configured store; returns it and the recovery key (shown once). */
export async function createNewDrive(cfg: DriveConfig, password: string, log: (line: string) => void = () => {}): Promise<{ drive: Drive; recoveryKey: string }> {
  const kdf = newKdfParams(nodePlatform, kdfCost());
  const made = await createDrive(nodePlatform, password, kdf);
  const headerBytes = encodeHeader(made.header);
  for (const spec of cfg.stores) {
    if (specKind(spec) === 'http') await signup(spec, cfg.user ?? '', made.authSecret, headerBytes);
  }
  const stores = await openAll(cfg, made.authSecret);
  try {
    if ((await firstHeader(stores.filter((_, i) => specKind(cfg.stores[i]) !== 'http'))) !== null) {
      throw new MegafsError('E_DRIVE_EXISTS', `a drive already exists on ${cfg.stores.join(', ')}`);
    }
    for (const s of stores) await s.putHeader(headerBytes);
  } catch (e) {
    await closeAll(stores);
    throw e;
  }
  const store = combineStores(stores, rootVersionFn(made.keys), log);
  const drive: Drive = {
    store, stores, header: made.header, keys: made.keys,
    close: () => (store === stores[0] ? stores[0].close() : closeAll([store, ...stores])),
  };
  return { drive, recoveryKey: encodeRecoveryKey(nodePlatform, made.keys.masterKey) };
}
