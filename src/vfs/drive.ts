// The mount's shared machinery (VfsContext): the object path (memory cache -> disk cache
// -> store, with hash checks), persisting sealed objects, the commit timer, and commits:
// seal every changed file, write the changed tree objects bottom-up, wait for every
// upload, then compare-and-swap a new sealed root (version + 1, prevRootHash). A lost
// swap fetches the other root and merges (merge.ts) before trying again.
// Order inside one commit (commits run one at a time): seal files -> rotate journal and
// encode the tree (synchronously: one consistent snapshot) -> upload -> CAS -> state.
import { LRUCache } from 'lru-cache';
import { MegafsError, StoreError } from '../errors.js';
import type { DriveKeys } from '../crypto/keys.js';
import type { SealedObject } from '../crypto/object.js';
import { checkNotRolledBack, openRoot, rootHash, sealRoot, ZERO_HASH } from '../crypto/root.js';
import { toBase64, toHex } from '../format/bytes.js';
import { encodeName } from '../format/names.js';
import { encodeDirLeaf, ENTRY_DIR, ENTRY_FILE, ENTRY_SYMLINK, type TreeEntry } from '../format/tree.js';
import { nodePlatform } from '../platform/node.js';
import { bodyMatches, noteHashed } from '../store/body-hash.js';
import { eachLimited } from '../store/limit.js';
import type { RootRecord, Store } from '../store/store.js';
import { ChunkReader } from './chunk-reader.js';
import { releaseSealed } from './buffer-pool.js';
import { recycleChunkBuffer } from './fresh-buffers.js';
import type { VfsContext } from './context.js';
import type { DiskCache } from './disk-cache.js';
import type { VfsEngine } from './engine.js';
import type { Journal } from './journal.js';
import { mergeTrees } from './merge.js';
import { pathOf, type DirNode, type Node } from './nodes.js';
import { saveState, type LocalState } from './state.js';
import type { TreeIo } from './tree-io.js';
import type { VfsStatus } from './types.js';
import type { Uploader } from './uploader.js';

const MAX_ERRORS = 100;
/** A timer commit starts once requests pause this long (ms; at most the commit delay)... */
const QUIET_MS = 300;
/** ...or after this many commit delays of requests without a pause... */
const MAX_WAIT_DELAYS = 10;
/** ...or once unsealed buffers pass this many bytes. */
const WAIT_DIRTY_BYTES = 64 << 20;
/** Files a commit seals at once (small files closed since the last commit wait for it). */
const SEAL_PARALLEL = 32;


export interface Base {
  version: bigint;
  hash: string | null;
  etag: string | null;
  treeId: string | null;
  /** The sealed root itself (kept in state.json so that a restart works offline). */
  bytes: Uint8Array | null;
}

export interface DriveOptions {
  store: Store;
  keys: DriveKeys;
  stateDir: string;
  deviceIdHex: string;
  hostName: string;
  log: (line: string) => void;
  commitDelayMs: number;
  memCacheBytes: number;
  /** Keep written chunks in the memory cache (else their buffers are reused). */
  keepWritten: boolean;
}

export class Drive implements VfsContext {
  readonly p = nodePlatform;
  readonly store: Store;
  readonly keys: DriveKeys;
  readonly log: (line: string) => void;
  engine!: VfsEngine;
  readonly reader: ChunkReader;
  dirtyBytes = 0;
  journalFrom = 0;
  private readonly mem: LRUCache<string, Uint8Array>;
  private readonly errors: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Date.now() of the last change or request (quiet() waits for a pause). */
  private lastActiveMs = 0;
  /** Explicit commits (fsync, sync, unmount) queued: a waiting timer commit goes at once. */
  private explicitWaiting = 0;
  private wakeQuiet: (() => void) | null = null;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private failedCommits = 0;
  private abandoned = false;

  constructor(
    readonly opts: DriveOptions,
    readonly tree: TreeIo,
    readonly journal: Journal,
    readonly cache: DiskCache,
    readonly uploader: Uploader,
    public base: Base,
  ) {
    this.store = opts.store;
    this.keys = opts.keys;
    this.log = opts.log;
    this.reader = new ChunkReader(this.p, cache);
    this.mem = new LRUCache<string, Uint8Array>({ maxSize: Math.max(1, opts.memCacheBytes), sizeCalculation: (v) => Math.max(1, v.length) });
  }

  memGet(id: string): Uint8Array | undefined {
    return this.mem.get(id);
  }

  memSet(id: string, plain: Uint8Array): void {
    if (plain.length <= this.opts.memCacheBytes) this.mem.set(id, plain);
  }

  sealedDirty(id: string, plain: Uint8Array): void {
    if (this.opts.keepWritten) this.memSet(id, plain);
    else recycleChunkBuffer(plain);
  }

  async fetchObject(id: string): Promise<Uint8Array> {
    return (await this.fetchChunk(id)).bytes;
  }

  async fetchChunk(id: string): Promise<{ bytes: Uint8Array; checked: boolean; owned: boolean }> {
    const cached = await this.cache.get(id);
    if (cached) return { bytes: cached, checked: false, owned: true };
    const bytes = await this.store.get(id);
    // Not hashed again when the store checked it (HttpStore, S3Store and ReplicatedStore
    // note what they checked); else off the main thread when it can be.
    if (!(await bodyMatches(bytes, id))) throw new MegafsError('E_INTEGRITY', `object ${id.slice(0, 16)} from ${this.store.name} does not match its id`);
    await this.cache.put(id, bytes, false);
    return { bytes, checked: true, owned: false };
  }

  /** `o.bytes` may be a pooled buffer (sealChunkAsync): given back once it is on disk,
   *  unless the uploader keeps it (then it is left to the garbage collector). */
  async persist(o: SealedObject): Promise<void> {
    noteHashed(o.bytes, o.id); // sealObject hashed these bytes: a local FsStore need not again
    const release = (): void => releaseSealed(o.bytes);
    try {
      await this.cache.put(o.id, o.bytes, true);
    } catch (e) {
      release();
      throw e;
    }
    this.uploader.enqueue(o.id, o.bytes, release);
  }

  fingerprint(e: TreeEntry): string {
    return toHex(this.p.sha256(encodeDirLeaf([e])));
  }

  active(): void {
    this.lastActiveMs = Date.now();
  }

  changed(): void {
    this.lastActiveMs = Date.now();
    if (this.timer || this.stopped) return;
    const delay = this.opts.commitDelayMs * 2 ** Math.min(this.failedCommits, 5);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.commit(true).catch(() => undefined);
    }, delay);
    this.timer.unref();
  }

  recordError(line: string): void {
    this.log(`megafs: ${line}`);
    this.errors.push(line);
    if (this.errors.length > MAX_ERRORS) this.errors.shift();
  }

  /** One commit at a time; a failure is recorded and retried by the timer. A background
   *  (timer) commit first waits for a pause in the changes (quiet()). */
  commit(background = false): Promise<void> {
    if (!background) {
      this.explicitWaiting++;
      this.wakeQuiet?.();
    }
    const run = this.chain.then(() => {
      if (!background) this.explicitWaiting--;
      return this.commitOnce(background);
    });
    this.chain = run.then(() => { this.failedCommits = 0; }, (e: Error) => {
      this.failedCommits++;
      this.recordError(`commit failed: ${e.message}`);
      this.changed();
    });
    return run;
  }

  private entryOf(n: Node, out: SealedObject[]): TreeEntry {
    const e: TreeEntry = {
      name: n.name, type: ENTRY_FILE, mode: n.perm, uid: n.uid, gid: n.gid, size: 0, mtimeMs: n.mtimeMs, ctimeMs: n.ctimeMs,
      xattrs: [...n.xattrs.entries()],
    };
    if (n.type === 'dir') { e.type = ENTRY_DIR; e.dirId = this.encodeDir(n, out); }
    else if (n.type === 'symlink') { e.type = ENTRY_SYMLINK; e.target = n.target; e.size = encodeName(n.target).length; }
    else {
      e.size = n.sealedSize;
      e.file = { fileId: n.fileId, fileKey: n.fileKey, ...(n.chunks ? this.tree.fileChunks(n.chunks, out) : { lists: n.lists ?? [] }) };
    }
    return e;
  }

  /** Seal `d` and its dirty descendants bottom-up; returns its tree object id. */
  encodeDir(d: DirNode, out: SealedObject[]): string {
    if (d.treeId) return d.treeId;
    if (!d.children) throw new Error('BUG: dirty directory without children');
    const entries = [...d.children.values()].map((n) => this.entryOf(n, out));
    d.treeId = this.tree.encodeDir(entries, out);
    return d.treeId;
  }

  private async uploadAll(out: SealedObject[]): Promise<void> {
    await Promise.all(out.map((o) => this.persist(o)));
    await this.uploader.waitFor(this.uploader.snapshot());
    await this.uploader.durable();
  }

  /** Wait for a pause in the requests: a burst (tar x, a checkout, a build, reading it
   *  back) runs without sealing and uploading beside it, and is committed once it stops.
   *  Bounded by MAX_WAIT_DELAYS commit delays and WAIT_DIRTY_BYTES; an explicit commit
   *  (fsync, sync, unmount) ends the wait at once. */
  private async quiet(): Promise<void> {
    const quietMs = Math.min(QUIET_MS, this.opts.commitDelayMs);
    const until = Date.now() + MAX_WAIT_DELAYS * this.opts.commitDelayMs;
    while (this.explicitWaiting === 0 && !this.stopped && this.dirtyBytes < WAIT_DIRTY_BYTES) {
      const now = Date.now();
      const idleMs = now - this.lastActiveMs;
      if (idleMs >= quietMs || now >= until) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(quietMs - idleMs, until - now));
        t.unref();
        this.wakeQuiet = () => { clearTimeout(t); resolve(); };
      });
      this.wakeQuiet = null;
    }
  }

  private async commitOnce(background: boolean): Promise<void> {
    if (background) await this.quiet();
    if (this.abandoned) throw new MegafsError('E_INTERNAL', 'stopped');
    // A timer commit queued behind shutdown's own commit (its timer fired while the
    // shutdown sealed and committed) has nothing left to do, and must not write the state
    // or the journal once close() has returned.
    if (background && this.stopped) return;
    this.uploader.kick();
    const data = this.engine.data;
    await eachLimited([...data.unsealed].filter((f) => pathOf(f) !== null), SEAL_PARALLEL, (f) => data.seal(f));
    const seq = this.journal.rotate();
    const out: SealedObject[] = [];
    let treeId = this.encodeDir(this.engine.top, out);
    await this.uploadAll(out);
    if (treeId === this.base.treeId) {
      await this.covered(seq);
      return;
    }
    for (let attempt = 0; ; attempt++) {
      const version = this.base.version + 1n;
      const bytes = sealRoot(this.p, this.keys, {
        version, treeId, prevRootHash: this.base.hash ?? ZERO_HASH, timeMs: Date.now(), deviceId: this.opts.deviceIdHex,
      });
      const hash = rootHash(this.p, bytes);
      if (this.abandoned) throw new MegafsError('E_INTERNAL', 'stopped');
      await saveState(this.opts.stateDir, {
        ...this.seen(), journalFrom: this.journalFrom, pendingHash: hash, pendingVersion: version.toString(), pendingJournalFrom: seq + 1,
      });
      if (this.abandoned) throw new MegafsError('E_INTERNAL', 'stopped');
      const res = await this.store.casRoot(this.base.etag, bytes);
      if (this.abandoned) throw new MegafsError('E_INTERNAL', 'stopped');
      if (res.ok) {
        this.base = { version, hash, etag: res.etag, treeId, bytes };
        await this.covered(seq);
        return;
      }
      if (attempt >= 10) throw new StoreError('E_CONFLICT', 'the root kept moving under this commit');
      treeId = await this.mergeWith(res.current);
    }
  }

  /** Journal files through `seq` are in the committed root now. */
  private async covered(seq: number): Promise<void> {
    if (this.abandoned) return;
    this.journalFrom = Math.max(this.journalFrom, seq + 1);
    await saveState(this.opts.stateDir, { ...this.seen(), journalFrom: this.journalFrom });
    await this.journal.dropThrough(seq);
  }

  seen(): Pick<LocalState, 'seenVersion' | 'seenHash' | 'rootBytes' | 'rootEtag'> {
    const b = this.base;
    if (!b.hash) return { seenVersion: null, seenHash: null };
    return { seenVersion: b.version.toString(), seenHash: b.hash, rootBytes: b.bytes ? toBase64(b.bytes) : undefined, rootEtag: b.etag ?? undefined };
  }


  /** Another machine moved the root: check it, merge its tree into ours, make it the base. */
  private async mergeWith(current: RootRecord | null): Promise<string> {
    if (!current) throw new MegafsError('E_ROLLBACK', 'the store lost the root it had');
    const theirs = openRoot(this.p, this.keys, current.bytes);
    const hash = rootHash(this.p, current.bytes);
    checkNotRolledBack(this.base.hash ? { version: this.base.version, hash: this.base.hash } : null, theirs, hash);
    this.log(`megafs: root moved to version ${theirs.version} (device ${theirs.deviceId.slice(0, 8)}); merging`);
    await mergeTrees(this, this.engine, this.base.treeId, theirs.treeId, `${theirs.deviceId.slice(0, 8)} ${new Date(theirs.timeMs).toISOString().slice(0, 19)}`);
    this.base = { version: theirs.version, hash, etag: current.etag, treeId: theirs.treeId, bytes: current.bytes };
    const out: SealedObject[] = [];
    const treeId = this.encodeDir(this.engine.top, out);
    await this.uploadAll(out);
    return treeId;
  }

  status(): VfsStatus {
    return {
      dirtyBytes: this.dirtyBytes + this.cache.pinnedBytes,
      queuedUploads: this.uploader.queued,
      cacheBytes: this.cache.totalBytes,
      cacheLimitBytes: this.cache.limitBytes,
      errors: [...this.errors],
      rootVersion: this.base.version.toString(),
    };
  }

  /** Seal, commit, stop. If the commit fails (store down) everything stays in the
   *  journal and the cache for the next start, and the failure is thrown. */
  async shutdown(): Promise<void> {
    try {
      for (const f of this.engine.openFiles()) if (pathOf(f) !== null) await this.engine.data.seal(f);
      await this.commit();
    } finally {
      this.stopTimers();
      this.uploader.stop();
      this.reader.closeAll();
      await this.journal.close();
    }
  }

  private stopTimers(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Tests: stop as if the process were killed (nothing more is written). */
  abandon(): void {
    this.abandoned = true;
    this.stopTimers();
    this.journal.abandon();
    this.uploader.stop();
    this.reader.closeAll();
  }
}
