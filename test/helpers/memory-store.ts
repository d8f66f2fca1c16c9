// An in-memory Store for unit tests: checks ids like a real store (E_HASH_MISMATCH),
// CAS on the root with counter etags, and can be switched off (E_UNAVAILABLE) to play
// an outage; `quotaBytes` refuses puts past it (E_QUOTA). `objects` is public so tamper
// tests can reach in, and `mtimes` (when each object was last put; 0 for one set in
// `objects` directly) so collector tests can age objects.
import { createHash } from 'node:crypto';
import { StoreError } from '../../src/errors.js';
import type { ByteRange, CasResult, ObjectId, ObjectInfo, RootRecord, Store, StoreUsage } from '../../src/store/store.js';

export class MemoryStore implements Store {
  readonly name = 'memory';
  readonly objects = new Map<ObjectId, Uint8Array>();
  readonly mtimes = new Map<ObjectId, number>();
  root: RootRecord | null = null;
  header: Uint8Array | null = null;
  /** False: every call fails with E_UNAVAILABLE. */
  up = true;
  quotaBytes: number | null = null;
  puts = 0;
  private counter = 0;

  private check(): void {
    if (!this.up) throw new StoreError('E_UNAVAILABLE', 'memory store is down');
  }

  async put(id: ObjectId, body: Uint8Array): Promise<void> {
    this.check();
    if (createHash('sha256').update(body).digest('hex') !== id) throw new StoreError('E_HASH_MISMATCH', 'hash mismatch');
    if (this.quotaBytes !== null && !this.objects.has(id)) {
      let used = 0;
      for (const b of this.objects.values()) used += b.length;
      if (used + body.length > this.quotaBytes) throw new StoreError('E_QUOTA', 'memory store quota exceeded');
    }
    this.puts++;
    this.objects.set(id, body.slice());
    this.mtimes.set(id, Date.now());
  }

  async get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> {
    this.check();
    const b = this.objects.get(id);
    if (!b) throw new StoreError('E_NOT_FOUND', `no object ${id}`);
    const copy = b.slice();
    return range ? copy.subarray(range.offset, range.offset + range.length) : copy;
  }

  async has(id: ObjectId): Promise<boolean> {
    this.check();
    return this.objects.has(id);
  }

  async delete(id: ObjectId): Promise<void> {
    this.check();
    this.objects.delete(id);
    this.mtimes.delete(id);
  }

  async *list(): AsyncIterable<ObjectId> {
    this.check();
    yield* [...this.objects.keys()];
  }

  async *scan(): AsyncIterable<ObjectInfo> {
    this.check();
    yield* [...this.objects].map(([id, b]) => ({ id, size: b.length, mtimeMs: this.mtimes.get(id) ?? 0 }));
  }

  async getRoot(): Promise<RootRecord | null> {
    this.check();
    return this.root ? { bytes: this.root.bytes.slice(), etag: this.root.etag } : null;
  }

  async casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    this.check();
    if ((this.root?.etag ?? null) !== expected) return { ok: false, current: await this.getRoot() };
    this.root = { bytes: bytes.slice(), etag: String(++this.counter) };
    return { ok: true, etag: this.root.etag };
  }

  async getHeader(): Promise<Uint8Array | null> {
    this.check();
    return this.header;
  }

  async putHeader(bytes: Uint8Array): Promise<void> {
    this.check();
    this.header = bytes.slice();
  }

  async usage(): Promise<StoreUsage> {
    this.check();
    let usedBytes = 0;
    for (const b of this.objects.values()) usedBytes += b.length;
    return { usedBytes, objectCount: this.objects.size, quotaBytes: this.quotaBytes };
  }

  async close(): Promise<void> {}
}
