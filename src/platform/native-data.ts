// native/data (megafs_data.node, built by scripts/build-native.sh): ChaCha20-Poly1305
// and SHA-256 from node's own OpenSSL, writing into the caller's buffers, optionally on
// libuv's thread pool; huge-page buffers; page-cache reads that never block.
// node:crypto allocates every output (update() returns a fresh Buffer): on this kind of
// VM the page faults and garbage collections that follow cost more than the cipher
// (docs/design.md "Write path performance"). Optional: when the
// module is not built or does not load, or MEGAFS_NATIVE_DATA=0, node.ts uses node:crypto
// and the vfs plain node:fs.
import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';
import { findNativeModule } from './native-module.js';

export type NativeDone = (result: number) => void;

/** The error a native job's -errno result stands for, as node:fs would give it
 *  (`code` and `errno` set): "WHAT: CODE". */
export function errnoError(result: number, what: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(result);
  return Object.assign(new Error(`${what}: ${code}`), { code, errno: result });
}

export interface NativeData {
  /** out[cipherOffset..] = ChaCha20-Poly1305(key, nonce12, aad; prefix || payload ||
   *  zeros(padBytes)) || tag; idOut (32 bytes, or empty: none) = SHA-256 of out up to the
   *  tag's end. With `done`, on the thread pool: done(0) or done(-1) later. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, prefix: Uint8Array, payload: Uint8Array, padBytes: number,
    out: Uint8Array, cipherOffset: number, idOut: Uint8Array, done?: NativeDone): number;
  /** 0 opened into out; 1 SHA-256(object) is not expectedId; 2 authentication failed (out
   *  zeroed). With `done`, on the thread pool. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, object: Uint8Array, cipherOffset: number, out: Uint8Array,
    expectedId: Uint8Array | null, done?: NativeDone): number;
  /** Raw ChaCha20, iv = u32le counter || nonce12. */
  chacha20(key: Uint8Array, iv: Uint8Array, input: Uint8Array, out: Uint8Array): number;
  /** out = SHA-256(data): 0, or -1. `data` may be an array of buffers (hashed in order,
   *  never joined). With `done`, on the thread pool. */
  sha256(data: Uint8Array | readonly Uint8Array[], out: Uint8Array, done?: NativeDone): number;
  /** `count` zeroed ArrayBuffers of `bytes` each from one mapping that asks for
   *  transparent huge pages (far fewer page faults; see native/data). */
  hugeBuffers(count: number, bytes: number): ArrayBuffer[];
  /** hugeBuffers mapped and faulted in on the thread pool (the kernel zeroes the pages
   *  there): done(buffers), or done(null) when the memory could not be had. */
  hugeBuffersAsync(count: number, bytes: number, done: (buffers: ArrayBuffer[] | null) => void): void;
  /** pread that never waits for the disk (preadv2 RWF_NOWAIT): bytes read, 0 at the end
   *  of the file, or -errno (-EAGAIN: not all in the page cache; read it on the pool). */
  preadCached(fd: number, buf: Uint8Array, position: number): number;
  /** posix_fadvise(WILLNEED) of the whole file, on the thread pool; done(0 | -1). The
   *  caller keeps `fd` open until done runs. */
  willNeed(fd: number, done: NativeDone): number;
  /** pwrite all of `bytes` at `position` on the thread pool, then start the disk write of
   *  the file's dirty pages (sync_file_range WRITE, no wait); done(0 | -errno). */
  writeOut(fd: number, bytes: Uint8Array, position: number, done: NativeDone): number;
  /** syncfs(2) of the file system holding `fd`, on the thread pool: done(0 | -errno). */
  syncFs(fd: number, done: NativeDone): number;
  /** open, fstat and read all of the file at `path` into `buf`, on the thread pool:
   *  done(size) or done(-errno); -EFBIG when the file is bigger than `buf`. */
  readFile(path: string, buf: Uint8Array, done: NativeDone): number;
  /** glibc: allocations up to 16 MiB from the heap, freed heap kept (process-wide). */
  keepHeap(): boolean;
}

function load(): NativeData | null {
  if (process.env.MEGAFS_NATIVE_DATA === '0') return null;
  const file = findNativeModule('data/build/Release/megafs_data.node');
  if (!file) return null;
  try {
    return createRequire(import.meta.url)(file) as NativeData;
  } catch {
    return null; // a module built for another node: node:crypto serves
  }
}

/** The module, or null (then everything runs on node:crypto). */
export const nativeData: NativeData | null = load();
