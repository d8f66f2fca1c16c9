// Share links (docs/format.md "Links"): `<base>/s/<id>#<fragment>`, where
//   id       = base64url(16 random bytes)                       (22 chars; the server's name for the share)
//   fragment = '1' || flags || base64url(linkSecret[32]) [|| mem || passes]
//   flags    = one base64url digit, bit 0 = a password is needed  ('A' none, 'B' password)
//   mem      = base64url digit m: Argon2id memory is 2^m KiB      (present only with a password)
//   passes   = base64url digit: Argon2id passes
// Browsers never send the fragment, so the server sees only the id. Pure codec, no crypto.
import { MegafsError } from '../errors.js';

export const LINK_VERSION_CHAR = '1';
export const LINK_ID_BYTES = 16;
export const LINK_SECRET_BYTES = 32;
const FLAG_PASSWORD = 1;

/** Argon2id cost of a link password: memory 2^memLog2 KiB, `passes` passes, 1 lane. */
export interface LinkKdf {
  memLog2: number;
  passes: number;
}
/** Default link password cost: 64 MiB, 3 passes (as the drive password). */
export const DEFAULT_LINK_KDF: LinkKdf = { memLog2: 16, passes: 3 };
const MEM_LOG2_MIN = 3;
const MEM_LOG2_MAX = 20; // 1 GiB: a hostile link must not make the reader allocate more
const PASSES_MAX = 16;

export interface ShareLink {
  /** Everything before "/s/": "https://host[:port][/prefix]". */
  base: string;
  /** base64url, 22 characters: what the server stores and serves. */
  id: string;
  /** 32 random bytes: only the fragment holds them. */
  secret: Uint8Array;
  /** Present when the link needs a password, with the Argon2id cost. */
  passwordKdf?: LinkKdf;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) { out += B64URL[(acc >>> (bits - 6)) & 63]; bits -= 6; }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B64URL[(acc << (6 - bits)) & 63];
  return out;
}

/** Strict: unpadded, canonical (unused low bits zero), exactly `length` bytes. */
export function fromBase64Url(text: string, length: number, what: string): Uint8Array {
  if (text.length !== Math.ceil((length * 8) / 6)) throw badLink(`${what} has ${text.length} characters, expected ${Math.ceil((length * 8) / 6)}`);
  const out = new Uint8Array(length);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (const ch of text) {
    const v = B64URL.indexOf(ch);
    if (v < 0) throw badLink(`${what} has an invalid character '${ch}'`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) { out[n++] = (acc >>> (bits - 8)) & 0xff; bits -= 8; acc &= (1 << bits) - 1; }
  }
  if (acc !== 0) throw badLink(`${what} is not canonical base64url`);
  return out;
}

function badLink(detail: string): MegafsError {
  return new MegafsError('E_BAD_LINK', `bad share link: ${detail}`);
}

function digit(v: number): string {
  return B64URL[v];
}

export function formatLink(link: ShareLink): string {
  if (link.secret.length !== LINK_SECRET_BYTES) throw new Error('BUG: link secret must be 32 bytes');
  fromBase64Url(link.id, LINK_ID_BYTES, 'link id');
  let fragment = LINK_VERSION_CHAR + digit(link.passwordKdf ? FLAG_PASSWORD : 0) + toBase64Url(link.secret);
  if (link.passwordKdf) {
    checkKdf(link.passwordKdf);
    fragment += digit(link.passwordKdf.memLog2) + digit(link.passwordKdf.passes);
  }
  return `${link.base.replace(/\/+$/, '')}/s/${link.id}#${fragment}`;
}

function checkKdf(k: LinkKdf): void {
  if (!Number.isInteger(k.memLog2) || k.memLog2 < MEM_LOG2_MIN || k.memLog2 > MEM_LOG2_MAX ||
      !Number.isInteger(k.passes) || k.passes < 1 || k.passes > PASSES_MAX) {
    throw badLink('password cost is out of range');
  }
}

/** Parse a link; E_BAD_LINK with a message saying what is wrong. */
export function parseLink(text: string): ShareLink {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw badLink('not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badLink(`unsupported scheme ${url.protocol}`);
  const m = /^(.*)\/s\/([^/]+)$/.exec(url.pathname);
  if (!m) throw badLink('the path does not end in /s/<id>');
  fromBase64Url(m[2], LINK_ID_BYTES, 'link id');
  const fragment = url.hash.replace(/^#/, '');
  if (fragment === '') throw badLink('the part after # (the key) is missing; copy the whole link');
  if (fragment[0] !== LINK_VERSION_CHAR) throw badLink(`link version '${fragment[0]}' is not supported by this megafs`);
  const flags = B64URL.indexOf(fragment[1] ?? '');
  if (flags < 0 || (flags & ~FLAG_PASSWORD) !== 0) throw badLink('unknown link flags');
  const secretChars = Math.ceil((LINK_SECRET_BYTES * 8) / 6);
  const expected = 2 + secretChars + (flags & FLAG_PASSWORD ? 2 : 0);
  if (fragment.length !== expected) throw badLink(`the key has ${fragment.length} characters, expected ${expected} (cut short, or extra characters pasted after it?)`);
  const link: ShareLink = {
    base: `${url.protocol}//${url.host}${m[1]}`,
    id: m[2],
    secret: fromBase64Url(fragment.slice(2, 2 + secretChars), LINK_SECRET_BYTES, 'link key'),
  };
  if (flags & FLAG_PASSWORD) {
    link.passwordKdf = { memLog2: B64URL.indexOf(fragment[expected - 2]), passes: B64URL.indexOf(fragment[expected - 1]) };
    checkKdf(link.passwordKdf);
  }
  return link;
}
