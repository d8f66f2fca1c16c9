// The drive header: what a store keeps beside the objects so that the password alone
// opens the drive on another machine. JSON (UTF-8). Nothing in it opens without the
// password: the master key is wrapped (AEAD) under a key stretched from the password.
// The `kdf` part is public (a server hands it out before login); the rest is not.
import { FormatError } from '../errors.js';

export const HEADER_VERSION = 1;

export interface KdfParams {
  alg: 'argon2id';
  /** Memory in KiB (default 65536 = 64 MiB). */
  memKiB: number;
  /** Passes over memory (default 3). */
  passes: number;
  parallelism: number;
  /** 16 random bytes, base64. */
  salt: string;
}

export interface DriveHeader {
  /** Header format version. */
  v: number;
  /** 16 random bytes, hex: names the drive; bound into the key wrap and the root. */
  driveId: string;
  kdf: KdfParams;
  /** The master key wrapped under the password's wrap key: base64 of
   *  nonce(24) || XChaCha20-Poly1305 ciphertext(32) || tag(16). */
  wrappedKey: string;
  /** First 16 bytes of HKDF(master key, "megafs v1 key check"), base64: tells a wrong
   *  recovery key from a right one without opening anything else. */
  keyCheck: string;
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function encodeHeader(h: DriveHeader): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(h));
}

/** Parse and validate a header; throws E_FORMAT / E_VERSION. */
export function decodeHeader(bytes: Uint8Array): DriveHeader {
  let h: unknown;
  try {
    h = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new FormatError('E_FORMAT', 'drive header is not valid JSON', { cause });
  }
  const o = h as Partial<DriveHeader>;
  if (typeof o !== 'object' || o === null || typeof o.v !== 'number') {
    throw new FormatError('E_FORMAT', 'drive header has no version');
  }
  if (o.v !== HEADER_VERSION) throw new FormatError('E_VERSION', `drive header version ${o.v} is not supported`);
  validateKdfParams(o.kdf);
  if (typeof o.driveId !== 'string' || !/^[0-9a-f]{32}$/.test(o.driveId)) {
    throw new FormatError('E_FORMAT', 'drive header has a bad driveId');
  }
  if (typeof o.wrappedKey !== 'string' || !B64_RE.test(o.wrappedKey)) {
    throw new FormatError('E_FORMAT', 'drive header has a bad wrappedKey');
  }
  if (typeof o.keyCheck !== 'string' || !B64_RE.test(o.keyCheck)) {
    throw new FormatError('E_FORMAT', 'drive header has a bad keyCheck');
  }
  return o as DriveHeader;
}

/** Bounds keep a hostile store from making us allocate absurd memory. */
export function validateKdfParams(k: unknown): asserts k is KdfParams {
  const p = k as Partial<KdfParams>;
  const ok =
    typeof p === 'object' && p !== null && p.alg === 'argon2id' &&
    Number.isInteger(p.memKiB) && p.memKiB! >= 8 && p.memKiB! <= 4 * 1024 * 1024 &&
    Number.isInteger(p.passes) && p.passes! >= 1 && p.passes! <= 64 &&
    Number.isInteger(p.parallelism) && p.parallelism! >= 1 && p.parallelism! <= 16 &&
    typeof p.salt === 'string' && B64_RE.test(p.salt) && p.salt.length >= 22;
  if (!ok) throw new FormatError('E_FORMAT', 'drive header has bad KDF parameters');
}
