// How this process's C heap treats big buffers. glibc gives each allocation over its mmap
// threshold (128 KiB at first) its own mapping and returns freed heap to the kernel, so
// each fresh 1 MiB Buffer (a chunk, an HTTP body, a FUSE request's copy) page-faults all
// its pages in again: ~4 ms per MiB on the paravirtualised VMs megafs runs on, more than
// sealing it. With native/data loaded, keepHeap() keeps allocations up to 16 MiB on the
// heap and freed heap for reuse (measured in the store bench: a GET through HttpStore
// cost the client 1.9 ms of CPU per MiB without it and 0.9 with it).
// MEGAFS_KEEP_HEAP=0 leaves glibc's defaults.
import { nativeData } from './native-data.js';

let done = false;

/** Called once per process by the CLI (and the benchmarks, which stand for it). */
export function keepFreedHeap(): void {
  if (done) return;
  done = true;
  if (process.env.MEGAFS_KEEP_HEAP !== '0') nativeData?.keepHeap();
}
