// RollbackGuard: the drive's store as every program on this machine uses it. Every root
// that passes through (getRoot, a lost compare-and-swap's current root, a root this
// machine writes) is checked against the highest root this machine has seen and then
// recorded (seen-root.ts), so the mount daemon and each CLI command refuse the same
// rolled-back or forked root (E_ROLLBACK), whichever of them saw the newer one first.
// Roots that do not open (a tampered root) pass through untouched: the vfs opens each
// root itself and fails with E_INTEGRITY.
import { MegafsError } from '../errors.js';
import { sha256Hex } from '../store/body-hash.js';
import type { RootVersionFn } from '../store/replicate.js';
import type { ByteRange, CasResult, ObjectId, ObjectInfo, RootRecord, Store, StoreUsage } from '../store/store.js';
import type { SeenRoots } from './seen-root.js';

export class RollbackGuard implements Store {
  readonly name: string;
  readonly putFile?: Store['putFile'];
  readonly syncDeferred?: Store['syncDeferred'];
  readonly members?: Store['members'];

  constructor(readonly inner: Store, private readonly seen: SeenRoots, private readonly rootVersion: RootVersionFn) {
    this.name = inner.name;
    // Only what the store has: the uploader hard-links into a local store when it can.
    if (inner.putFile) this.putFile = (id, path, opts) => inner.putFile!(id, path, opts);
    if (inner.syncDeferred) this.syncDeferred = () => inner.syncDeferred!();
    // Replicated stores: a collector sweeps each (objects only: no root passes there).
    if (inner.members) this.members = () => inner.members!();
  }

  /** Check a root from the store and record it as seen. */
  private async admit(rec: RootRecord | null): Promise<RootRecord | null> {
    if (!rec) {
      const last = await this.seen.latest();
      if (last) throw new MegafsError('E_ROLLBACK', `the store has no root, but this machine saw version ${last.version}`);
      return null;
    }
    const version = this.rootVersion(rec.bytes);
    if (version === null) return rec;
    await this.seen.advance({ version, hash: sha256Hex(rec.bytes), bytes: rec.bytes, etag: rec.etag });
    return rec;
  }

  async getRoot(): Promise<RootRecord | null> {
    return this.admit(await this.inner.getRoot());
  }

  async casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    const r = await this.inner.casRoot(expected, bytes);
    if (!r.ok) return { ok: false, current: await this.admit(r.current) };
    const version = this.rootVersion(bytes);
    if (version !== null) await this.seen.advance({ version, hash: sha256Hex(bytes), bytes, etag: r.etag });
    return r;
  }

  put(id: ObjectId, body: Uint8Array): Promise<void> { return this.inner.put(id, body); }
  get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> { return this.inner.get(id, range); }
  has(id: ObjectId): Promise<boolean> { return this.inner.has(id); }
  delete(id: ObjectId): Promise<void> { return this.inner.delete(id); }
  list(): AsyncIterable<ObjectId> { return this.inner.list(); }
  scan(): AsyncIterable<ObjectInfo> { return this.inner.scan(); }
  getHeader(): Promise<Uint8Array | null> { return this.inner.getHeader(); }
  putHeader(bytes: Uint8Array): Promise<void> { return this.inner.putHeader(bytes); }
  usage(): Promise<StoreUsage> { return this.inner.usage(); }
  close(): Promise<void> { return this.inner.close(); }
}
