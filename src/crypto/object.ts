// Sealed objects (docs/format.md "Sealed object"): every chunk and tree object in a
// store has this layout, padded with Padmé so the store learns only a size bucket:
//   version u8 || nonce[24] || XChaCha20-Poly1305( u32le payloadLength || payload || zeros ) || tag[16]
// AAD = domain || 0x00 || version u8 || context (file id, chunk index, ...), so an object
// sealed for one purpose or place never opens in another.
import { FormatError, IntegrityError } from '../errors.js';
import { concatBytes, toHex, utf8 } from '../format/bytes.js';
import {
  FORMAT_VERSION, LENGTH_PREFIX_BYTES, MAX_PAYLOAD_BYTES, NONCE_BYTES, OBJECT_HEADER_BYTES,
  OBJECT_OVERHEAD_BYTES, READABLE_VERSIONS,
} from '../format/constants.js';
import { padme } from '../format/padding.js';
import type { CryptoPlatform } from './platform.js';

export function buildAad(domain: string, version: number, context: Uint8Array): Uint8Array {
  return concatBytes(utf8(domain), new Uint8Array([0, version]), context);
}

/** Object size in the store for a payload of `payloadBytes`. */
export function sealedSize(payloadBytes: number): number {
  return OBJECT_OVERHEAD_BYTES + padme(payloadBytes + LENGTH_PREFIX_BYTES) - LENGTH_PREFIX_BYTES;
}

export interface SealedObject {
  /** Hex SHA-256 of `bytes`: the object's name in every store. */
  id: string;
  bytes: Uint8Array;
}

export function sealObject(
  p: CryptoPlatform, key: Uint8Array, domain: string, context: Uint8Array, payload: Uint8Array,
  nonce: Uint8Array = p.randomBytes(NONCE_BYTES),
): SealedObject {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new Error(`BUG: payload of ${payload.length} bytes is over the limit`);
  const padded = new Uint8Array(padme(payload.length + LENGTH_PREFIX_BYTES));
  new DataView(padded.buffer).setUint32(0, payload.length, true);
  padded.set(payload, LENGTH_PREFIX_BYTES);
  const sealed = p.xchachaSeal(key, nonce, padded, buildAad(domain, FORMAT_VERSION, context));
  const bytes = new Uint8Array(OBJECT_HEADER_BYTES + sealed.length);
  bytes[0] = FORMAT_VERSION;
  bytes.set(nonce, 1);
  bytes.set(sealed, OBJECT_HEADER_BYTES);
  return { id: toHex(p.sha256(bytes)), bytes };
}

/** Check the id (when given), then authenticate and unpad. Throws E_INTEGRITY on any
 *  mismatch, E_VERSION for a version this build cannot read. Never returns wrong bytes. */
export function openObject(
  p: CryptoPlatform, key: Uint8Array, domain: string, context: Uint8Array, bytes: Uint8Array, expectedId?: string,
): Uint8Array {
  if (expectedId !== undefined && toHex(p.sha256(bytes)) !== expectedId) {
    throw new IntegrityError(`object ${expectedId.slice(0, 16)}… does not match its id`);
  }
  if (bytes.length < OBJECT_OVERHEAD_BYTES) throw new IntegrityError('object is truncated');
  const version = bytes[0];
  if (!READABLE_VERSIONS.includes(version)) throw new FormatError('E_VERSION', `object format version ${version} is not supported`);
  const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
  const padded = p.xchachaOpen(key, nonce, bytes.subarray(OBJECT_HEADER_BYTES), buildAad(domain, version, context));
  const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0, true);
  if (length > padded.length - LENGTH_PREFIX_BYTES) throw new IntegrityError('object length field is out of range');
  for (let i = LENGTH_PREFIX_BYTES + length; i < padded.length; i++) {
    if (padded[i] !== 0) throw new IntegrityError('object padding is not zero');
  }
  return padded.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + length);
}
