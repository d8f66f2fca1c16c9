// LateStore: a store whose opening needs it to answer (an S3 bucket is checked with a
// HEAD request), opened on first use instead, so that a drive this machine knows starts
// while that store is down: each call tries to open it until it answers, and until then
// fails with the opening's error (E_UNAVAILABLE). Calls that come together share one try.
import type { ByteRange, CasResult, ObjectId, ObjectInfo, RootRecord, Store, StoreUsage } from '../store/store.js';

export class LateStore implements Store {
  private inner: Store | null = null;
  private opening: Promise<Store> | null = null;

  constructor(readonly name: string, private readonly open: () => Promise<Store>) {}

  private store(): Promise<Store> {
    if (this.inner) return Promise.resolve(this.inner);
    this.opening ??= this.open().then(
      (s) => { this.inner = s; return s; },
      (e: unknown) => { this.opening = null; throw e; },
    );
    return this.opening;
  }

  async put(id: ObjectId, body: Uint8Array): Promise<void> { return (await this.store()).put(id, body); }
  async get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> { return (await this.store()).get(id, range); }
  async has(id: ObjectId): Promise<boolean> { return (await this.store()).has(id); }
  async delete(id: ObjectId): Promise<void> { return (await this.store()).delete(id); }
  async *list(): AsyncIterable<ObjectId> { yield* (await this.store()).list(); }
  async *scan(): AsyncIterable<ObjectInfo> { yield* (await this.store()).scan(); }
  async getRoot(): Promise<RootRecord | null> { return (await this.store()).getRoot(); }
  async casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> { return (await this.store()).casRoot(expected, bytes); }
  async getHeader(): Promise<Uint8Array | null> { return (await this.store()).getHeader(); }
  async putHeader(bytes: Uint8Array): Promise<void> { return (await this.store()).putHeader(bytes); }
  async usage(): Promise<StoreUsage> { return (await this.store()).usage(); }

  async close(): Promise<void> {
    const s = this.inner ?? (await this.opening?.catch(() => null)) ?? null;
    await s?.close();
  }
}
