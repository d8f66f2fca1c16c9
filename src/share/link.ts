// Links and the manifest envelope (docs/format.md "Share manifest"):
//   link     = https://HOST/s/ID#SECRET     ID: 22 base64url chars (128 bits, the server's)
//                                           SECRET: 43 base64url chars (256 random bits)
//   envelope = "MSL1" || u8 mode || [mode 1: u32le memKiB || u32le passes || salt[16]]
//              || sealed object (AAD domain "megafs link", context = mode byte)
//   link key = HKDF(SECRET, "megafs v1 link key")                        mode 0
//            = HKDF(SECRET || Argon2id(password, salt), "megafs v1 link key")   mode 1
// The password is mixed into the key: the server, which never has SECRET, cannot test
// guesses; whoever has the link must pay an Argon2id per guess.
// No node: imports: the browser page bundles this file.
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { FormatError, MegafsError } from '../errors.js';
import { ByteReader, ByteWriter, concatBytes, fromBase64, toBase64, utf8 } from '../format/bytes.js';
import { DEFAULT_KDF, KEY_BYTES, SALT_BYTES } from '../format/constants.js';
import { deriveKey } from '../crypto/kdf.js';
import { AAD_LINK, LABEL_LINK } from '../crypto/labels.js';
import { openObject, sealObject } from '../crypto/object.js';
import type { CryptoPlatform } from '../crypto/platform.js';

const MAGIC = 'MSL1';
const ID_RE = /^[A-Za-z0-9_-]{22}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

export interface Link {
  /** https://host[:port], no trailing slash. */
  origin: string;
  id: string;
  /** 32 bytes. */
  secret: Uint8Array;
}

export function b64url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromB64url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  return fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}

export function formatLink(l: Link): string {
  return `${l.origin}/s/${l.id}#${b64url(l.secret)}`;
}

/** E_BAD_LINK for anything that is not a whole megafs link. */
export function parseLink(text: string): Link {
  let u: URL;
  try { u = new URL(text.trim()); } catch { throw new MegafsError('E_BAD_LINK', 'this is not a link (expected https://HOST/s/ID#KEY)'); }
  const m = /^\/s\/([^/]+)\/?$/.exec(u.pathname);
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || !m) throw new MegafsError('E_BAD_LINK', 'this is not a megafs link (expected https://HOST/s/ID#KEY)');
  if (!ID_RE.test(m[1])) throw new MegafsError('E_BAD_LINK', 'the link id is malformed (was the link cut short?)');
  const key = u.hash.replace(/^#/, '');
  if (key === '') throw new MegafsError('E_BAD_LINK', 'the link has no key (the part after #); ask for the whole link');
  if (!SECRET_RE.test(key)) throw new MegafsError('E_BAD_LINK', 'the link key is malformed (was the link cut short?)');
  return { origin: u.origin, id: m[1], secret: fromB64url(key) };
}

export interface LinkKdf {
  memKiB: number;
  passes: number;
  salt: Uint8Array;
}

/** The link key; `kdf` and `password` together or not at all. */
export async function deriveLinkKey(secret: Uint8Array, password?: string, kdf?: LinkKdf): Promise<Uint8Array> {
  if (password === undefined || kdf === undefined) return deriveKey(secret, LABEL_LINK);
  const stretched = await argon2idAsync(utf8(password.normalize('NFC')), kdf.salt, {
    m: kdf.memKiB, t: kdf.passes, p: 1, dkLen: KEY_BYTES, maxmem: (kdf.memKiB + 1024) * 1024,
  });
  return deriveKey(concatBytes(secret, stretched), LABEL_LINK);
}

export interface Envelope {
  /** Present when the link needs a password. */
  kdf: LinkKdf | null;
  sealed: Uint8Array;
}

export function newLinkKdf(p: CryptoPlatform, cost: { memKiB?: number; passes?: number } = {}): LinkKdf {
  return { memKiB: cost.memKiB ?? DEFAULT_KDF.memKiB, passes: cost.passes ?? DEFAULT_KDF.passes, salt: p.randomBytes(SALT_BYTES) };
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  const w = new ByteWriter(e.sealed.length + 64).raw(utf8(MAGIC)).u8(e.kdf ? 1 : 0);
  if (e.kdf) w.u32(e.kdf.memKiB).u32(e.kdf.passes).raw(e.kdf.salt);
  return w.raw(e.sealed).finish();
}

export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const r = new ByteReader(bytes, 'share manifest');
  if (new TextDecoder().decode(r.raw(4)) !== MAGIC) throw new FormatError('E_FORMAT', 'not a megafs share manifest');
  const mode = r.u8();
  if (mode > 1) throw new FormatError('E_VERSION', `share manifest mode ${mode} is not supported`);
  let kdf: LinkKdf | null = null;
  if (mode === 1) {
    kdf = { memKiB: r.u32(), passes: r.u32(), salt: r.raw(SALT_BYTES).slice() };
    // A hostile server must not make the recipient allocate absurd memory.
    if (kdf.memKiB < 8 || kdf.memKiB > 1 << 20 || kdf.passes < 1 || kdf.passes > 16) throw new FormatError('E_FORMAT', 'share manifest has bad KDF parameters');
  }
  return { kdf, sealed: bytes.slice(r.offset) };
}

export function sealManifest(p: CryptoPlatform, linkKey: Uint8Array, kdf: LinkKdf | null, manifest: Uint8Array): Uint8Array {
  const mode = new Uint8Array([kdf ? 1 : 0]);
  return encodeEnvelope({ kdf, sealed: sealObject(p, linkKey, AAD_LINK, mode, manifest).bytes });
}

/** E_BAD_PASSWORD when a password was given and the manifest does not open; E_INTEGRITY
 *  when no password was needed (the link key or the server's bytes are wrong). */
export function openManifest(p: CryptoPlatform, linkKey: Uint8Array, env: Envelope): Uint8Array {
  try {
    return openObject(p, linkKey, AAD_LINK, new Uint8Array([env.kdf ? 1 : 0]), env.sealed);
  } catch (e) {
    if (env.kdf && e instanceof MegafsError && e.code === 'E_INTEGRITY') throw new MegafsError('E_BAD_PASSWORD', 'wrong password for this link', { cause: e });
    throw e;
  }
}
