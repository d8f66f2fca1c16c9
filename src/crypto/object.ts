// Sealed objects (docs/format.md "Sealed object"): every chunk and tree object in a
// store has this layout, padded with Padmé so the store learns only a size bucket:
//   version u8 || nonce[24] || XChaCha20-Poly1305( u32le payloadLength || payload || zeros ) || tag[16]
// where the sealed plaintext is exactly 4 + padme(payloadLength) bytes.
// AAD = domain || 0x00 || version u8 || context (file id, chunk index, ...), so an object
// sealed for one purpose or place never opens in another.
import { FormatError, IntegrityError } from '../errors.js';
import { concatBytes, fromHex, toHex, utf8 } from '../format/bytes.js';
import {
  FORMAT_VERSION, LENGTH_PREFIX_BYTES, MAX_PAYLOAD_BYTES, NONCE_BYTES, OBJECT_HEADER_BYTES,
  OBJECT_OVERHEAD_BYTES, READABLE_VERSIONS, TAG_BYTES,
} from '../format/constants.js';
import { padme } from '../format/padding.js';
import type { CryptoPlatform } from './platform.js';

/** UTF-8 of each domain label (a handful of constants, src/crypto/labels.ts), encoded once. */
const domainBytes = new Map<string, Uint8Array>();

export function buildAad(domain: string, version: number, context: Uint8Array): Uint8Array {
  let d = domainBytes.get(domain);
  if (!d) {
    d = utf8(domain);
    if (domainBytes.size < 64) domainBytes.set(domain, d);
  }
  return concatBytes(d, new Uint8Array([0, version]), context);
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

/** What sealing `payload` needs: the output with its header written, the AAD, and the
 *  4-byte length prefix; the sealed plaintext is prefix || payload || zeros(padBytes). */
function prepareSeal(
  domain: string, context: Uint8Array, payload: Uint8Array, nonce: Uint8Array, out: Uint8Array | undefined,
  version = FORMAT_VERSION,
): { bytes: Uint8Array; aad: Uint8Array; prefix: Uint8Array; padBytes: number } {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new Error(`BUG: payload of ${payload.length} bytes is over the limit`);
  if (nonce.length !== NONCE_BYTES) throw new Error('BUG: a sealed object needs a 24-byte nonce');
  const plainBytes = LENGTH_PREFIX_BYTES + padme(payload.length);
  const totalBytes = OBJECT_HEADER_BYTES + plainBytes + TAG_BYTES;
  const bytes = out ? out.subarray(0, totalBytes) : new Uint8Array(totalBytes);
  if (bytes.length < totalBytes) throw new Error('BUG: output buffer too small for the sealed object');
  bytes[0] = version;
  bytes.set(nonce, 1);
  const n = payload.length;
  const prefix = new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]); // u32le; no DataView: it would move the array off V8's heap
  return { bytes, aad: buildAad(domain, version, context), prefix, padBytes: plainBytes - LENGTH_PREFIX_BYTES - payload.length };
}

/** Seal `payload`. `nonce` defaults to 24 random bytes (pass one only for test vectors);
 *  `out` (at least sealedSize(payload.length) bytes) receives the object when given, so
 *  a caller can reuse one buffer; `bytes` is then a view of it. `version` is the layout
 *  revision of the payload (docs/format.md "Format version 2": tree objects say 2). */
export function sealObject(
  p: CryptoPlatform, key: Uint8Array, domain: string, context: Uint8Array, payload: Uint8Array,
  nonce: Uint8Array = p.randomBytes(NONCE_BYTES), out?: Uint8Array, version = FORMAT_VERSION,
): SealedObject {
  const { bytes, aad, prefix, padBytes } = prepareSeal(domain, context, payload, nonce, out, version);
  if (p.sealStream) {
    return { id: toHex(p.sealStream(key, nonce, aad, prefix, payload, padBytes, bytes, OBJECT_HEADER_BYTES)), bytes };
  }
  const padded = paddedScratch(prefix.length + payload.length + padBytes);
  padded.set(prefix);
  padded.set(payload, LENGTH_PREFIX_BYTES);
  padded.fill(0, LENGTH_PREFIX_BYTES + payload.length);
  p.xchachaSeal(key, nonce, padded, aad, bytes.subarray(OBJECT_HEADER_BYTES));
  return { id: toHex(p.sha256(bytes)), bytes };
}

/** sealObject off the main thread when the platform can (sealStreamAsync); the caller
 *  leaves `payload` and `out` alone until it settles. Same bytes as sealObject. */
export async function sealObjectAsync(
  p: CryptoPlatform, key: Uint8Array, domain: string, context: Uint8Array, payload: Uint8Array, out?: Uint8Array,
): Promise<SealedObject> {
  if (!p.sealStreamAsync) return sealObject(p, key, domain, context, payload, undefined, out);
  const nonce = p.randomBytes(NONCE_BYTES);
  const { bytes, aad, prefix, padBytes } = prepareSeal(domain, context, payload, nonce, out);
  return { id: toHex(await p.sealStreamAsync(key, nonce, aad, prefix, payload, padBytes, bytes, OBJECT_HEADER_BYTES)), bytes };
}

/** The version byte of a sealed object, checked (E_INTEGRITY / E_VERSION). */
function readableVersion(bytes: Uint8Array): number {
  if (bytes.length < OBJECT_OVERHEAD_BYTES) throw new IntegrityError('object is truncated');
  const version = bytes[0];
  if (!READABLE_VERSIONS.includes(version)) throw new FormatError('E_VERSION', `object format version ${version} is not supported`);
  return version;
}

/** The payload inside an authentic padded plaintext. Authentic, but only the writer's
 *  own code could get these wrong: still refuse. */
function unpad(padded: Uint8Array): Uint8Array {
  const length = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0, true);
  if (length > MAX_PAYLOAD_BYTES || padded.length !== LENGTH_PREFIX_BYTES + padme(length)) {
    throw new IntegrityError('object length does not match its padding');
  }
  for (let i = LENGTH_PREFIX_BYTES + length; i < padded.length; i++) {
    if (padded[i] !== 0) throw new IntegrityError('object padding is not zero');
  }
  return padded.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + length);
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
  const version = readableVersion(bytes);
  const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
  return unpad(p.xchachaOpen(key, nonce, bytes.subarray(OBJECT_HEADER_BYTES), buildAad(domain, version, context), out));
}

/** openObject off the main thread when the platform can (openAsync); the caller leaves
 *  `bytes` alone until it settles. The result is a view of `out`, or of a new array. */
export async function openObjectAsync(
  p: CryptoPlatform, key: Uint8Array, domain: string, context: Uint8Array, bytes: Uint8Array, expectedId?: string,
  out?: Uint8Array,
): Promise<Uint8Array> {
  if (!p.openAsync) return openObject(p, key, domain, context, bytes, expectedId, out);
  const version = readableVersion(bytes);
  const plainBytes = bytes.length - OBJECT_HEADER_BYTES - TAG_BYTES;
  const dest = out ? out.subarray(0, plainBytes) : new Uint8Array(plainBytes);
  if (dest.length < plainBytes) throw new Error('BUG: output buffer too small');
  const id = expectedId === undefined ? null : fromHex(expectedId);
  if (id && id.length !== 32) throw new IntegrityError(`object id ${expectedId!.slice(0, 16)}… is malformed`);
  try {
    await p.openAsync(key, bytes.subarray(1, 1 + NONCE_BYTES), buildAad(domain, version, context), bytes, OBJECT_HEADER_BYTES, dest, id);
  } catch (e) {
    if (e instanceof IntegrityError && id) throw new IntegrityError(`object ${expectedId!.slice(0, 16)}… ${e.message}`);
    throw e;
  }
  return unpad(dest);
}
