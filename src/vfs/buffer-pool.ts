// Reused buffers the size of a sealed full chunk: the output of sealing a 1 MiB chunk, and
// the whole-chunk reads of cache files (chunk-reader.ts). A fresh 1 MiB array is mmap'ed by glibc
// and costs ~4 ms of page faults on first touch (more than sealing it); a reused one costs
// nothing. Only buffers this pool made or adopted are ever taken back (a WeakSet of their
// ArrayBuffers), so releasing anything else is a no-op. Invariant: a released buffer has
// no other live reference (Drive.persist releases a chunk object once it is on disk and,
// when the uploader needs the bytes, once it is uploaded; the chunk reader once the bytes
// are checked and decrypted).
import { CHUNK_SIZE } from '../format/constants.js';
import { sealedSize } from '../crypto/object.js';

/** Bytes of a sealed full chunk (45 + 1 MiB); the size of every pooled buffer. */
export const SEALED_CHUNK_BYTES = sealedSize(CHUNK_SIZE);
/** Free buffers kept; more are left to the garbage collector. */
const MAX_FREE = 32;

const ours = new WeakSet<ArrayBuffer>();
/** The free list, and the same as a set (a double release must not list a buffer twice). */
const free: ArrayBuffer[] = [];
const isFree = new WeakSet<ArrayBuffer>();

/** A buffer of SEALED_CHUNK_BYTES (contents undefined). */
export function takeSealedBuffer(): Uint8Array {
  let ab = free.pop();
  if (ab) isFree.delete(ab);
  else { ab = new ArrayBuffer(SEALED_CHUNK_BYTES); ours.add(ab); }
  return new Uint8Array(ab);
}

/** Let the pool take back `ab` later (a buffer a worker sealed into and transferred). */
export function adoptSealedBuffer(ab: ArrayBuffer): void {
  if (ab.byteLength === SEALED_CHUNK_BYTES) ours.add(ab);
}

/** Give back the buffer under `bytes` (ignored unless the pool made or adopted it). */
export function releaseSealed(bytes: Uint8Array): void {
  const ab = bytes.buffer;
  if (!(ab instanceof ArrayBuffer) || !ours.has(ab) || isFree.has(ab) || ab.byteLength !== SEALED_CHUNK_BYTES) return;
  if (free.length < MAX_FREE) { free.push(ab); isFree.add(ab); }
}

/** Free buffers held now (tests). */
export function freeSealedBuffers(): number {
  return free.length;
}
