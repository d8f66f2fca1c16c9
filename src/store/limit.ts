// LimitStore: at most `concurrency` object requests (put, get, has, delete) in flight to
// the inner store at once, the rest queued in order (p-queue). Keeps a slow link from
// being flooded by the write-back queue. Root and header calls are never queued.
// eachLimited: the same bound for a one-off batch (fsyncs, seals).
import PQueue from 'p-queue';
import type { ByteRange, CasResult, ObjectId, ObjectInfo, RootRecord, Store, StoreUsage } from './store.js';

/** Run `fn` over `items`, at most `limit` at a time, in order of start; resolves when all
 *  are done, rejects with the first failure (the others already started still run). */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => { while (next < items.length) await fn(items[next++]); };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class LimitStore implements Store {
  readonly name: string;
  readonly members?: Store['members'];
  private readonly queue: PQueue;

  constructor(private readonly inner: Store, concurrency: number) {
    this.name = inner.name;
    if (inner.members) this.members = () => inner.members!();
    this.queue = new PQueue({ concurrency });
  }

  /** Requests waiting for a slot (for `megafs status`). */
  get pending(): number {
    return this.queue.size;
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    return this.queue.add(op, { throwOnTimeout: true });
  }

  put(id: ObjectId, body: Uint8Array): Promise<void> { return this.run(() => this.inner.put(id, body)); }
  get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> { return this.run(() => this.inner.get(id, range)); }
  has(id: ObjectId): Promise<boolean> { return this.run(() => this.inner.has(id)); }
  delete(id: ObjectId): Promise<void> { return this.run(() => this.inner.delete(id)); }
  list(): AsyncIterable<ObjectId> { return this.inner.list(); }
  scan(): AsyncIterable<ObjectInfo> { return this.inner.scan(); }
  getRoot(): Promise<RootRecord | null> { return this.inner.getRoot(); }
  casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> { return this.inner.casRoot(expected, bytes); }
  getHeader(): Promise<Uint8Array | null> { return this.inner.getHeader(); }
  putHeader(bytes: Uint8Array): Promise<void> { return this.inner.putHeader(bytes); }
  usage(): Promise<StoreUsage> { return this.inner.usage(); }

  async close(): Promise<void> {
    await this.queue.onIdle();
    await this.inner.close();
  }
}
