// The primitives the format needs, behind one interface, so that format/ and crypto/
// stay free of node: imports. Two implementations produce identical bytes (proven by
// test/vectors): src/crypto/noble.ts (pure JS reference, what the browser runs) and
// src/platform/node.ts (node:crypto fast path for bulk data).

export interface CryptoPlatform {
  readonly name: string;
  /** XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03). key 32, nonce 24 bytes.
   *  Returns ciphertext || tag(16). With `out` (at least plaintext.length + 16 bytes,
   *  not overlapping the input) the result is written there and a view of it returned:
   *  reusing one buffer avoids a fresh 1 MiB allocation per chunk. */
  xchachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out?: Uint8Array): Uint8Array;
  /** Inverse of xchachaSeal; throws IntegrityError when authentication fails (and then
   *  `out`, if given, holds garbage). `out` needs sealed.length - 16 bytes. */
  xchachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out?: Uint8Array): Uint8Array;
  /** Raw IETF ChaCha20 (RFC 8439 §2.4), NO authentication: `input` XOR the keystream of
   *  (key 32, nonce 12) from 64-byte block `counter`. Only for ranges of sealed objects
   *  already authenticated in full (src/crypto/range.ts, docs/design.md "Read path"). */
  chacha20Xor(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array, out?: Uint8Array): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  randomBytes(length: number): Uint8Array;
  /** Optional (src/platform/native-data.ts): XChaCha20-Poly1305 over the stream
   *  prefix || payload || zeros(padBytes), written to out[cipherOffset..] as ciphertext ||
   *  tag, without first copying the payload into a padded buffer; returns SHA-256 of out
   *  up to the tag's end. The Async form runs off the main thread; until it settles
   *  the caller must not touch any of the buffers. */
  sealStream?(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, prefix: Uint8Array, payload: Uint8Array, padBytes: number,
    out: Uint8Array, cipherOffset: number): Uint8Array;
  sealStreamAsync?(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, prefix: Uint8Array, payload: Uint8Array, padBytes: number,
    out: Uint8Array, cipherOffset: number): Promise<Uint8Array>;
  /** Optional, off the main thread: check SHA-256(object) against `expectedId` when given
   *  (else IntegrityError), then open object[cipherOffset..] (ciphertext || tag) into
   *  `out` (IntegrityError when authentication fails). */
  openAsync?(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, object: Uint8Array, cipherOffset: number,
    out: Uint8Array, expectedId: Uint8Array | null): Promise<void>;
}
