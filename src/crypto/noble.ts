// The pure-JavaScript reference platform (@noble/ciphers, @noble/hashes): readable,
// audited, about 20x slower than OpenSSL (bench/crypto.bench.ts). The browser page
// uses it; test/vectors prove the node:crypto fast path produces the same bytes.
import { chacha20, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { IntegrityError } from '../errors.js';
import type { CryptoPlatform } from './platform.js';

function intoOut(result: Uint8Array, out?: Uint8Array): Uint8Array {
  if (!out) return result;
  out.set(result);
  return out.subarray(0, result.length);
}

export const noblePlatform: CryptoPlatform = {
  name: 'noble',
  xchachaSeal(key, nonce, plaintext, aad, out) {
    return intoOut(xchacha20poly1305(key, nonce, aad).encrypt(plaintext), out);
  },
  xchachaOpen(key, nonce, sealed, aad, out) {
    let plain: Uint8Array;
    try {
      plain = xchacha20poly1305(key, nonce, aad).decrypt(sealed);
    } catch (cause) {
      throw new IntegrityError('authentication failed', { cause });
    }
    return intoOut(plain, out);
  },
  chacha20Xor(key, nonce, counter, input, out) {
    return intoOut(chacha20(key, nonce, input, undefined, counter), out);
  },
  sha256: (data) => sha256(data),
  randomBytes(length) {
    // getRandomValues gives at most 64 KiB per call.
    const out = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += 65536) out.set(randomBytes(Math.min(65536, length - offset)), offset);
    return out;
  },
};
