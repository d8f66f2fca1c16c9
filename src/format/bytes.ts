// Little-endian byte writer and reader for the binary layouts of docs/format.md.
// The reader throws E_FORMAT on any overrun, so a bad object never reads past its end.
import { FormatError } from '../errors.js';

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }
  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): this { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; return this; }
  u32(v: number): this { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; return this; }
  u64(v: bigint | number): this { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; return this; }
  /** Unsigned LEB128, for numbers up to 2^53. */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`bad varint ${v}`);
    while (v >= 0x80) { this.u8((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
    return this.u8(v);
  }
  raw(bytes: Uint8Array): this { this.reserve(bytes.length); this.buf.set(bytes, this.length); this.length += bytes.length; return this; }
  /** varint length || bytes */
  bytes(bytes: Uint8Array): this { return this.varint(bytes.length).raw(bytes); }
  finish(): Uint8Array { return this.buf.slice(0, this.length); }
}

export class ByteReader {
  private view: DataView;
  offset = 0;
  constructor(private readonly buf: Uint8Array, private readonly what = 'object') {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new FormatError('E_FORMAT', `${this.what} is truncated`);
  }
  get remaining(): number { return this.buf.length - this.offset; }
  u8(): number { this.need(1); return this.view.getUint8(this.offset++); }
  u32(): number { this.need(4); const v = this.view.getUint32(this.offset, true); this.offset += 4; return v; }
  u64(): bigint { this.need(8); const v = this.view.getBigUint64(this.offset, true); this.offset += 8; return v; }
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
    }
    throw new FormatError('E_FORMAT', `${this.what} has an overlong varint`);
  }
  raw(n: number): Uint8Array { this.need(n); const v = this.buf.subarray(this.offset, this.offset + n); this.offset += n; return v; }
  bytes(): Uint8Array { return this.raw(this.varint()); }
  end(): void {
    if (this.offset !== this.buf.length) throw new FormatError('E_FORMAT', `${this.what} has trailing bytes`);
  }
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new FormatError('E_FORMAT', 'bad hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const encoder = new TextEncoder();
export const utf8 = (s: string): Uint8Array => encoder.encode(s);

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array {
  let s: string;
  try { s = atob(b64); } catch (cause) { throw new FormatError('E_FORMAT', 'bad base64', { cause }); }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
