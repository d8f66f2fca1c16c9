// The node:crypto fast path (OpenSSL, GB/s). XChaCha20-Poly1305 = HChaCha20 subkey
// (from @noble/ciphers, one block of work per message) + OpenSSL's IETF
// ChaCha20-Poly1305 with nonce 0x00000000 || nonce[16..24]
// (draft-irtf-cfrg-xchacha-03 §2.3). Output is byte-identical to noble's xchacha20poly1305.
import { createCipheriv, createDecipheriv, createHash, randomFillSync } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { IntegrityError } from '../errors.js';
import type { CryptoPlatform } from '../crypto/platform.js';

const TAG_BYTES = 16;
// "expand 32-byte k" as four little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

function toWords(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(i * 4, true);
  return words;
}

/** HChaCha20(key, nonce[0..16]) -> 32-byte subkey. */
function subkey(key: Uint8Array, nonce: Uint8Array): Buffer {
  const out = new Uint32Array(8);
  hchacha(SIGMA, toWords(key), toWords(nonce.subarray(0, 16)), out);
  const bytes = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) bytes.writeUInt32LE(out[i], i * 4);
  return bytes;
}

function ietfNonce(nonce: Uint8Array): Buffer {
  const n = Buffer.alloc(12);
  n.set(nonce.subarray(16, 24), 4);
  return n;
}

export const nodePlatform: CryptoPlatform = {
  name: 'node',
  xchachaSeal(key, nonce, plaintext, aad) {
    const c = createCipheriv('chacha20-poly1305', subkey(key, nonce), ietfNonce(nonce), { authTagLength: TAG_BYTES });
    c.setAAD(aad, { plaintextLength: plaintext.length });
    const out = Buffer.allocUnsafeSlow(plaintext.length + TAG_BYTES);
    const n = c.update(plaintext).copy(out, 0);
    c.final();
    c.getAuthTag().copy(out, n);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  },
  xchachaOpen(key, nonce, sealed, aad) {
    if (sealed.length < TAG_BYTES) throw new IntegrityError('sealed data shorter than its tag');
    const d = createDecipheriv('chacha20-poly1305', subkey(key, nonce), ietfNonce(nonce), { authTagLength: TAG_BYTES });
    d.setAAD(aad, { plaintextLength: sealed.length - TAG_BYTES });
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = d.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    try {
      d.final();
    } catch (cause) {
      throw new IntegrityError('authentication failed', { cause });
    }
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
  },
  sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
  randomBytes(length) {
    return randomFillSync(new Uint8Array(length));
  },
};
