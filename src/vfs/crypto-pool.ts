// Chunk sealing and opening off the main thread, so 1 MiB chunks use every core and the
// main thread stays free for FUSE: on libuv's thread pool through native/data when it is
// built (no copies: the work reads and writes the caller's buffers), or on worker threads
// when MEGAFS_CRYPTO_WORKERS asks for them (buffers copied or transferred). Payloads under
// INLINE_BYTES run synchronously (the handoff costs more than it saves), as does
// everything when neither is there. Byte format: exactly sealChunk/openChunk.
// Workers are ref'ed only while they hold jobs, so an idle pool never keeps the process up.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { openChunk, openChunkAsync as openOffThread, sealChunk, sealChunkAsync as sealOffThread, type ChunkPlace } from '../crypto/chunk.js';
import type { SealedObject } from '../crypto/object.js';
import { IntegrityError, MegafsError } from '../errors.js';
import { CHUNK_SIZE, OBJECT_HEADER_BYTES, TAG_BYTES } from '../format/constants.js';
import { nodePlatform } from '../platform/node.js';
import { adoptSealedBuffer, takeSealedBuffer } from './buffer-pool.js';
import { openedBuffer } from './fresh-buffers.js';

/** Below this many bytes a chunk is sealed/opened on the calling thread.
 *  Workers run only with MEGAFS_CRYPTO_WORKERS=N (or =auto: one per core). */
const INLINE_BYTES = 128 * 1024;
const MAX_WORKERS = 8;

type JobInput = { key: Uint8Array; fileId: Uint8Array; chunkIndex: number; isLast: boolean; bytes: Uint8Array } &
  ({ op: 'seal'; out?: Uint8Array } | { op: 'open'; id?: string });
export type CryptoJob = JobInput & { seq: number };

interface Reply { seq: number; id?: string; bytes?: Uint8Array; input?: Uint8Array; error?: string; code?: string }

interface Slot {
  worker: Worker;
  jobs: Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>;
}

let slots: Slot[] | null = null;
let seq = 0;

function startSlot(): Slot {
  // execArgv []: not the parent's flags (`node --input-type=module -e` would refuse a file).
  const worker = new Worker(new URL('./crypto-worker.js', import.meta.url), { execArgv: [] });
  const slot: Slot = { worker, jobs: new Map() };
  worker.on('message', (r: Reply) => {
    const job = slot.jobs.get(r.seq);
    if (!job) return;
    slot.jobs.delete(r.seq);
    if (slot.jobs.size === 0) worker.unref();
    recycle(r.input);
    job.resolve(r);
  });
  const dead = (e: Error): void => {
    // A worker that dies fails its jobs, and the pool stops using workers (inline from now).
    for (const j of slot.jobs.values()) j.reject(e);
    slot.jobs.clear();
    slots = [];
  };
  worker.on('error', dead);
  worker.on('exit', (code) => dead(new Error(`crypto worker exited with code ${code}`)));
  // Unref only now: adding a 'message' listener refs the worker's port again, and an
  // idle worker left ref'ed that way kept whole processes (CLI, test files) from exiting.
  worker.unref();
  return slot;
}

function pick(): Slot | null {
  if (!slots) {
    slots = [];
    try {
      const env = process.env.MEGAFS_CRYPTO_WORKERS;
      const n = env === 'auto' ? Math.min(MAX_WORKERS, availableParallelism()) : Math.min(MAX_WORKERS, Number(env ?? 0) || 0);
      for (let i = 0; i < n; i++) slots.push(startSlot());
    } catch {
      // no worker threads here: everything runs inline
    }
  }
  if (slots.length === 0) return null;
  let best = slots[0];
  for (const s of slots) if (s.jobs.size < best.jobs.size) best = s;
  return best;
}

/** Reused 1 MiB transfer buffers: a copy into warm memory costs far less than the page
 *  faults of a fresh 1 MiB allocation. A buffer goes to a worker and comes back. */
const spare: ArrayBuffer[] = [];
const SPARE_BYTES = 1 << 20;
const MAX_SPARE = 16;

/** What to post for `b`: `owned` bytes that span their whole buffer are transferred;
 *  anything else is copied first (the caller keeps its bytes). */
function postable(b: Uint8Array, owned: boolean): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  if (owned && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer)) {
    return { bytes: b, transfer: [b.buffer as ArrayBuffer] };
  }
  const ab = b.length <= SPARE_BYTES ? (spare.pop() ?? new ArrayBuffer(SPARE_BYTES)) : new ArrayBuffer(b.length);
  const copy = new Uint8Array(ab, 0, b.length);
  copy.set(b);
  return { bytes: copy, transfer: [ab] };
}

function recycle(bytes: Uint8Array | undefined): void {
  if (bytes && bytes.buffer.byteLength === SPARE_BYTES && spare.length < MAX_SPARE) spare.push(bytes.buffer as ArrayBuffer);
}

function run(job: JobInput, owned = false): Promise<Reply> | null {
  const slot = pick();
  if (!slot) return null;
  const s = ++seq;
  const { bytes, transfer } = postable(job.bytes, owned);
  if (job.op === 'seal' && job.out) transfer.push(job.out.buffer as ArrayBuffer);
  return new Promise<Reply>((resolve, reject) => {
    // postMessage may throw (a buffer that cannot move): no job is recorded then, so a
    // worker is never left ref'ed waiting for a reply that cannot come.
    slot.worker.postMessage({ ...job, seq: s, bytes }, transfer);
    if (slot.jobs.size === 0) slot.worker.ref();
    slot.jobs.set(s, { resolve, reject });
  });
}

/** Chunks at least this big are sealed into a pooled buffer (buffer-pool.ts). */
const POOLED_BYTES = 512 * 1024;

/** sealChunk, on a worker when the chunk is big enough. Big chunks are sealed into a
 *  pooled buffer: the caller hands the result to releaseSealed once nothing uses it. */
export async function sealChunkAsync(key: Uint8Array, place: ChunkPlace, plain: Uint8Array): Promise<SealedObject> {
  const pooled = plain.length >= POOLED_BYTES && plain.length <= CHUNK_SIZE;
  const inline = (): SealedObject => sealChunk(nodePlatform, key, place, plain, undefined, pooled ? takeSealedBuffer() : undefined);
  if (plain.length < INLINE_BYTES) return inline();
  const out = pooled ? takeSealedBuffer() : undefined;
  const pending = run({ op: 'seal', key, fileId: place.fileId, chunkIndex: place.chunkIndex, isLast: place.isLast, bytes: plain, out });
  if (!pending) return sealOffThread(nodePlatform, key, place, plain, out); // native: on the thread pool
  const r = await pending.catch(() => null);
  if (!r) return inline(); // the worker died: our bytes were copied
  if (r.error !== undefined) throw new Error(`BUG: sealing failed on a worker: ${r.error}`);
  adoptSealedBuffer(r.bytes!.buffer as ArrayBuffer);
  return { id: r.id!, bytes: r.bytes! };
}

/** openChunk (id check when `id` is given, then AEAD), on a worker when big enough.
 *  `owned`: the caller hands `sealed` over (it may be transferred and then unusable).
 *  Throws what openChunk throws (IntegrityError / E_VERSION). */
export async function openChunkAsync(key: Uint8Array, place: ChunkPlace, sealed: Uint8Array, id?: string, owned = false): Promise<Uint8Array> {
  if (sealed.length < INLINE_BYTES) return openChunk(nodePlatform, key, place, sealed, id);
  const pending = run({ op: 'open', key, fileId: place.fileId, chunkIndex: place.chunkIndex, isLast: place.isLast, bytes: sealed, id }, owned);
  if (!pending) { // native: on the thread pool
    return openOffThread(nodePlatform, key, place, sealed, id, openedBuffer(sealed.length - OBJECT_HEADER_BYTES - TAG_BYTES));
  }
  const r = await pending.catch((e: Error) => {
    if (sealed.buffer.byteLength > 0) return null; // not transferred: open here instead
    throw e;
  });
  if (!r) return openChunk(nodePlatform, key, place, sealed, id);
  if (r.error !== undefined) {
    if (r.code === 'E_INTEGRITY' || r.code === undefined) throw new IntegrityError(r.error);
    throw new MegafsError(r.code as never, r.error);
  }
  return r.bytes!;
}
