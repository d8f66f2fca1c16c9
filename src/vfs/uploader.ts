// The write-back queue: uploads sealed objects to the store with bounded concurrency
// (p-queue) and retries with backoff, forever: a failed upload is never dropped. After
// FAIL_REPORT_ATTEMPTS failed attempts the failure is reported (to waiters such as
// fsync, and to status().errors) while retries go on in the background. An object's
// bytes stay in memory while under `memLimitBytes` in total; past that the task reads
// them back from the disk cache when it runs. A store with putFile (a local FsStore) gets
// objects sealed by this process as the cache file itself (hard-linked: written once), its
// fsyncs deferred to durable(), which the commit calls before writing a root.
import PQueue from 'p-queue';
import type { Store } from '../store/store.js';
import type { DiskCache } from './disk-cache.js';

export const FAIL_REPORT_ATTEMPTS = 3;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 5000;

interface Pending {
  id: string;
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
  private memBytes = 0;
  private closed = false;
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

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

  isPending(id: string): boolean {
    return this.pending.has(id);
  }

  /** Queue `id` for upload (no-op when already queued). The caller pinned it in the cache.
   *  `bytes`: the object as just sealed here (null: read it back from the cache; replayed
   *  from the journal). `release` (give `bytes` back to the buffer pool) is called at once
   *  when the uploader does not keep `bytes`; kept bytes are never released, because a
   *  store may still read them after put resolved (a replicated store's quorum acks
   *  before its slowest replica has sent them) or keep them. */
  enqueue(id: string, bytes: Uint8Array | null, release?: () => void): void {
    if (this.pending.has(id) || this.closed) { release?.(); return; }
    let resolve!: () => void;
    const done = new Promise<void>((r) => { resolve = r; });
    const fresh = bytes !== null;
    const keep = fresh && !this.store.putFile && this.memBytes + bytes.length <= this.memLimitBytes;
    if (!keep) release?.();
    const p: Pending = {
      id, bytes: keep ? bytes : null, fresh, attempts: 0, lastError: null, done, resolve, onFail: new Set(),
    };
    if (keep && bytes) this.memBytes += bytes.length;
    this.pending.set(id, p);
    void this.queue.add(() => this.run(p));
  }

  private async run(p: Pending): Promise<void> {
    while (!this.closed) {
      try {
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
        if (p.attempts === FAIL_REPORT_ATTEMPTS) {
          this.reportError(`upload of ${p.id.slice(0, 16)} failed: ${(e as Error).message} (retrying)`);
        }
        if (p.attempts >= FAIL_REPORT_ATTEMPTS) for (const f of p.onFail) f(p.lastError);
        await this.sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(p.attempts, 10)));
      }
    }
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

  /** Resolves when every id in `ids` is on the store; rejects with the upload error
   *  when one of them fails during the wait after FAIL_REPORT_ATTEMPTS attempts in all
   *  (its retries go on). */
  waitFor(ids: Iterable<string>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const id of ids) {
      const p = this.pending.get(id);
      if (!p) continue;
      waits.push(new Promise<void>((resolve, reject) => {
        const fail = (e: Error): void => { p.onFail.delete(fail); reject(e); };
        p.onFail.add(fail);
        void p.done.then(() => { p.onFail.delete(fail); resolve(); });
      }));
    }
    return Promise.all(waits).then(() => undefined);
  }

  /** Make every upload finished so far durable on the store (local stores defer their
   *  fsyncs and do them all here; a no-op for stores whose put is durable). Called before
   *  a root naming the objects is written, and so by every fsync. */
  async durable(): Promise<void> {
    await this.store.syncDeferred?.();
  }

  /** Ids queued or in flight right now. */
  snapshot(): string[] {
    return [...this.pending.keys()];
  }

  /** The first recorded failure among `ids` with enough attempts to report, if any. */
  failureOf(ids: Iterable<string>): Error | null {
    for (const id of ids) {
      const p = this.pending.get(id);
      if (p && p.attempts >= FAIL_REPORT_ATTEMPTS && p.lastError) return p.lastError;
    }
    return null;
  }

  /** Stop retrying and drop in-flight work (pending objects stay pinned on disk and
   *  are queued again from the journal on the next start). */
  stop(): void {
    this.closed = true;
    this.queue.clear();
    this.kick();
  }
}
