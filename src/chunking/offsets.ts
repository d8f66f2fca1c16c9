// Plaintext offset <-> chunk arithmetic (docs/format.md "Chunks"), in the manner of
// gocryptfs internal/contentenc/offsets.go. Pure: every size is in plaintext bytes and
// chunk i holds plain bytes [i * CHUNK_SIZE, min((i + 1) * CHUNK_SIZE, fileSize)).
import { CHUNK_SIZE } from '../format/constants.js';

export function chunkIndexOf(plainOffset: number, chunkSize = CHUNK_SIZE): number {
  return Math.floor(plainOffset / chunkSize);
}

export function offsetInChunk(plainOffset: number, chunkSize = CHUNK_SIZE): number {
  return plainOffset % chunkSize;
}

/** Index of the chunk holding the file's last byte; -1 for an empty file. */
export function lastChunkIndex(fileSize: number, chunkSize = CHUNK_SIZE): number {
  return fileSize > 0 ? Math.floor((fileSize - 1) / chunkSize) : -1;
}

/** Number of chunk slots (holes included) a file of `fileSize` bytes spans. */
export function chunkCount(fileSize: number, chunkSize = CHUNK_SIZE): number {
  return lastChunkIndex(fileSize, chunkSize) + 1;
}

/** Plain bytes chunk `chunkIndex` holds in a file of `fileSize` bytes (0 past the end). */
export function chunkPlainLength(chunkIndex: number, fileSize: number, chunkSize = CHUNK_SIZE): number {
  const start = chunkIndex * chunkSize;
  if (start >= fileSize) return 0;
  return Math.min(chunkSize, fileSize - start);
}

/** One chunk's share of a byte range. */
export interface ChunkSpan {
  chunkIndex: number;
  /** Where the span starts inside the chunk. */
  offsetInChunk: number;
  /** Where the span starts inside the caller's buffer (0 for the first span). */
  bufferOffset: number;
  length: number;
}

/** Split plain bytes [plainOffset, plainOffset + length) into per-chunk spans, in order. */
export function planRange(plainOffset: number, length: number, chunkSize = CHUNK_SIZE): ChunkSpan[] {
  const spans: ChunkSpan[] = [];
  let done = 0;
  while (done < length) {
    const at = plainOffset + done;
    const inChunk = at % chunkSize;
    const n = Math.min(chunkSize - inChunk, length - done);
    spans.push({ chunkIndex: Math.floor(at / chunkSize), offsetInChunk: inChunk, bufferOffset: done, length: n });
    done += n;
  }
  return spans;
}
