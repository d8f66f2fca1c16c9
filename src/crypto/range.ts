// Decrypting part of a sealed object (docs/format.md "Sealed objects") WITHOUT its tag:
// only for an object whose id and tag were checked in full before, read back from the
// same local bytes (docs/design.md "Read path"). XChaCha20 = ChaCha20 under the subkey
// HChaCha20(key, nonce[0..16]) with the 12-byte nonce 0x00000000 || nonce[16..24]; the
// AEAD (RFC 8439 §2.8) spends block 0 on the Poly1305 key, so padded-plaintext byte o
// (counted from object byte 25) is keystream block 1 + floor(o / 64), offset o % 64.
import { hchacha } from '@noble/ciphers/chacha.js';
import { LENGTH_PREFIX_BYTES, NONCE_BYTES, OBJECT_HEADER_BYTES } from '../format/constants.js';
import type { CryptoPlatform } from './platform.js';

const BLOCK_BYTES = 64;
// "expand 32-byte k" as four little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** The ChaCha20 key and nonce that encrypt one sealed object's body. */
export interface ObjectKeystream {
  subkey: Uint8Array;
  nonce: Uint8Array;
}

function toWords(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(i * 4, true);
  return words;
}

/** The keystream of the object whose first 25 bytes (version || nonce) are `header`. */
export function objectKeystream(key: Uint8Array, header: Uint8Array): ObjectKeystream {
  if (key.length !== 32 || header.length < OBJECT_HEADER_BYTES) throw new Error('BUG: keystream needs a 32-byte key and the 25-byte object header');
  const nonce = header.subarray(1, 1 + NONCE_BYTES);
  const words = new Uint32Array(8);
  hchacha(SIGMA, toWords(key), toWords(nonce.subarray(0, 16)), words);
  const subkey = new Uint8Array(32);
  const view = new DataView(subkey.buffer);
  for (let i = 0; i < 8; i++) view.setUint32(i * 4, words[i], true);
  const ietf = new Uint8Array(12);
  ietf.set(nonce.subarray(16, 24), 4);
  return { subkey, nonce: ietf };
}

/** Where to read the ciphertext of payload bytes [dataOffset, dataOffset + length) of a
 *  sealed object: `cipherOffset` (object byte offset, starts a keystream block) and
 *  `cipherLength`; the wanted bytes start `skip` bytes into the decrypted span. */
export function payloadSpan(dataOffset: number, length: number): { cipherOffset: number; cipherLength: number; paddedOffset: number; skip: number } {
  const wanted = LENGTH_PREFIX_BYTES + dataOffset;
  const skip = wanted % BLOCK_BYTES;
  const paddedOffset = wanted - skip;
  return { cipherOffset: OBJECT_HEADER_BYTES + paddedOffset, cipherLength: skip + length, paddedOffset, skip };
}

/** Decrypt `cipher`: the object's bytes that hold padded-plaintext bytes from
 *  `paddedOffset` on (any offset; a multiple of 64 costs no copy). NOT authenticated. */
export function decryptRange(
  p: CryptoPlatform, ks: ObjectKeystream, paddedOffset: number, cipher: Uint8Array, out?: Uint8Array,
): Uint8Array {
  const skip = paddedOffset % BLOCK_BYTES;
  const counter = 1 + (paddedOffset - skip) / BLOCK_BYTES;
  if (skip === 0) return p.chacha20Xor(ks.subkey, ks.nonce, counter, cipher, out);
  const padded = new Uint8Array(skip + cipher.length);
  padded.set(cipher, skip);
  const plain = p.chacha20Xor(ks.subkey, ks.nonce, counter, padded).subarray(skip);
  if (!out) return plain;
  out.set(plain);
  return out.subarray(0, plain.length);
}
