// The FUSE adapter: fuse-native callbacks -> Vfs calls. One wrapper (reply) turns each
// promise into the callback's (result, ...values), and every thrown error into a negative
// errno through errno.ts. Buffers fuse-native hands us point into libfuse's memory for the
// duration of one call: write and setxattr copy them before any await; read fills the
// kernel's buffer in place (no timeout on read, so the buffer outlives the call).
import type { Cb, FuseOps, FuseStat } from 'fuse-native';
import { constants as fsc } from 'node:fs';
import type { Attr, Vfs } from '../vfs/types.js';
import { toErrno } from './errno.js';

/** st_blksize reported for every file: the size cp and friends use for their buffers. */
const BLKSIZE_BYTES = 128 * 1024;
/** libfuse 2.9 passes UTIME_NOW/UTIME_OMIT as tv_sec 0 + a huge tv_nsec; fuse-native turns
 *  that into this many milliseconds. Treated as "now". */
const UTIME_SPECIAL_MS = Math.floor(((1 << 30) - 1) / 1e6);

export function toStat(a: Attr): FuseStat {
  return {
    mode: a.mode, uid: a.uid, gid: a.gid, size: a.size, nlink: a.nlink, ino: a.ino,
    blocks: a.blocks, blksize: BLKSIZE_BYTES, atime: a.atimeMs, mtime: a.mtimeMs, ctime: a.ctimeMs,
  };
}

/** Copies of write buffers come from a small free list of 128 KiB blocks: freshly
 *  allocated memory costs a page fault per 4 KiB (0.15 ms per 128 KiB here, more than the
 *  copy itself). A block returns to the list when the vfs call settles. */
const BLOCK_BYTES = 128 * 1024;
const FREE_BLOCKS_MAX = 64;
const freeBlocks: Buffer[] = [];

function copyOf(buf: Buffer, length: number): Buffer {
  const block = length <= BLOCK_BYTES ? (freeBlocks.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES)) : Buffer.allocUnsafeSlow(length);
  buf.copy(block, 0, 0, length);
  return block.subarray(0, length);
}

function recycle(copy: Buffer): void {
  if (copy.buffer.byteLength === BLOCK_BYTES && freeBlocks.length < FREE_BLOCKS_MAX) {
    freeBlocks.push(Buffer.from(copy.buffer, 0, BLOCK_BYTES));
  }
}

function timeMs(ms: number): number {
  return ms === UTIME_SPECIAL_MS ? Date.now() : ms;
}

/** The fuse-native operations object for `vfs`. `log` receives one line per unexpected error. */
export function fuseOps(vfs: Vfs, log: (line: string) => void): FuseOps {
  /** Settle `cb` from `work`: ok(value) gives the callback arguments (default: 0). */
  function reply<T>(cb: Cb, work: () => Promise<T>, ok: (v: T) => [number, ...unknown[]]): void {
    let p: Promise<T>;
    try {
      p = work();
    } catch (err) {
      cb(toErrno(err, log));
      return;
    }
    p.then((v) => cb(...ok(v)), (err: unknown) => cb(toErrno(err, log)));
  }
  const done = (): [number] => [0];

  return {
    getattr: (path: string, cb: Cb) => reply(cb, () => vfs.getattr(path), (a) => [0, toStat(a)]),
    readdir: (path: string, cb: Cb) => reply(cb, async () => {
      const [self, entries] = await Promise.all([vfs.getattr(path), vfs.readdir(path)]);
      const names = ['.', '..'];
      const stats = [toStat(self), toStat(self)];
      for (const e of entries) {
        names.push(e.name);
        stats.push(toStat(e.attr));
      }
      return { names, stats };
    }, (r) => [0, r.names, r.stats]),
    open: (path: string, flags: number, cb: Cb) => reply(cb, () => vfs.open(path, flags), (fh) => [0, fh]),
    create: (path: string, mode: number, cb: Cb) =>
      reply(cb, () => vfs.create(path, mode, fsc.O_RDWR | fsc.O_CREAT), (fh) => [0, fh]),
    read: (_path: string, fh: number, buf: Buffer, length: number, position: number, cb: Cb) =>
      reply(cb, () => vfs.read(fh, buf, length, position), (n) => [n]),
    write: (_path: string, fh: number, buf: Buffer, length: number, position: number, cb: Cb) => {
      const data = copyOf(buf, length); // libfuse reuses buf once we answer
      reply(cb, () => vfs.write(fh, data, position).finally(() => recycle(data)), (n) => [n]);
    },
    flush: (_path: string, fh: number, cb: Cb) => reply(cb, () => vfs.flush(fh), done),
    fsync: (_path: string, datasync: number, fh: number, cb: Cb) =>
      reply(cb, () => vfs.fsync(fh, datasync !== 0), done),
    // A directory fsync (after a rename, say) asks for the tree itself to be durable.
    fsyncdir: (_path: string, _datasync: number, _fh: number, cb: Cb) => reply(cb, () => vfs.sync(), done),
    release: (_path: string, fh: number, cb: Cb) => reply(cb, () => vfs.release(fh), done),
    truncate: (path: string, size: number, cb: Cb) => reply(cb, () => vfs.truncate(path, size), done),
    ftruncate: (_path: string, fh: number, size: number, cb: Cb) => reply(cb, () => vfs.ftruncate(fh, size), done),
    unlink: (path: string, cb: Cb) => reply(cb, () => vfs.unlink(path), done),
    mkdir: (path: string, mode: number, cb: Cb) => reply(cb, () => vfs.mkdir(path, mode), done),
    rmdir: (path: string, cb: Cb) => reply(cb, () => vfs.rmdir(path), done),
    rename: (from: string, to: string, cb: Cb) => reply(cb, () => vfs.rename(from, to), done),
    symlink: (target: string, path: string, cb: Cb) => reply(cb, () => vfs.symlink(target, path), done),
    readlink: (path: string, cb: Cb) => reply(cb, () => vfs.readlink(path), (t) => [0, t]),
    link: (from: string, to: string, cb: Cb) => reply(cb, () => vfs.link(from, to), done),
    chmod: (path: string, mode: number, cb: Cb) => reply(cb, () => vfs.chmod(path, mode), done),
    chown: (path: string, uid: number, gid: number, cb: Cb) => reply(cb, () => vfs.chown(path, uid, gid), done),
    utimens: (path: string, atimeMs: number, mtimeMs: number, cb: Cb) =>
      reply(cb, () => vfs.utimens(path, timeMs(atimeMs), timeMs(mtimeMs)), done),
    setxattr: (path: string, name: string, value: Buffer, _position: number, flags: number, cb: Cb) => {
      const copy = copyOf(value, value.length);
      reply(cb, () => vfs.setxattr(path, name, copy, flags), done);
    },
    getxattr: (path: string, name: string, _position: number, cb: Cb) =>
      reply(cb, () => vfs.getxattr(path, name), (v) => [0, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]),
    listxattr: (path: string, cb: Cb) => reply(cb, () => vfs.listxattr(path), (names) => [0, names]),
    removexattr: (path: string, name: string, cb: Cb) => reply(cb, () => vfs.removexattr(path, name), done),
    statfs: (_path: string, cb: Cb) => reply(cb, () => vfs.statfs(), (s) => [0, s]),
  };
}
