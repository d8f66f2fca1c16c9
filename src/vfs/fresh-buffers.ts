// Pre-faulted 1 MiB buffers for data that is kept (a written chunk becomes a dirty buffer,
// then a memory-cache entry, so it cannot be pooled). A fresh 1 MiB array costs ~4 ms of
// page faults on first touch on this kind of VM, more than sealing it; a helper thread
// allocates and touches buffers ahead and transfers them here (a transfer moves the
// memory, already mapped), so the writer only pays a copy into warm memory. The thread is
// unref'ed: it never keeps the process up. Without worker threads, plain allocation.
import { Worker } from 'node:worker_threads';
import { CHUNK_SIZE } from '../format/constants.js';

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

/** A zeroed array of `bytes` for data the caller keeps: a pre-faulted one when `bytes`
 *  is a full chunk and one is ready. MEGAFS_PREFAULT=0 turns the helper off. */
export function freshBuffer(bytes: number): Uint8Array {
  if (bytes !== CHUNK_SIZE || process.env.MEGAFS_PREFAULT === '0') return new Uint8Array(bytes);
  const ab = stock.pop();
  refill();
  return ab ? new Uint8Array(ab) : new Uint8Array(bytes);
}

/** A private copy of `data` (engine.write: the caller's memory is reused after the call). */
export function copyOf(data: Uint8Array): Uint8Array {
  const copy = freshBuffer(data.length);
  copy.set(data);
  return copy;
}
