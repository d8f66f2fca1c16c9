// Password stretching (Argon2id, RFC 9106) and subkey derivation (HKDF-SHA256, RFC 5869).
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { KdfParams } from '../format/header.js';
import { fromBase64, utf8 } from '../format/bytes.js';
import { KEY_BYTES } from '../format/constants.js';
import { LABEL_PASSWORD_AUTH, LABEL_PASSWORD_WRAP } from './labels.js';

/** HKDF-SHA256(ikm, salt = empty, info = label) -> 32 bytes. */
export function deriveKey(ikm: Uint8Array, label: string, context: Uint8Array = new Uint8Array(0)): Uint8Array {
  const labelBytes = utf8(label);
  const info = new Uint8Array(labelBytes.length + context.length);
  info.set(labelBytes);
  info.set(context, labelBytes.length);
  return hkdf(sha256, ikm, undefined, info, KEY_BYTES);
}

export interface PasswordKeys {
  /** Wraps the master key (AEAD). */
  wrapKey: Uint8Array;
  /** Authenticates to a store; the store keeps only SHA-256 of it. */
  authSecret: Uint8Array;
}

/** Argon2id(NFC(password) as UTF-8, salt) -> 32 bytes. */
export async function argon2(password: string, salt: Uint8Array, memKiB: number, passes: number, parallelism = 1): Promise<Uint8Array> {
  return argon2idAsync(utf8(password.normalize('NFC')), salt, {
    m: memKiB,
    t: passes,
    p: parallelism,
    dkLen: KEY_BYTES,
    maxmem: (memKiB + 1024) * 1024,
  });
}

/** Argon2id(password, salt, params) -> HKDF into two independent 256-bit values. */
export async function stretchPassword(password: string, kdf: KdfParams): Promise<PasswordKeys> {
  const stretched = await argon2(password, fromBase64(kdf.salt), kdf.memKiB, kdf.passes, kdf.parallelism);
  return {
    wrapKey: deriveKey(stretched, LABEL_PASSWORD_WRAP),
    authSecret: deriveKey(stretched, LABEL_PASSWORD_AUTH),
  };
}
