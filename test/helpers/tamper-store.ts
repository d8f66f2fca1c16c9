// A malicious store for tests: wraps another Store and rewrites what get() returns for
// chosen objects (flip a bit, serve another object's bytes, truncate) or serves an old
// root. The vfs must answer EIO / E_ROLLBACK, never wrong bytes.
import type { ByteRange, CasResult, ObjectId, ObjectInfo, RootRecord, Store, StoreUsage } from '../../src/store/store.js';

export type Tamper = (id: ObjectId, bytes: Uint8Array, inner: Store) => Promise<Uint8Array> | Uint8Array;

export const flipByte = (at = 100): Tamper => (_id, b) => { const c = b.slice(); c[Math.min(at, c.length - 1)] ^= 1; return c; };
export const truncateTo = (n: number): Tamper => (_id, b) => b.slice(0, n);
export const serveOther = (other: ObjectId): Tamper => (_id, _b, inner) => inner.get(other);

export class TamperStore implements Store {
  readonly name = 'tamper';
  /** Tamper only with objects this predicate picks (all when null). */
  target: ((id: ObjectId) => boolean) | null = null;
  tamper: Tamper | null = null;
  /** Served instead of the real root when set. */
  staleRoot: RootRecord | null = null;

  constructor(readonly inner: Store) {}

  async get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> {
    const b = await this.inner.get(id, range);
    if (this.tamper && (!this.target || this.target(id))) return this.tamper(id, b, this.inner);
    return b;
  }

  put(id: ObjectId, body: Uint8Array): Promise<void> { return this.inner.put(id, body); }
  has(id: ObjectId): Promise<boolean> { return this.inner.has(id); }
  delete(id: ObjectId): Promise<void> { return this.inner.delete(id); }
  list(): AsyncIterable<ObjectId> { return this.inner.list(); }
  scan(): AsyncIterable<ObjectInfo> { return this.inner.scan(); }
  async getRoot(): Promise<RootRecord | null> { return this.staleRoot ?? this.inner.getRoot(); }
  casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> { return this.inner.casRoot(expected, bytes); }
  getHeader(): Promise<Uint8Array | null> { return this.inner.getHeader(); }
  putHeader(bytes: Uint8Array): Promise<void> { return this.inner.putHeader(bytes); }
  usage(): Promise<StoreUsage> { return this.inner.usage(); }
  close(): Promise<void> { return this.inner.close(); }
}
