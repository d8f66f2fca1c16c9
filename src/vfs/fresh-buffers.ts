// Chunk buffers for written data (a write becomes a dirty buffer). A fresh 1 MiB array
// costs ~4 ms of page faults on first touch on this kind of VM (a paravirtualised guest:
// ~15 µs per 4 KiB fault), more than sealing it. So, in order:
// 1. recycled buffers: a dirty buffer sealed and not kept in the memory cache (the mount
//    daemon keeps none: the kernel page cache holds what was written) comes back here;
// 2. with native/data, huge-page memory (hugeBuffers: two chunks per 2 MiB page, one fault
//    for both instead of 512), mapped and faulted in ahead on the thread pool
//    (hugeBuffersAsync), so the kernel's zeroing of fresh pages (17 % of a Vfs API write
//    profile, all of it on the main thread) runs beside the writer, not in its way;
// 3. without it, pre-faulted buffers: a helper thread allocates and touches buffers ahead
//    and transfers them here (a transfer moves the memory, already mapped), so the writer
//    only pays a copy into warm memory. The thread is unref'ed: it never keeps the process
//    up. MEGAFS_PREFAULT=0 turns it off;
// 4. plain allocation (no worker threads, or nothing ready).
import { Worker } from 'node:worker_threads';
import { CHUNK_SIZE } from '../format/constants.js';
import { nativeData, type NativeData } from '../platform/native-data.js';

/** Kept buffers go back to the garbage collector after this long without a take. */
const IDLE_MS = 5000;

/** Runs `trim` once IDLE_MS have passed since the last used(), checking after arm(). */
class IdleTrim {
  private lastUseMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly trim: () => void) {}

  used(): void {
    this.lastUseMs = Date.now();
  }

  arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (Date.now() - this.lastUseMs < IDLE_MS) this.arm();
      else this.trim();
    }, IDLE_MS);
    this.timer.unref();
  }
}

/** Fresh huge-page buffers of one size (native/data), faulted in ahead on the thread pool:
 *  when fewer than LOW are ready, a batch of BATCH more is asked for. When none is ready a
 *  batch is made here (its pages then fault in on this thread as they are written). Ready
 *  buffers go back to the garbage collector after IDLE_MS without a take. */
class HugeStock {
  private static readonly BATCH = 16;
  private static readonly LOW = 8;
  private readonly ready: ArrayBuffer[] = [];
  private asking = false;
  private readonly idle = new IdleTrim(() => { this.ready.length = 0; });

  constructor(private readonly bytes: number) {}

  take(native: NativeData): ArrayBuffer {
    this.idle.used();
    if (this.ready.length === 0) this.ready.push(...native.hugeBuffers(HugeStock.BATCH / 2, this.bytes));
    const b = this.ready.pop()!;
    if (this.ready.length < HugeStock.LOW && !this.asking) {
      this.asking = true;
      native.hugeBuffersAsync(HugeStock.BATCH, this.bytes, (bufs) => {
        this.asking = false;
        if (bufs) this.ready.push(...bufs);
      });
    }
    this.idle.arm();
    return b;
  }
}

const hugeChunks = new HugeStock(CHUNK_SIZE);

/** Buffers kept ready, and the level under which more are asked for. */
const STOCK = 16;
const LOW = 8;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ count, bytes }) => {
  const out = [];
  for (let i = 0; i < count; i++) {
    const ab = new ArrayBuffer(bytes);
    const u8 = new Uint8Array(ab);
    for (let o = 0; o < bytes; o += 4096) u8[o] = 0; // a write per page maps it
    out.push(ab);
  }
  parentPort.postMessage(out, out);
});`;

const stock: ArrayBuffer[] = [];
let worker: Worker | null | undefined;
let asking = false;

function refill(): void {
  if (asking || stock.length >= LOW || worker === null) return;
  if (worker === undefined) {
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      worker.on('message', (bufs: ArrayBuffer[]) => {
        asking = false;
        for (const ab of bufs) if (stock.length < STOCK && ab.byteLength === CHUNK_SIZE) stock.push(ab);
      });
      const off = (): void => { worker = null; asking = false; };
      worker.on('error', off);
      worker.on('exit', off);
      // After the listeners: adding a 'message' listener refs the worker's port again.
      worker.unref();
    } catch {
      worker = null; // no worker threads: plain allocation from now on
      return;
    }
  }
  asking = true;
  worker.postMessage({ count: STOCK - stock.length, bytes: CHUNK_SIZE });
}

/** Chunk buffers given back (recycleChunkBuffer), contents stale; used before `stock`.
 *  Up to MAX_RECYCLED: a mount's kernel keeps up to 64 writes of 1 MiB in flight (native
 *  binding's max_background), each holding a private copy while it waits for the file.
 *  After IDLE_MS without a take, all but IDLE_KEEP go back to the garbage collector. */
const recycled: ArrayBuffer[] = [];
const isRecycled = new WeakSet<ArrayBuffer>();
const MAX_RECYCLED = 80;
const IDLE_KEEP = 8;
const recycledIdle = new IdleTrim(() => {
  while (recycled.length > IDLE_KEEP) isRecycled.delete(recycled.pop()!);
});

/** A chunk-sized array for data the caller keeps, contents undefined: a recycled one, else
 *  a pre-faulted one, else a fresh one. MEGAFS_PREFAULT=0 turns the helper off. */
function chunkBuffer(): { bytes: Uint8Array; dirty: boolean } {
  recycledIdle.used();
  const old = recycled.pop();
  if (old) {
    isRecycled.delete(old);
    return { bytes: new Uint8Array(old), dirty: true };
  }
  if (nativeData) {
    // Huge-page memory: two chunks per 2 MiB page, faulted in ahead on the pool.
    return { bytes: new Uint8Array(hugeChunks.take(nativeData)), dirty: false };
  }
  if (process.env.MEGAFS_PREFAULT === '0') return { bytes: new Uint8Array(CHUNK_SIZE), dirty: false };
  const ab = stock.pop();
  refill();
  return { bytes: ab ? new Uint8Array(ab) : new Uint8Array(CHUNK_SIZE), dirty: false };
}

/** A zeroed array of `bytes` for data the caller keeps (recycled or pre-faulted memory
 *  when `bytes` is a full chunk). */
export function freshBuffer(bytes: number): Uint8Array {
  if (bytes !== CHUNK_SIZE) return new Uint8Array(bytes);
  const b = chunkBuffer();
  if (b.dirty) b.bytes.fill(0);
  return b.bytes;
}

/** Opened chunks: a full chunk opens to CHUNK_SIZE plus the payload's 4-byte length
 *  prefix, so these come from their own huge-page batches, a page's worth bigger. */
const OPENED_BYTES = CHUNK_SIZE + 4096;
const hugeOpened = new HugeStock(OPENED_BYTES);

/** An array of at least `bytes` to open a chunk into, kept by the caller (the memory
 *  cache): huge-page memory with native/data when `bytes` fits OPENED_BYTES, else
 *  `undefined` (the opener allocates). A cold read of a store object otherwise faults in
 *  a fresh MiB per chunk: measured, 276 page faults per MiB read. */
export function openedBuffer(bytes: number): Uint8Array | undefined {
  if (!nativeData || bytes > OPENED_BYTES || bytes < CHUNK_SIZE / 2) return undefined;
  return new Uint8Array(hugeOpened.take(nativeData), 0, bytes);
}

/** A private copy of `data` (engine.write: the caller's memory is reused after the call). */
export function copyOf(data: Uint8Array): Uint8Array {
  const copy = data.length === CHUNK_SIZE ? chunkBuffer().bytes : new Uint8Array(data.length);
  copy.set(data);
  return copy;
}

/** Give back the memory under `bytes` (a dirty chunk buffer just sealed and not kept) for
 *  the next freshBuffer/copyOf. Only a whole chunk-sized ArrayBuffer is taken; the caller
 *  must hold the only reference to it (nothing reads it afterwards). */
export function recycleChunkBuffer(bytes: Uint8Array): void {
  const ab = bytes.buffer;
  if (!(ab instanceof ArrayBuffer) || ab.byteLength !== CHUNK_SIZE || isRecycled.has(ab) || recycled.length >= MAX_RECYCLED) return;
  recycled.push(ab);
  isRecycled.add(ab);
  if (recycled.length > IDLE_KEEP) recycledIdle.arm();
}

/** Chunk buffers waiting for reuse (tests). */
export function recycledChunkBuffers(): number {
  return recycled.length;
}
