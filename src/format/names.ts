// Names are bytes (docs/format.md "Format version 2", 1.): any 1..255 bytes without NUL
// or '/'. Inside megafs a name (and a symlink target, an xattr name) is a JS string under
// one bijection, Python's surrogateescape: well-formed UTF-8 decodes as usual, each byte
// of an ill-formed sequence becomes the lone surrogate U+DC00 + byte (U+DC80..U+DCFF).
// Only canonical strings (decode(encode(s)) === s) are names, so bytes <-> string is
// one-to-one and string equality is byte equality. Pure: the browser page bundles it.
import { FormatError } from '../errors.js';
import { NAME_MAX_BYTES } from './constants.js';

/** Longest symlink target in bytes (PATH_MAX less its NUL). */
export const TARGET_MAX_BYTES = 4095;
const ESCAPE_BASE = 0xdc00;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
/** Any UTF-16 surrogate: strings without one are well-formed and encode as plain UTF-8. */
const SURROGATE = /[\ud800-\udfff]/;
/** Strings of ASCII only: the common case, the same as bytes and as latin1. */
const ASCII = /^[\x00-\x7f]*$/;

/** Length of the well-formed UTF-8 sequence starting at b[i] (Unicode §3.9 table 3-7), or 0. */
function sequenceLength(b: Uint8Array, i: number): number {
  const b0 = b[i];
  if (b0 < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => i + j < b.length && b[i + j] >= lo && b[i + j] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const ok1 = b0 === 0xe0 ? cont(1, 0xa0) : b0 === 0xed ? cont(1, 0x80, 0x9f) : cont(1);
    return ok1 && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const ok1 = b0 === 0xf0 ? cont(1, 0x90) : b0 === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);
    return ok1 && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** The string of a byte string (never fails). Escaping byte by byte equals escaping each
 *  maximal ill-formed subpart: a continuation byte never starts a sequence. */
export function decodeName(bytes: Uint8Array): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    let out = '';
    for (let i = 0; i < bytes.length;) {
      const n = sequenceLength(bytes, i);
      if (n === 0) { out += String.fromCharCode(ESCAPE_BASE + bytes[i]); i++; continue; }
      out += utf8Strict.decode(bytes.subarray(i, i + n));
      i += n;
    }
    return out;
  }
}

/** The bytes of a string; EINVAL unless it is canonical (the image of some bytes). */
export function encodeName(s: string): Uint8Array {
  if (!SURROGATE.test(s)) return encoder.encode(s);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        for (const b of encoder.encode(s.slice(i, i + 2))) out.push(b);
        i++;
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) { out.push(c - ESCAPE_BASE); continue; }
    if (c >= 0xd800 && c <= 0xdfff) throw new FormatError('EINVAL', `name holds a lone surrogate U+${c.toString(16).toUpperCase()}`);
    for (const b of encoder.encode(s[i])) out.push(b);
  }
  const bytes = Uint8Array.from(out);
  if (decodeName(bytes) !== s) throw new FormatError('EINVAL', 'name escapes bytes that are well-formed UTF-8');
  return bytes;
}

/** Whether these bytes are well-formed UTF-8 (the name is then an ordinary string). */
export function isUtf8(bytes: Uint8Array): boolean {
  try { utf8Strict.decode(bytes); return true; } catch { return false; }
}

/** The bytes of one path component, checked: ENAMETOOLONG past 255 bytes, EINVAL for
 *  empty, `.`, `..`, NUL, '/' or a string that is no name. */
export function nameBytes(name: string): Uint8Array {
  const b = encodeName(name);
  if (b.length > NAME_MAX_BYTES) throw new FormatError('ENAMETOOLONG', `name of ${b.length} bytes`);
  if (b.length === 0 || name === '.' || name === '..' || b.includes(0) || b.includes(0x2f)) {
    throw new FormatError('EINVAL', 'bad name');
  }
  return b;
}

/** The bytes of a symlink target: 1..4095 bytes without NUL ('/' allowed). */
export function targetBytes(target: string): Uint8Array {
  const b = encodeName(target);
  if (b.length > TARGET_MAX_BYTES) throw new FormatError('ENAMETOOLONG', `symlink target of ${b.length} bytes`);
  if (b.length === 0 || b.includes(0)) throw new FormatError('EINVAL', 'bad symlink target');
  return b;
}

/** The bytes of an xattr name: 1..255 bytes without NUL. */
export function xattrNameBytes(name: string): Uint8Array {
  const b = encodeName(name);
  if (b.length > NAME_MAX_BYTES) throw new FormatError('ERANGE', `xattr name of ${b.length} bytes`);
  if (b.length === 0 || b.includes(0)) throw new FormatError('EINVAL', 'bad xattr name');
  return b;
}

/** Unsigned byte order, a proper prefix first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Names in byte order (what v2 directories store). */
export function compareNames(a: string, b: string): number {
  return compareBytes(encodeName(a), encodeName(b));
}

/** A kernel name given as latin1 (one char per byte, as the native binding passes them)
 *  to its string. ASCII is the same string. */
export function nameFromLatin1(s: string): string {
  if (ASCII.test(s)) return s;
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return decodeName(b);
}

/** The latin1 form of a name's bytes (the native binding's way of passing bytes). */
export function nameToLatin1(name: string): string {
  if (ASCII.test(name)) return name;
  let s = '';
  for (const b of encodeName(name)) s += String.fromCharCode(b);
  return s;
}

/** A name for people: printable UTF-8 as is; each byte that is not UTF-8, each control
 *  character (C0, DEL, C1) and the backslash as \xHH (backslash: \\). parseEscapedName
 *  reads it back, so `megafs ls` output can be pasted into `megafs rm`. */
export function escapeName(name: string): string {
  let out = '';
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c === 0x5c) out += '\\\\';
    else if (c >= 0xdc80 && c <= 0xdcff) out += `\\x${(c - ESCAPE_BASE).toString(16).padStart(2, '0')}`;
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
      for (const b of encoder.encode(ch)) out += `\\x${b.toString(16).padStart(2, '0')}`;
    } else out += ch;
  }
  return out;
}

/** The inverse of escapeName: `\xHH` is a byte, `\\` a backslash, anything else itself. */
export function parseEscapedName(text: string): string {
  if (!text.includes('\\')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length;) {
    const hex = text[i] === '\\' && text[i + 1] === 'x' ? /^[0-9a-fA-F]{2}$/.exec(text.slice(i + 2, i + 4)) : null;
    if (hex) { bytes.push(parseInt(hex[0], 16)); i += 4; continue; }
    if (text[i] === '\\' && text[i + 1] === '\\') { bytes.push(0x5c); i += 2; continue; }
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    for (const b of encodeName(ch)) bytes.push(b);
    i += ch.length;
  }
  return decodeName(Uint8Array.from(bytes));
}
