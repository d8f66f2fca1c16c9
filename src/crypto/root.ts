// The root pointer (docs/format.md "Root"): one per drive, the only mutable thing a
// store holds. Its version is in clear (a store sees every root write anyway) and
// bound into the AAD with the drive id:
//   formatVersion u8 || rootVersion u64le || nonce[24] || AEAD(payload) || tag[16]
//   payload = treeId[32] || prevRootHash[32] || timeMs u64le || deviceId[16]
// A client remembers the highest (version, hash) it saw; an older version, or the same
// version with another hash (a fork), is E_ROLLBACK.
import { FormatError, IntegrityError, MegafsError } from '../errors.js';
import { ByteReader, ByteWriter, fromHex, toHex } from '../format/bytes.js';
import { FORMAT_VERSION, NONCE_BYTES, READABLE_VERSIONS, TAG_BYTES } from '../format/constants.js';
import { AAD_ROOT } from './labels.js';
import { buildAad } from './object.js';
import type { DriveKeys } from './keys.js';
import type { CryptoPlatform } from './platform.js';

export interface Root {
  version: bigint;
  /** Object id (hex) of the top directory's tree object. */
  treeId: string;
  /** Hex SHA-256 of the previous sealed root, or 64 zeros for the first. */
  prevRootHash: string;
  timeMs: number;
  /** 16 bytes hex: which machine wrote it. */
  deviceId: string;
}

export const ZERO_HASH = '0'.repeat(64);
const PREFIX_BYTES = 1 + 8;
const PAYLOAD_BYTES = 32 + 32 + 8 + 16;
/** A sealed root is always 1 + 8 + 24 + 88 + 16 = 137 bytes. */
export const SEALED_ROOT_BYTES = PREFIX_BYTES + NONCE_BYTES + PAYLOAD_BYTES + TAG_BYTES;

function rootAad(driveId: Uint8Array, formatVersion: number, version: bigint): Uint8Array {
  return buildAad(AAD_ROOT, formatVersion, new ByteWriter().raw(driveId).u64(version).finish());
}

/** `nonce` only for test vectors. */
export function sealRoot(p: CryptoPlatform, keys: DriveKeys, root: Root, nonce: Uint8Array = p.randomBytes(NONCE_BYTES)): Uint8Array {
  const payload = new ByteWriter(88).raw(fromHex(root.treeId)).raw(fromHex(root.prevRootHash))
    .u64(root.timeMs).raw(fromHex(root.deviceId)).finish();
  if (payload.length !== PAYLOAD_BYTES) throw new Error('BUG: root fields have the wrong sizes');
  const sealed = p.xchachaSeal(keys.root, nonce, payload, rootAad(keys.driveId, FORMAT_VERSION, root.version));
  return new ByteWriter(PREFIX_BYTES + NONCE_BYTES + sealed.length)
    .u8(FORMAT_VERSION).u64(root.version).raw(nonce).raw(sealed).finish();
}

/** The version in clear, for choosing the highest among stores (null: not a root). */
export function peekRootVersion(bytes: Uint8Array): bigint | null {
  if (bytes.length < PREFIX_BYTES || !READABLE_VERSIONS.includes(bytes[0])) return null;
  return new ByteReader(bytes.subarray(1, PREFIX_BYTES)).u64();
}

/** Authenticates the root: E_INTEGRITY when tampered, truncated or another drive's. */
export function openRoot(p: CryptoPlatform, keys: DriveKeys, bytes: Uint8Array): Root {
  if (bytes.length !== SEALED_ROOT_BYTES) throw new IntegrityError(`root is ${bytes.length} bytes, not ${SEALED_ROOT_BYTES}`);
  const r = new ByteReader(bytes, 'root');
  const formatVersion = r.u8();
  if (!READABLE_VERSIONS.includes(formatVersion)) throw new FormatError('E_VERSION', `root format version ${formatVersion} is not supported`);
  const version = r.u64();
  const nonce = r.raw(NONCE_BYTES);
  const payload = p.xchachaOpen(keys.root, nonce, r.raw(r.remaining), rootAad(keys.driveId, formatVersion, version));
  const pr = new ByteReader(payload, 'root payload');
  const root: Root = {
    version, treeId: toHex(pr.raw(32)), prevRootHash: toHex(pr.raw(32)), timeMs: Number(pr.u64()), deviceId: toHex(pr.raw(16)),
  };
  pr.end();
  return root;
}

export function rootHash(p: CryptoPlatform, bytes: Uint8Array): string {
  return toHex(p.sha256(bytes));
}

/** What this machine last saw of the drive's root. */
export interface SeenRoot {
  version: bigint;
  hash: string;
}

/** Throws E_ROLLBACK when `root` is older than, or a fork of, what we saw. */
export function checkNotRolledBack(seen: SeenRoot | null, root: Root, hash: string): void {
  if (!seen) return;
  if (root.version < seen.version) {
    throw new MegafsError('E_ROLLBACK', `store served root version ${root.version}, older than version ${seen.version} seen before`);
  }
  if (root.version === seen.version && hash !== seen.hash) {
    throw new MegafsError('E_ROLLBACK', `store served a different root for version ${root.version} (a fork)`);
  }
}

