// RetryStore: retries the idempotent operations of a store with exponential backoff when
// it reports E_UNAVAILABLE (a blip, a restart). casRoot is passed through untouched: a
// replayed compare-and-swap could report a lost race for a write that landed.
import { isMegafsError } from '../errors.js';
import type { ByteRange, CasResult, ObjectId, ObjectInfo, RootRecord, Store, StoreUsage } from './store.js';

export interface RetryOptions {
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** First delay in ms, doubled each time (with ±25% jitter). Default 200. */
  baseDelayMs?: number;
  /** Cap on one delay in ms. Default 5000. */
  maxDelayMs?: number;
}

export class RetryStore implements Store {
  readonly name: string;
  readonly members?: Store['members'];
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly inner: Store, opts: RetryOptions = {}) {
    this.name = inner.name;
    if (inner.members) this.members = () => inner.members!();
    this.retries = opts.retries ?? 5;
    this.baseDelayMs = opts.baseDelayMs ?? 200;
    this.maxDelayMs = opts.maxDelayMs ?? 5000;
  }

  private async retry<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        if (attempt >= this.retries || !isMegafsError(e, 'E_UNAVAILABLE')) throw e;
        const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt) * (0.75 + Math.random() * 0.5);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  put(id: ObjectId, body: Uint8Array): Promise<void> { return this.retry(() => this.inner.put(id, body)); }
  get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> { return this.retry(() => this.inner.get(id, range)); }
  has(id: ObjectId): Promise<boolean> { return this.retry(() => this.inner.has(id)); }
  delete(id: ObjectId): Promise<void> { return this.retry(() => this.inner.delete(id)); }

  /** Retried only while nothing was yielded yet (a restarted listing would repeat ids). */
  list(): AsyncIterable<ObjectId> { return this.retryListing(() => this.inner.list()); }
  scan(): AsyncIterable<ObjectInfo> { return this.retryListing(() => this.inner.scan()); }

  private async *retryListing<T>(listing: () => AsyncIterable<T>): AsyncIterable<T> {
    for (let attempt = 0; ; attempt++) {
      let yielded = false;
      try {
        for await (const item of listing()) {
          yielded = true;
          yield item;
        }
        return;
      } catch (e) {
        if (yielded || attempt >= this.retries || !isMegafsError(e, 'E_UNAVAILABLE')) throw e;
        await new Promise((r) => setTimeout(r, Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt)));
      }
    }
  }

  getRoot(): Promise<RootRecord | null> { return this.retry(() => this.inner.getRoot()); }
  casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> { return this.inner.casRoot(expected, bytes); }
  getHeader(): Promise<Uint8Array | null> { return this.retry(() => this.inner.getHeader()); }
  putHeader(bytes: Uint8Array): Promise<void> { return this.retry(() => this.inner.putHeader(bytes)); }
  usage(): Promise<StoreUsage> { return this.retry(() => this.inner.usage()); }
  close(): Promise<void> { return this.inner.close(); }
}
