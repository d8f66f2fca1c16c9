// Encoders for the kernel's FUSE reply structs (include/uapi/linux/fuse.h, protocol 7.x,
// little-endian), written into a caller's buffer and sent as-is by native reply().
// Encoding here keeps the C side to one reply function and one N-API call per request.
import type { Attr, StatFs } from '../../vfs/types.js';

/** st_blksize reported for every file: cp and friends size their buffers by it. */
const BLKSIZE_BYTES = 1024 * 1024;
export const FATTR_BYTES = 88;
export const ENTRY_OUT_BYTES = 40 + FATTR_BYTES; // 128
export const ATTR_OUT_BYTES = 16 + FATTR_BYTES; // 104
export const OPEN_OUT_BYTES = 16;
export const STATFS_OUT_BYTES = 80;
const DIRENT_HEAD_BYTES = 24;

/** fuse_open_out.open_flags */
export const FOPEN_DIRECT_IO = 1;
export const FOPEN_KEEP_CACHE = 2;

const TWO32 = 2 ** 32;

function u64(b: Buffer, at: number, v: number): void {
  b.writeUInt32LE(v % TWO32, at);
  b.writeUInt32LE(Math.floor(v / TWO32), at + 4);
}

/** Seconds and nanoseconds of a millisecond time (negative times clamp to 0). */
function time(b: Buffer, secAt: number, nsecAt: number, ms: number): void {
  const t = ms > 0 ? ms : 0;
  const sec = Math.floor(t / 1000);
  u64(b, secAt, sec);
  b.writeUInt32LE(Math.min(999_999_999, Math.round((t - sec * 1000) * 1e6)), nsecAt);
}

/** struct fuse_attr (88 bytes) at `at`. */
export function fattr(b: Buffer, at: number, a: Attr): void {
  u64(b, at, a.ino);
  u64(b, at + 8, a.size);
  u64(b, at + 16, a.blocks);
  time(b, at + 24, at + 48, a.atimeMs);
  time(b, at + 32, at + 52, a.mtimeMs);
  time(b, at + 40, at + 56, a.ctimeMs);
  b.writeUInt32LE(a.mode >>> 0, at + 60);
  b.writeUInt32LE(a.nlink >>> 0, at + 64);
  b.writeUInt32LE(a.uid >>> 0, at + 68);
  b.writeUInt32LE(a.gid >>> 0, at + 72);
  b.writeUInt32LE(0, at + 76); // rdev
  b.writeUInt32LE(BLKSIZE_BYTES, at + 80);
  b.writeUInt32LE(0, at + 84); // flags
}

/** struct fuse_entry_out (128 bytes) at `at`: nodeid 0 with a timeout is a cached ENOENT. */
export function entryOut(b: Buffer, at: number, nodeid: number, a: Attr | null, ttlS: number): void {
  u64(b, at, nodeid);
  u64(b, at + 8, 0); // generation: node ids are never reused
  const sec = Math.floor(ttlS);
  const nsec = Math.round((ttlS - sec) * 1e9);
  u64(b, at + 16, sec);
  u64(b, at + 24, a ? sec : 0);
  b.writeUInt32LE(nsec, at + 32);
  b.writeUInt32LE(a ? nsec : 0, at + 36);
  if (a) fattr(b, at + 40, a);
  else b.fill(0, at + 40, at + ENTRY_OUT_BYTES);
}

/** struct fuse_attr_out (104 bytes). */
export function attrOut(b: Buffer, a: Attr, ttlS: number): number {
  const sec = Math.floor(ttlS);
  u64(b, 0, sec);
  b.writeUInt32LE(Math.round((ttlS - sec) * 1e9), 8);
  b.writeUInt32LE(0, 12);
  fattr(b, 16, a);
  return ATTR_OUT_BYTES;
}

/** struct fuse_open_out (16 bytes) at `at`. */
export function openOut(b: Buffer, at: number, fh: number, flags: number): void {
  u64(b, at, fh);
  b.writeUInt32LE(flags, at + 8);
  b.writeUInt32LE(0, at + 12);
}

/** struct fuse_write_out / fuse_getxattr_out (8 bytes): a 32-bit count and padding. */
export function countOut(b: Buffer, count: number): number {
  b.writeUInt32LE(count >>> 0, 0);
  b.writeUInt32LE(0, 4);
  return 8;
}

/** struct fuse_statfs_out (80 bytes). */
export function statfsOut(b: Buffer, s: StatFs): number {
  u64(b, 0, s.blocks);
  u64(b, 8, s.bfree);
  u64(b, 16, s.bavail);
  u64(b, 24, s.files);
  u64(b, 32, s.ffree);
  b.writeUInt32LE(s.bsize, 40);
  b.writeUInt32LE(s.namemax, 44);
  b.writeUInt32LE(s.frsize, 48);
  b.fill(0, 52, STATFS_OUT_BYTES);
  return STATFS_OUT_BYTES;
}

/** Bytes one readdir (plus: readdirplus) record of an `nameBytes`-byte name takes. */
export function direntBytes(nameBytes: number, plus: boolean): number {
  return ((plus ? ENTRY_OUT_BYTES : 0) + DIRENT_HEAD_BYTES + nameBytes + 7) & ~7;
}

/** struct fuse_dirent (after a fuse_entry_out when plus) at `at`; returns its length.
 *  `off` is the offset the kernel passes back to continue after this entry. */
export function dirent(b: Buffer, at: number, name: Buffer, ino: number, mode: number, off: number,
  plus: { nodeid: number; attr: Attr; ttlS: number } | null): number {
  const len = direntBytes(name.length, plus !== null);
  let p = at;
  if (plus) {
    if (plus.nodeid) entryOut(b, p, plus.nodeid, plus.attr, plus.ttlS);
    else b.fill(0, p, p + ENTRY_OUT_BYTES);
    p += ENTRY_OUT_BYTES;
  }
  u64(b, p, ino);
  u64(b, p + 8, off);
  b.writeUInt32LE(name.length, p + 16);
  b.writeUInt32LE((mode >>> 12) & 0o17, p + 20); // DT_* = S_IFMT >> 12
  name.copy(b, p + DIRENT_HEAD_BYTES);
  b.fill(0, p + DIRENT_HEAD_BYTES + name.length, at + len);
  return len;
}
