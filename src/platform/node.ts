// The node:crypto fast path (OpenSSL, GB/s). XChaCha20-Poly1305 = HChaCha20 subkey
// (from @noble/ciphers, one block of work per message) + OpenSSL's IETF
// ChaCha20-Poly1305 with nonce 0x00000000 || nonce[16..24]
// (draft-irtf-cfrg-xchacha-03 §2.3). Output is byte-identical to noble's xchacha20poly1305.
// Data goes through the cipher in 64 KiB pieces: node allocates each update()'s output,
// and pieces under glibc's mmap threshold (128 KiB) reuse heap memory instead of paying
// fresh page faults per MiB (measured: 2x faster; bench/crypto.bench.ts).
import { createCipheriv, createDecipheriv, createHash, randomFillSync } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { IntegrityError } from '../errors.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import { nativeData as native, type NativeData } from './native-data.js';

const TAG_BYTES = 16;
const PIECE_BYTES = 64 * 1024;
// "expand 32-byte k" as four little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** Little-endian words of `bytes` (byte by byte: a DataView over a small on-heap array
 *  would first move it off V8's heap). */
function toWords(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(bytes.length / 4);
  for (let i = 0, o = 0; i < words.length; i++, o += 4) words[i] = bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24);
  return words;
}

/** HChaCha20(key, nonce[0..16]) -> 32-byte subkey, into `bytes`. */
function subkey(key: Uint8Array, nonce: Uint8Array, bytes: Uint8Array = Buffer.alloc(32)): Uint8Array {
  if (key.length !== 32 || nonce.length !== 24) throw new Error('BUG: XChaCha20 needs a 32-byte key and a 24-byte nonce');
  const out = new Uint32Array(8);
  hchacha(SIGMA, toWords(key), toWords(nonce.subarray(0, 16)), out);
  for (let i = 0, o = 0; i < 8; i++, o += 4) {
    const w = out[i];
    bytes[o] = w & 0xff;
    bytes[o + 1] = (w >>> 8) & 0xff;
    bytes[o + 2] = (w >>> 16) & 0xff;
    bytes[o + 3] = w >>> 24;
  }
  return bytes;
}

function ietfNonce(nonce: Uint8Array, n: Uint8Array = Buffer.alloc(12)): Uint8Array {
  n.fill(0, 0, 4);
  n.set(nonce.subarray(16, 24), 4);
  return n;
}

/** The small arguments of synchronous native calls (subkey, nonce, aad, length prefix,
 *  id) are placed here. A fresh small typed array handed to N-API is first moved off V8's
 *  heap, a malloc (and later a free) per array per call: a 150-byte sealObject (a journal
 *  record) cost 24 µs, mostly that. Only for synchronous calls: nothing holds it across
 *  one. `Scratch.take` falls back to a fresh array when the region is used up. */
class Scratch {
  private readonly buf = new Uint8Array(new ArrayBuffer(1024));
  private at = 0;

  /** Start a call: every region handed out before is free again. */
  reset(): this {
    this.at = 0;
    return this;
  }

  take(n: number): Uint8Array {
    if (this.at + n > this.buf.length) return new Uint8Array(n);
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  copy(src: Uint8Array): Uint8Array {
    if (src.length === 0) return src;
    const v = this.take(src.length);
    v.set(src);
    return v;
  }
}

const scratch = new Scratch();

/** A fresh, unpooled, uninitialised array (every byte is written before it is read):
 *  skips the zero fill, which costs as much as the cipher at 1 MiB. */
function freshBytes(length: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, b.byteOffset, length);
}

/** Run `input` through update() in pieces, writing the output into `out` from 0. */
function streamInto(c: { update(data: Uint8Array): Buffer }, input: Uint8Array, out: Uint8Array): void {
  let written = 0;
  for (let offset = 0; offset < input.length; offset += PIECE_BYTES) {
    const piece = c.update(input.subarray(offset, Math.min(offset + PIECE_BYTES, input.length)));
    out.set(piece, written);
    written += piece.length;
  }
}

const EMPTY = new Uint8Array(0);

/** The sealStream/sealStreamAsync/openAsync methods over the native module. */
function nativeStreams(n: NativeData): Pick<CryptoPlatform, 'sealStream' | 'sealStreamAsync' | 'openAsync'> {
  return {
    sealStream(key, nonce, aad, prefix, payload, padBytes, out, cipherOffset) {
      const sc = scratch.reset();
      const id = sc.take(32);
      n.seal(subkey(key, nonce, sc.take(32)), ietfNonce(nonce, sc.take(12)), sc.copy(aad), sc.copy(prefix), payload, padBytes, out, cipherOffset, id);
      return id.slice();
    },
    sealStreamAsync(key, nonce, aad, prefix, payload, padBytes, out, cipherOffset) {
      const id = new Uint8Array(32);
      return new Promise((resolve, reject) => {
        n.seal(subkey(key, nonce), ietfNonce(nonce), aad, prefix, payload, padBytes, out, cipherOffset, id, (r) => {
          if (r === 0) resolve(id);
          else reject(new Error('BUG: native sealing failed'));
        });
      });
    },
    openAsync(key, nonce, aad, object, cipherOffset, out, expectedId) {
      return new Promise((resolve, reject) => {
        n.open(subkey(key, nonce), ietfNonce(nonce), aad, object, cipherOffset, out, expectedId, (r) => {
          if (r === 0) resolve();
          else if (r === 1) reject(new IntegrityError('does not match its id'));
          else reject(new IntegrityError('authentication failed'));
        });
      });
    },
  };
}

export const nodePlatform: CryptoPlatform = {
  name: 'node',
  ...(native ? nativeStreams(native) : {}),
  xchachaSeal(key, nonce, plaintext, aad, out) {
    const sealedBytes = plaintext.length + TAG_BYTES;
    const dest = out ? out.subarray(0, sealedBytes) : freshBytes(sealedBytes);
    if (dest.length < sealedBytes) throw new Error('BUG: output buffer too small');
    if (native) {
      const sc = scratch.reset();
      native.seal(subkey(key, nonce, sc.take(32)), ietfNonce(nonce, sc.take(12)), sc.copy(aad), EMPTY, plaintext, 0, dest, 0, EMPTY);
      return dest;
    }
    const c = createCipheriv('chacha20-poly1305', subkey(key, nonce), ietfNonce(nonce), { authTagLength: TAG_BYTES });
    c.setAAD(aad, { plaintextLength: plaintext.length });
    streamInto(c, plaintext, dest);
    c.final();
    dest.set(c.getAuthTag(), plaintext.length);
    return dest;
  },
  xchachaOpen(key, nonce, sealed, aad, out) {
    if (sealed.length < TAG_BYTES) throw new IntegrityError('sealed data shorter than its tag');
    const plainBytes = sealed.length - TAG_BYTES;
    const dest = out ? out.subarray(0, plainBytes) : freshBytes(plainBytes);
    if (dest.length < plainBytes) throw new Error('BUG: output buffer too small');
    if (native) {
      const sc = scratch.reset();
      if (native.open(subkey(key, nonce, sc.take(32)), ietfNonce(nonce, sc.take(12)), sc.copy(aad), sealed, 0, dest, null) !== 0) {
        throw new IntegrityError('authentication failed');
      }
      return dest;
    }
    const d = createDecipheriv('chacha20-poly1305', subkey(key, nonce), ietfNonce(nonce), { authTagLength: TAG_BYTES });
    d.setAAD(aad, { plaintextLength: plainBytes });
    d.setAuthTag(sealed.subarray(plainBytes));
    streamInto(d, sealed.subarray(0, plainBytes), dest);
    try {
      d.final();
    } catch (cause) {
      // The unauthenticated plaintext never leaves: wipe what we wrote.
      dest.fill(0);
      throw new IntegrityError('authentication failed', { cause });
    }
    return dest;
  },
  chacha20Xor(key, nonce, counter, input, out) {
    if (key.length !== 32 || nonce.length !== 12) throw new Error('BUG: ChaCha20 needs a 32-byte key and a 12-byte nonce');
    // OpenSSL's chacha20 IV: u32le block counter || 12-byte nonce.
    const iv = Buffer.alloc(16);
    iv.writeUInt32LE(counter, 0);
    iv.set(nonce, 4);
    const dest = out ? out.subarray(0, input.length) : freshBytes(input.length);
    if (dest.length < input.length) throw new Error('BUG: output buffer too small');
    if (native) {
      native.chacha20(key, iv, input, dest);
      return dest;
    }
    const c = createCipheriv('chacha20', key, iv);
    streamInto(c, input, dest);
    c.final();
    return dest;
  },
  sha256(data) {
    if (native) {
      const out = scratch.reset().take(32);
      native.sha256(data, out);
      return out.slice();
    }
    const h = createHash('sha256');
    for (let offset = 0; offset < data.length; offset += PIECE_BYTES) {
      h.update(data.subarray(offset, Math.min(offset + PIECE_BYTES, data.length)));
    }
    return new Uint8Array(h.digest());
  },
  randomBytes(length) {
    if (length > RANDOM_POOL_BYTES / 8) return randomFillSync(new Uint8Array(length));
    if (randomPoolOffset + length > RANDOM_POOL_BYTES) {
      randomFillSync(randomPool);
      randomPoolOffset = 0;
    }
    const out = randomPool.slice(randomPoolOffset, randomPoolOffset + length);
    randomPool.fill(0, randomPoolOffset, randomPoolOffset + length); // a byte handed out is never kept
    randomPoolOffset += length;
    return out;
  },
};

/** Small random values (keys, ids, nonces: 16-32 bytes, several per file created) come
 *  from a pool refilled 4 KiB at a time: one OpenSSL call costs ~5 us whatever its size. */
const RANDOM_POOL_BYTES = 4096;
const randomPool = new Uint8Array(RANDOM_POOL_BYTES);
let randomPoolOffset = RANDOM_POOL_BYTES;
