// The write-back queue: uploads sealed objects to the store with bounded concurrency
// (p-queue) and retries transient failures with backoff, forever: such an upload is never
// dropped. After FAIL_REPORT_ATTEMPTS failed attempts the failure is reported (to waiters
// such as fsync, and to status().errors) while retries go on in the background.
// A permanent refusal (the store's quota is full: E_QUOTA; the object is over its size
// limit: E_TOO_LARGE) is not retried: the object is *refused*, kept pinned in the cache,
// its waiters fail with the refusal at once, and retryRefused() (an explicit sync, or a
// delete that may have freed quota) queues it again.
// The uploader is also the ledger of the commit invariant (docs/design.md "The commit
// invariant"): every object sealed by this process is noted (noteSealed) before it is
// written anywhere, and stays in the ledger until the store acknowledged it. unacked()
// answers, for the ids a new root would name, which are not on the store yet.
// An object's bytes stay in memory while under `memLimitBytes` in total; past that the
// task reads them back from the disk cache when it runs. A store with putFile (a local
// FsStore) gets objects sealed by this process as the cache file itself (hard-linked:
// written once), its fsyncs deferred to durable(), which the commit calls before writing
// a root.
import PQueue from 'p-queue';
import { isMegafsError, StoreError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { DiskCache } from './disk-cache.js';

export const FAIL_REPORT_ATTEMPTS = 3;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 5000;

/** A store's answer that retrying cannot change. */
export function isPermanentRefusal(e: unknown): boolean {
  return isMegafsError(e, 'E_QUOTA') || isMegafsError(e, 'E_TOO_LARGE');
}

interface Pending {
  id: string;
  /** Who sealed it (file-data passes the file node); kept with a refusal. */
  owner: object | null;
  bytes: Uint8Array | null;
  /** Sealed by this process: its cache file's hash is known to be `id` (putFile may link it). */
  fresh: boolean;
  attempts: number;
  lastError: Error | null;
  done: Promise<void>;
  resolve: () => void;
  /** Callbacks of waiters, told once the upload has failed FAIL_REPORT_ATTEMPTS times. */
  onFail: Set<(e: Error) => void>;
}

export class Uploader {
  private readonly queue: PQueue;
  private readonly pending = new Map<string, Pending>();
  /** Sealed here, not yet queued (its cache write is under way). */
  private readonly sealedHere = new Set<string>();
  /** Refused for good by the store (E_QUOTA, E_TOO_LARGE): not retried until retryRefused(). */
  private readonly refused = new Map<string, { error: Error; owner: object | null }>();
  private memBytes = 0;
  private closed = false;
  /** Waits (waitFor) that end when any upload keeps failing. */
  private readonly failWaiters = new Set<(e: Error) => void>();
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  /** Awaited before every upload: the drive announces this session (a pending record in
   *  the root, docs/design.md "What the collector may delete") before anything it sends. */
  gate: ((id: string) => Promise<void>) | null = null;

  constructor(
    private store: Store,
    private readonly cache: DiskCache,
    concurrency: number,
    private readonly memLimitBytes: number,
    private readonly reportError: (line: string) => void,
  ) {
    this.queue = new PQueue({ concurrency });
  }

  get queued(): number {
    return this.pending.size;
  }

  get refusedCount(): number {
    return this.refused.size;
  }

  /** Queued, in flight, or refused: not on the store. */
  isPending(id: string): boolean {
    return this.pending.has(id) || this.refused.has(id);
  }

  /** Note an object sealed by this process, before its cache write: until the store
   *  acknowledges it, no root may name it. */
  noteSealed(id: string): void {
    if (!this.pending.has(id) && !this.refused.has(id)) this.sealedHere.add(id);
  }

  /** Its cache write failed: the object is dropped (nothing names it). */
  forgetSealed(id: string): void {
    this.sealedHere.delete(id);
  }

  /** The ids among `ids` that are not acknowledged by the store: sealed here and not yet
   *  queued, queued, in flight, or refused. Empty for everything loaded from the store. */
  unacked(ids: Iterable<string>): string[] {
    const out: string[] = [];
    if (this.pending.size === 0 && this.sealedHere.size === 0 && this.refused.size === 0) return out;
    for (const id of ids) if (this.pending.has(id) || this.sealedHere.has(id) || this.refused.has(id)) out.push(id);
    return out;
  }

  /** True when every object of the ledger (sealed here and not acknowledged, refused
   *  included) is among `named`. */
  ledgerWithin(named: Set<string>): boolean {
    for (const id of this.sealedHere) if (!named.has(id)) return false;
    for (const id of this.pending.keys()) if (!named.has(id)) return false;
    return this.refused.size === 0;
  }

  /** The refusal of `id`, if the store refused it for good. */
  refusalOf(id: string): Error | null {
    return this.refused.get(id)?.error ?? null;
  }

  /** Refused objects with their owners (the commit holds those files back). */
  refusals(): { id: string; owner: object | null; error: Error }[] {
    return [...this.refused].map(([id, r]) => ({ id, owner: r.owner, error: r.error }));
  }

  /** Queue every refused object again (quota may have been freed). */
  retryRefused(): void {
    for (const [id, r] of [...this.refused]) {
      this.refused.delete(id);
      this.enqueue(id, null, undefined, r.owner);
    }
  }

  /** Forget a refused object nothing names any more: unpinned, left to the cache's LRU. */
  dropRefused(id: string): void {
    if (this.refused.delete(id)) this.cache.unpin(id);
  }

  /** Queue `id` for upload (no-op when already queued). The caller pinned it in the cache.
   *  `bytes`: the object as just sealed here (null: read it back from the cache; replayed
   *  from the journal). `release` (give `bytes` back to the buffer pool) is called at once
   *  when the uploader does not keep `bytes`; kept bytes are never released, because a
   *  store may still read them after put resolved (a replicated store's quorum acks
   *  before its slowest replica has sent them) or keep them. */
  enqueue(id: string, bytes: Uint8Array | null, release?: () => void, owner: object | null = null): void {
    this.sealedHere.delete(id);
    if (this.pending.has(id) || this.closed) { release?.(); return; }
    this.refused.delete(id);
    let resolve!: () => void;
    const done = new Promise<void>((r) => { resolve = r; });
    const fresh = bytes !== null;
    const keep = fresh && !this.store.putFile && this.memBytes + bytes.length <= this.memLimitBytes;
    if (!keep) release?.();
    const p: Pending = {
      id, owner, bytes: keep ? bytes : null, fresh, attempts: 0, lastError: null, done, resolve, onFail: new Set(),
    };
    if (keep && bytes) this.memBytes += bytes.length;
    this.pending.set(id, p);
    void this.queue.add(() => this.run(p));
  }

  private async run(p: Pending): Promise<void> {
    while (!this.closed) {
      try {
        if (this.gate) await this.gate(p.id);
        const vanished = (): Error => new Error(`object ${p.id.slice(0, 16)} vanished from the cache before upload`);
        if (!p.bytes && p.fresh && this.store.putFile) {
          const path = this.cache.fileOf(p.id);
          if (!path) throw vanished();
          await this.store.putFile(p.id, path, { deferSync: true });
        } else {
          const bytes = p.bytes ?? (await this.cache.get(p.id));
          if (!bytes) throw vanished();
          await this.store.put(p.id, bytes);
        }
        this.finish(p);
        return;
      } catch (e) {
        p.attempts++;
        p.lastError = e as Error;
        if (isPermanentRefusal(e)) {
          this.refuse(p, e as Error);
          return;
        }
        if (p.attempts === FAIL_REPORT_ATTEMPTS) {
          this.reportError(`upload of ${p.id.slice(0, 16)} failed: ${(e as Error).message} (retrying)`);
        }
        if (p.attempts >= FAIL_REPORT_ATTEMPTS) {
          for (const f of p.onFail) f(p.lastError);
          for (const f of this.failWaiters) f(p.lastError);
        }
        await this.sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(p.attempts, 10)));
      }
    }
  }

  /** The store refused `p` for good: park it (pinned, not retried), fail its waiters. */
  private refuse(p: Pending, e: Error): void {
    if (p.bytes) this.memBytes -= p.bytes.length;
    p.bytes = null;
    this.pending.delete(p.id);
    if (this.refused.size === 0 || !this.refused.has(p.id)) this.reportError(`upload of ${p.id.slice(0, 16)} refused: ${e.message}`);
    this.refused.set(p.id, { error: e, owner: p.owner });
    for (const f of p.onFail) f(e);
  }

  private finish(p: Pending): void {
    if (p.bytes) this.memBytes -= p.bytes.length;
    p.bytes = null;
    this.pending.delete(p.id);
    this.cache.unpin(p.id);
    p.resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s = { timer: setTimeout(() => { this.sleeps.delete(s); resolve(); }, ms), resolve };
      this.sleeps.add(s);
    });
  }

  /** Retry now (the store is back): cut every backoff sleep short. */
  kick(): void {
    for (const s of this.sleeps) { clearTimeout(s.timer); s.resolve(); }
    this.sleeps.clear();
  }

  /** Resolves when every id in `ids` is on the store; rejects with the upload error when
   *  any upload (one of `ids`, or one ahead of them in the queue: with every slot taken by
   *  uploads that keep failing, `ids` are never even tried) fails during the wait after
   *  FAIL_REPORT_ATTEMPTS attempts in all (retries go on), at once with the refusal of a
   *  refused one, and with E_UNAVAILABLE once `timeoutMs` (when given) has passed. */
  waitFor(ids: Iterable<string>, timeoutMs?: number): Promise<void> {
    const list = [...ids];
    for (const id of list) {
      const r = this.refused.get(id);
      if (r) return Promise.reject(r.error);
    }
    const waits: Promise<void>[] = [];
    for (const id of list) {
      const p = this.pending.get(id);
      if (!p) continue;
      if (this.closed) return Promise.reject(new StoreError('E_UNAVAILABLE', 'the upload queue was stopped'));
      waits.push(new Promise<void>((resolve, reject) => {
        const fail = (e: Error): void => { p.onFail.delete(fail); reject(e); };
        p.onFail.add(fail);
        void p.done.then(() => { p.onFail.delete(fail); resolve(); });
      }));
    }
    if (waits.length === 0) return Promise.resolve();
    let failing!: (e: Error) => void;
    waits.push(new Promise<void>((_, reject) => { failing = reject; }));
    this.failWaiters.add(failing);
    const all = Promise.race([Promise.all(waits.slice(0, -1)), waits[waits.length - 1]]).then(() => undefined)
      .finally(() => this.failWaiters.delete(failing));
    if (timeoutMs === undefined) return all;
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new StoreError('E_UNAVAILABLE', `the store did not take ${waits.length - 1} upload(s) within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      all.then(() => { clearTimeout(t); resolve(); }, (e: Error) => { clearTimeout(t); reject(e); });
    });
  }

  /** Make every upload finished so far durable on the store (local stores defer their
   *  fsyncs and do them all here; a no-op for stores whose put is durable). Called before
   *  a root naming the objects is written, and so by every fsync. */
  async durable(): Promise<void> {
    await this.store.syncDeferred?.();
  }

  /** Stop retrying and drop in-flight work (pending objects stay pinned on disk and
   *  are queued again from the journal on the next start). */
  stop(): void {
    this.closed = true;
    this.queue.clear();
    this.kick();
    // Nothing will finish now: every wait ends (a commit waiting for uploads gives up).
    const stopped = new StoreError('E_UNAVAILABLE', 'the upload queue was stopped');
    for (const p of this.pending.values()) for (const f of [...p.onFail]) f(stopped);
    for (const f of [...this.failWaiters]) f(stopped);
  }
}
