// ReplicatedStore: one Store over N stores (servers in two countries, say). A put goes to
// every store and resolves once `writeQuorum` of them hold it; reads take the first store
// whose bytes hash to the id and repair the ones that missed or lied, in the background.
// repair() (megafs fsck --repair) makes every store hold every object. Root: replicate-root.ts.
import { IntegrityError, StoreError, isMegafsError } from '../errors.js';
import { bodyMatches } from './body-hash.js';
import { RootReplicas, type RootVersionFn } from './replicate-root.js';
import { catchUpObjects, repairObjects, type RepairReport } from './replicate-repair.js';
import { isObjectId, type ByteRange, type CasResult, type ObjectId, type ObjectInfo, type RootRecord, type Store, type StoreUsage } from './store.js';

export type { RootVersionFn } from './replicate-root.js';
export type { RepairReport } from './replicate-repair.js';

export interface ReplicatedOptions {
  /** The root's version from its sealed bytes; null = invalid (supplied by the crypto layer). */
  rootVersion: RootVersionFn;
  /** Stores that must acknowledge a put or a root before it returns. Default: all. */
  writeQuorum?: number;
  /** Called when a background push or repair fails (logging). */
  onBackgroundError?: (what: string, err: unknown) => void;
}

export interface StoreHealth {
  name: string;
  ok: boolean;
  /** Objects known to be missing or wrong there, waiting for repair. */
  pendingRepairs: number;
  error?: string;
}

export class ReplicatedStore implements Store {
  readonly name: string;
  readonly writeQuorum: number;
  private readonly root: RootReplicas;
  /** Per store: ids it missed or served wrong, to push again. */
  private readonly missing: Array<Set<ObjectId>>;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Per store: its catch-up running now (one at a time). */
  private readonly catchingUp = new Map<number, Promise<void>>();

  constructor(private readonly stores: readonly Store[], private readonly opts: ReplicatedOptions) {
    if (stores.length === 0) throw new StoreError('E_USAGE', 'a replicated store needs at least one store');
    this.writeQuorum = opts.writeQuorum ?? stores.length;
    if (!Number.isInteger(this.writeQuorum) || this.writeQuorum < 1 || this.writeQuorum > stores.length) {
      throw new StoreError('E_USAGE', `write quorum must be 1..${stores.length}`);
    }
    this.name = `replicated(${stores.map((s) => s.name).join(', ')}; quorum ${this.writeQuorum})`;
    this.missing = stores.map(() => new Set());
    this.root = new RootReplicas(stores, opts.rootVersion, this.writeQuorum, (what, p) => this.background(what, p), (i) => this.catchUp(i));
  }

  private background(what: string, p: Promise<unknown>): void {
    const tracked = p.catch((e) => this.opts.onBackgroundError?.(what, e)).finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  /** Wait for background pushes and repairs (tests, close). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }

  /** Put `id` on store i; `replace`: it holds wrong bytes there (a store's put of an
   *  existing id is a no-op), so delete them first. Failures are remembered for repair. */
  private pushTo(i: number, id: ObjectId, body: Uint8Array, replace = false): Promise<void> {
    const store = this.stores[i];
    const write = replace ? store.delete(id).then(() => store.put(id, body)) : store.put(id, body);
    return write.then(
      () => void this.missing[i].delete(id),
      (e) => {
        this.missing[i].add(id);
        throw e;
      },
    );
  }

  async put(id: ObjectId, body: Uint8Array): Promise<void> {
    if (!isObjectId(id)) throw new StoreError('E_BAD_ID', 'bad object id');
    // Hashed once here; the stores below find the body noted and do not hash it again.
    if (!(await bodyMatches(body, id))) throw new StoreError('E_HASH_MISMATCH', `body does not hash to ${id}`);
    return new Promise((resolve, reject) => {
      let acked = 0;
      const errors: unknown[] = [];
      this.stores.forEach((_, i) => {
        this.background(`put ${id} to ${this.stores[i].name}`, this.pushTo(i, id, body).then(
          () => { if (++acked === this.writeQuorum) resolve(); },
          (e) => {
            errors.push(e);
            if (this.stores.length - errors.length === this.writeQuorum - 1) reject(quorumError(errors, acked, this));
            throw e;
          },
        ));
      });
    });
  }

  async get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> {
    if (!isObjectId(id)) throw new StoreError('E_BAD_ID', 'bad object id');
    const errors: unknown[] = [];
    const absent: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < this.stores.length; i++) {
      let bytes: Uint8Array;
      try {
        // Whole object even for a range: only whole bytes can be checked against the id.
        bytes = await this.stores[i].get(id);
      } catch (e) {
        errors.push(e);
        if (isMegafsError(e, 'E_NOT_FOUND')) absent.push(i);
        if (isMegafsError(e, 'E_INTEGRITY')) wrong.push(i); // the store checked and found its copy bad
        continue;
      }
      if (!(await bodyMatches(bytes, id))) { // noted by a store that checked it: not hashed again
        errors.push(new IntegrityError(`${this.stores[i].name} served wrong bytes for ${id}`));
        wrong.push(i);
        continue;
      }
      for (const j of [...absent, ...wrong]) {
        this.background(`repair ${id} on ${this.stores[j].name}`, this.pushTo(j, id, bytes, wrong.includes(j)));
      }
      return range ? bytes.slice(range.offset, range.offset + Math.max(0, range.length)) : bytes;
    }
    if (errors.every((e) => isMegafsError(e, 'E_NOT_FOUND'))) throw new StoreError('E_NOT_FOUND', `object ${id}`);
    if (errors.some((e) => isMegafsError(e, 'E_INTEGRITY'))) throw new IntegrityError(`no store holds a good copy of ${id}`);
    throw new StoreError('E_UNAVAILABLE', `no store answered for ${id}`);
  }

  async has(id: ObjectId): Promise<boolean> {
    const got = await Promise.allSettled(this.stores.map((s) => s.has(id)));
    if (got.some((r) => r.status === 'fulfilled' && r.value)) return true;
    const failed = got.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && got.every((r) => r.status === 'rejected')) throw failed.reason;
    return false;
  }

  async delete(id: ObjectId): Promise<void> {
    this.missing.forEach((m) => m.delete(id));
    const got = await Promise.allSettled(this.stores.map((s) => s.delete(id)));
    const failed = got.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw failed[0].reason;
  }

  async *list(): AsyncIterable<ObjectId> {
    const seen = new Set<ObjectId>();
    let answered = 0;
    let lastError: unknown;
    for (const store of this.stores) {
      try {
        for await (const id of store.list()) {
          if (!seen.has(id)) { seen.add(id); yield id; }
        }
        answered++;
      } catch (e) {
        lastError = e;
      }
    }
    if (answered === 0) throw lastError;
  }

  /** The union of the stores' objects, each id once with the latest mtime any store
   *  reports (the last put anywhere) and that store's size. Like list(), stores that fail
   *  are left out unless all do. Holds one entry per object in memory until the end. A
   *  collector sweeps each of members() instead: a copy is deleted where it is old there. */
  async *scan(): AsyncIterable<ObjectInfo> {
    const latest = new Map<ObjectId, ObjectInfo>();
    let answered = 0;
    let lastError: unknown;
    for (const store of this.stores) {
      try {
        for await (const o of store.scan()) {
          const seen = latest.get(o.id);
          if (!seen || o.mtimeMs > seen.mtimeMs) latest.set(o.id, o);
        }
        answered++;
      } catch (e) {
        lastError = e;
      }
    }
    if (answered === 0) throw lastError;
    yield* latest.values();
  }

  /** The stores below, in the order given (each is swept on its own by a collector). */
  members(): readonly Store[] {
    return this.stores;
  }

  getRoot(): Promise<RootRecord | null> {
    return this.root.get();
  }

  casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    return this.root.cas(expected, bytes);
  }

  getHeader(): Promise<Uint8Array | null> {
    return firstHeader(this.stores);
  }

  async putHeader(bytes: Uint8Array): Promise<void> {
    const got = await Promise.allSettled(this.stores.map((s) => s.putHeader(bytes)));
    const failed = got.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (this.stores.length - failed.length < this.writeQuorum) throw failed[0].reason;
  }

  /** The largest of the stores' usages (each should hold everything). */
  async usage(): Promise<StoreUsage> {
    const got = await Promise.allSettled(this.stores.map((s) => s.usage()));
    const ok = got.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (!ok.length) throw (got[0] as PromiseRejectedResult).reason;
    return ok.reduce((a, b) => (b.usedBytes > a.usedBytes ? b : a));
  }

  /** Make every store hold every object any store holds (megafs fsck --repair), and the
   *  best root. `verify`: also read every copy and replace the ones whose hash is wrong. */
  async repair(opts: { verify?: boolean } = {}): Promise<RepairReport> {
    await this.idle();
    const report = await repairObjects(this.stores, this.missing, {
      get: (id) => this.get(id),
      pushTo: (i, id, bytes, replace) => this.pushTo(i, id, bytes, replace),
      onError: (what, e) => this.opts.onBackgroundError?.(what, e),
    }, opts.verify ?? false);
    await this.getRoot().catch(() => null); // repairs stale roots
    await this.idle();
    return report;
  }

  /** Store i is behind the others (its root is older: it was away, a disk unplugged, or
   *  missed writes made with a smaller quorum): copy it every object it lacks, before its
   *  root moves on. */
  catchUp(i: number): Promise<void> {
    let run = this.catchingUp.get(i);
    if (!run) {
      run = catchUpObjects(this.stores, i, {
        get: (id) => this.get(id),
        pushTo: (j, id, bytes, replace) => this.pushTo(j, id, bytes, replace),
        onError: (what, e) => this.opts.onBackgroundError?.(what, e),
      }).then(() => undefined).finally(() => this.catchingUp.delete(i));
      this.catchingUp.set(i, run);
    }
    return run;
  }

  /** Per store: does it answer, and how much is waiting for repair (megafs status). */
  async health(): Promise<StoreHealth[]> {
    return Promise.all(this.stores.map(async (s, i) => {
      try {
        await s.has('0'.repeat(64));
        return { name: s.name, ok: true, pendingRepairs: this.missing[i].size };
      } catch (e) {
        return { name: s.name, ok: false, pendingRepairs: this.missing[i].size, error: (e as Error).message };
      }
    }));
  }

  async close(): Promise<void> {
    await this.idle();
    await Promise.all(this.stores.map((s) => s.close()));
  }
}

function quorumError(errors: unknown[], acked: number, r: ReplicatedStore): unknown {
  const first = errors[0];
  // Same refusal everywhere (quota, auth): pass it on; else the stores are out of reach.
  if (errors.every((e) => isMegafsError(e) && isMegafsError(first) && e.code === first.code)) return first;
  return new StoreError('E_UNAVAILABLE', `${acked} stores acknowledged, write quorum ${r.writeQuorum}: ${String((first as Error).message)}`);
}

/** The first drive header any of `stores` holds; null when none has one; the last error
 *  when some store failed and none had one (a down store is not "no drive"). */
export async function firstHeader(stores: readonly Store[]): Promise<Uint8Array | null> {
  let lastError: unknown = null;
  for (const s of stores) {
    try {
      const h = await s.getHeader();
      if (h) return h;
    } catch (e) {
      lastError = e;
    }
  }
  if (lastError) throw lastError;
  return null;
}
