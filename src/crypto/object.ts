// Sealed objects (docs/format.md "Sealed object"): every chunk and tree object in a
// store has this layout, padded with Padmé so the store learns only a size bucket:
//   version u8 || nonce[24] || XChaCha20-Poly1305( u32le payloadLength || payload || zeros ) || tag[16]
// where the sealed plaintext is exactly 4 + padme(payloadLength) bytes.
// AAD = domain || 0x00 || version u8 || context (file id, chunk index, ...), so an object
// sealed for one purpose or place never opens in another.
import { FormatError, IntegrityError } from '../errors.js';
import { concatBytes, toHex, utf8 } from '../format/bytes.js';
import {
  FORMAT_VERSION, LENGTH_PREFIX_BYTES, MAX_PAYLOAD_BYTES, NONCE_BYTES, OBJECT_HEADER_BYTES,
  OBJECT_OVERHEAD_BYTES, READABLE_VERSIONS, TAG_BYTES,
} from '../format/constants.js';
import { padme } from '../format/padding.js';
import type { CryptoPlatform } from './platform.js';

export function buildAad(domain: string, version: number, context: Uint8Array): Uint8Array {
  return concatBytes(utf8(domain), new Uint8Array([0, version]), context);
}

/** Object size in the store for a payload of `payloadBytes`: 45 + padme(payloadBytes). */
export function sealedSize(payloadBytes: number): number {
  return OBJECT_OVERHEAD_BYTES + padme(payloadBytes);
}

export interface SealedObject {
  /** Hex SHA-256 of `bytes`: the object's name in every store. */
  id: string;
  bytes: Uint8Array;
}

// Scratch for the padded plaintext: it never escapes sealObject (the platform reads it
// synchronously), so one buffer serves every call and a 1 MiB chunk costs no allocation.
let scratch = new Uint8Array(0);
function paddedScratch(bytes: number): Uint8Array {
  if (scratch.length < bytes) scratch = new Uint8Array(bytes);
  return scratch.subarray(0, bytes);
}

/** Seal `payload`. `nonce` defaults to 24 random bytes (pass one only for test vectors);
 *  `out` (at least sealedSize(payload.length) bytes) receives the object when given, so
 *  a caller can reuse one buffer; `bytes` is then a view of it. */
export function sealObject(
  p: CryptoPlatform, key: Uint8Array, domain: string, context: Uint8Array, payload: Uint8Array,
  nonce: Uint8Array = p.randomBytes(NONCE_BYTES), out?: Uint8Array,
): SealedObject {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new Error(`BUG: payload of ${payload.length} bytes is over the limit`);
  if (nonce.length !== NONCE_BYTES) throw new Error('BUG: a sealed object needs a 24-byte nonce');
  const plainBytes = LENGTH_PREFIX_BYTES + padme(payload.length);
  const padded = paddedScratch(plainBytes);
  new DataView(padded.buffer, padded.byteOffset).setUint32(0, payload.length, true);
  padded.set(payload, LENGTH_PREFIX_BYTES);
  padded.fill(0, LENGTH_PREFIX_BYTES + payload.length);
  const totalBytes = OBJECT_HEADER_BYTES + plainBytes + TAG_BYTES;
  const bytes = out ? out.subarray(0, totalBytes) : new Uint8Array(totalBytes);
  if (bytes.length < totalBytes) throw new Error('BUG: output buffer too small for the sealed object');
  bytes[0] = FORMAT_VERSION;
  bytes.set(nonce, 1);
  p.xchachaSeal(key, nonce, padded, buildAad(domain, FORMAT_VERSION, context), bytes.subarray(OBJECT_HEADER_BYTES));
  return { id: toHex(p.sha256(bytes)), bytes };
}

/** Check the id (when given), then authenticate and unpad. Throws E_INTEGRITY on any
 *  mismatch, E_VERSION for a version this build cannot read. Never returns wrong bytes.
 *  `out` (at least bytes.length - 45) receives the padded plaintext when given; the
 *  result is then a view of it. */
export function openObject(
  p: CryptoPlatform, key: Uint8Array, domain: string, context: Uint8Array, bytes: Uint8Array, expectedId?: string,
  out?: Uint8Array,
): Uint8Array {
  if (expectedId !== undefined && toHex(p.sha256(bytes)) !== expectedId) {
    throw new IntegrityError(`object ${expectedId.slice(0, 16)}… does not match its id`);
  }
  if (bytes.length < OBJECT_OVERHEAD_BYTES) throw new IntegrityError('object is truncated');
  const version = bytes[0];
  if (!READABLE_VERSIONS.includes(version)) throw new FormatError('E_VERSION', `object format version ${version} is not supported`);
  const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
  const padded = p.xchachaOpen(key, nonce, bytes.subarray(OBJECT_HEADER_BYTES), buildAad(domain, version, context), out);
  // Authentic, but only the writer's own code could get these wrong: still refuse.
  const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0, true);
  if (length > MAX_PAYLOAD_BYTES || padded.length !== LENGTH_PREFIX_BYTES + padme(length)) {
    throw new IntegrityError('object length does not match its padding');
  }
  for (let i = LENGTH_PREFIX_BYTES + length; i < padded.length; i++) {
    if (padded[i] !== 0) throw new IntegrityError('object padding is not zero');
  }
  return padded.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + length);
}
