// The key hierarchy (docs/format.md "Keys"):
//   password --Argon2id--> stretched --HKDF--> wrapKey, authSecret
//   wrapKey --XChaCha20-Poly1305--> wrapped master key (in the drive header)
//   master key --HKDF--> tree, root, name-hash, journal keys (one label each)
// Changing the password rewraps the master key; nothing else is re-encrypted.
import { FormatError, MegafsError } from '../errors.js';
import { ByteWriter, bytesEqual, concatBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from '../format/bytes.js';
import { DEFAULT_KDF, DRIVE_ID_BYTES, HEADER_KEY_CHECK_BYTES, KEY_BYTES, NONCE_BYTES, SALT_BYTES, TAG_BYTES } from '../format/constants.js';
import { HEADER_VERSION, type DriveHeader, type KdfParams } from '../format/header.js';
import { deriveKey, stretchPassword } from './kdf.js';
import {
  AAD_KEYWRAP, LABEL_JOURNAL, LABEL_KEY_CHECK, LABEL_NAME_HASH, LABEL_ROOT, LABEL_TREE,
} from './labels.js';
import type { CryptoPlatform } from './platform.js';

export interface DriveKeys {
  masterKey: Uint8Array;
  driveId: Uint8Array;
  tree: Uint8Array;
  root: Uint8Array;
  nameHash: Uint8Array;
  journal: Uint8Array;
}

export function deriveDriveKeys(masterKey: Uint8Array, driveId: Uint8Array): DriveKeys {
  return {
    masterKey,
    driveId,
    tree: deriveKey(masterKey, LABEL_TREE),
    root: deriveKey(masterKey, LABEL_ROOT),
    nameHash: deriveKey(masterKey, LABEL_NAME_HASH),
    journal: deriveKey(masterKey, LABEL_JOURNAL),
  };
}

/** Fresh KDF parameters with a random salt. Defaults: 64 MiB, 3 passes, 1 lane. `cost`
 *  overrides are for tests only (e.g. { memKiB: 64, passes: 1 }); the CLI allows them
 *  only under MEGAFS_TEST_KDF=1. */
export function newKdfParams(p: CryptoPlatform, cost: Partial<Omit<KdfParams, 'alg' | 'salt'>> = {}): KdfParams {
  return { alg: 'argon2id', ...DEFAULT_KDF, ...cost, salt: toBase64(p.randomBytes(SALT_BYTES)) };
}

/** True when `kdf` is cheaper than the defaults. A client must refuse such parameters
 *  from a store (outside tests): a hostile store could hand out weak ones to make the
 *  client send an auth secret that is cheap to brute-force (docs/format.md "Keys"). */
export function isWeakKdf(kdf: KdfParams): boolean {
  return kdf.memKiB < DEFAULT_KDF.memKiB || kdf.passes < DEFAULT_KDF.passes;
}

/** Throws E_FORMAT for weak parameters unless `allowWeak` (MEGAFS_TEST_KDF=1). */
export function checkKdfStrength(kdf: KdfParams, allowWeak: boolean): void {
  if (isWeakKdf(kdf) && !allowWeak) {
    throw new FormatError('E_FORMAT', `drive header asks for weak Argon2id parameters (${kdf.memKiB} KiB, ${kdf.passes} passes); refusing`);
  }
}

/** AAD of the key wrap binds the drive id and the KDF parameters, so a store that
 *  swaps in weaker parameters or another drive's wrap is caught. */
function wrapAad(driveId: string, kdf: KdfParams): Uint8Array {
  const w = new ByteWriter().raw(utf8(AAD_KEYWRAP)).u8(0).u8(HEADER_VERSION).raw(fromHex(driveId));
  w.u32(kdf.memKiB).u32(kdf.passes).u32(kdf.parallelism).bytes(fromBase64(kdf.salt));
  return w.finish();
}

function keyCheck(masterKey: Uint8Array): string {
  return toBase64(deriveKey(masterKey, LABEL_KEY_CHECK).subarray(0, HEADER_KEY_CHECK_BYTES));
}

/** Wrap `masterKey` under `password`: a new header (init and passwd; pass fresh
 *  newKdfParams so the salt is new). `nonce` only for test vectors. */
export async function wrapMasterKey(
  p: CryptoPlatform, masterKey: Uint8Array, driveId: string, password: string, kdf: KdfParams,
  nonce: Uint8Array = p.randomBytes(NONCE_BYTES),
): Promise<{ header: DriveHeader; authSecret: Uint8Array }> {
  if (masterKey.length !== KEY_BYTES) throw new Error('BUG: master key must be 32 bytes');
  const { wrapKey, authSecret } = await stretchPassword(password, kdf);
  const sealed = p.xchachaSeal(wrapKey, nonce, masterKey, wrapAad(driveId, kdf));
  const header: DriveHeader = {
    v: HEADER_VERSION, driveId, kdf, wrappedKey: toBase64(concatBytes(nonce, sealed)), keyCheck: keyCheck(masterKey),
  };
  return { header, authSecret };
}

export interface NewDrive {
  header: DriveHeader;
  keys: DriveKeys;
  authSecret: Uint8Array;
}

export async function createDrive(p: CryptoPlatform, password: string, kdf: KdfParams = newKdfParams(p)): Promise<NewDrive> {
  const masterKey = p.randomBytes(KEY_BYTES);
  const driveId = toHex(p.randomBytes(DRIVE_ID_BYTES));
  const { header, authSecret } = await wrapMasterKey(p, masterKey, driveId, password, kdf);
  return { header, keys: deriveDriveKeys(masterKey, fromHex(driveId)), authSecret };
}

/** Open the header with the password. E_BAD_PASSWORD when it does not open. */
export async function unlockWithPassword(p: CryptoPlatform, header: DriveHeader, password: string): Promise<{ keys: DriveKeys; authSecret: Uint8Array }> {
  const { wrapKey, authSecret } = await stretchPassword(password, header.kdf);
  const wrapped = fromBase64(header.wrappedKey);
  let masterKey: Uint8Array;
  try {
    if (wrapped.length !== NONCE_BYTES + KEY_BYTES + TAG_BYTES) throw new Error('wrapped key has the wrong length');
    masterKey = p.xchachaOpen(wrapKey, wrapped.subarray(0, NONCE_BYTES), wrapped.subarray(NONCE_BYTES), wrapAad(header.driveId, header.kdf));
  } catch (cause) {
    throw new MegafsError('E_BAD_PASSWORD', 'wrong password for this drive', { cause });
  }
  return { keys: deriveDriveKeys(masterKey, fromHex(header.driveId)), authSecret };
}

/** A recovery key's master key, checked against the header's key check. */
export function unlockWithMasterKey(header: DriveHeader, masterKey: Uint8Array): DriveKeys {
  if (!bytesEqual(utf8(keyCheck(masterKey)), utf8(header.keyCheck))) {
    throw new MegafsError('E_BAD_RECOVERY_KEY', 'this recovery key belongs to another drive');
  }
  return deriveDriveKeys(masterKey, fromHex(header.driveId));
}

/** What a store keeps instead of the auth secret. */
export function authHash(p: CryptoPlatform, authSecret: Uint8Array): string {
  return toHex(p.sha256(authSecret));
}
