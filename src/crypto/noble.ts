// The pure-JavaScript reference platform (@noble/ciphers, @noble/hashes): readable,
// audited, about 120 MB/s. The browser page uses it; tests prove the node:crypto fast
// path produces the same bytes.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { IntegrityError } from '../errors.js';
import type { CryptoPlatform } from './platform.js';

export const noblePlatform: CryptoPlatform = {
  name: 'noble',
  xchachaSeal(key, nonce, plaintext, aad) {
    return xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
  },
  xchachaOpen(key, nonce, sealed, aad) {
    try {
      return xchacha20poly1305(key, nonce, aad).decrypt(sealed);
    } catch (cause) {
      throw new IntegrityError('authentication failed', { cause });
    }
  },
  sha256: (data) => sha256(data),
  randomBytes: (length) => randomBytes(length),
};
