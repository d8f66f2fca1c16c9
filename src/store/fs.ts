// FsStore: the embedded default store, a plain directory. The folder alone (on a USB disk,
// say) opens on another machine with the password, because the drive header sits beside
// the objects. Layout (all written crash-safely, see fs-atomic.ts):
//   DIR/header.json          the drive header (src/format/header.ts)
//   DIR/objects/ab/cd/<id>   objects (fs-objects.ts)
//   DIR/roots/<counter>      root versions, CAS via link(2) (fs-root.ts)
//   DIR/tmp/                 temp files; stale ones are removed on open
// Opened by `init` and tests, the layout is created when missing; a drive's store opened
// otherwise is attached (FsStore.attach): it must hold the drive's header, else it is an
// unavailable store until it does (fs-presence.ts).
// usage() scans the objects once per process (O(objects)) and then keeps the totals in
// memory, adjusted by this process's own puts and deletes; writes by other processes after
// the scan are not counted until the next open.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isMegafsError } from '../errors.js';
import { FsObjects } from './fs-objects.js';
import { FsPresence, HEADER_FILE, type HeaderCheck } from './fs-presence.js';
import { FsRoot } from './fs-root.js';
import { cleanStaleTemps, mkdirIfMissing, writeAtomic } from './fs-atomic.js';
import type { ByteRange, CasResult, ObjectId, ObjectInfo, RootRecord, Store, StoreUsage } from './store.js';

export { FsObjects } from './fs-objects.js';
export type { HeaderCheck } from './fs-presence.js';

interface Totals {
  usedBytes: number;
  objectCount: number;
}

export class FsStore implements Store {
  readonly name: string;
  private totals: Totals | null = null;
  private scanning: Promise<Totals> | null = null;

  private constructor(
    readonly dir: string,
    private readonly objects: FsObjects,
    private readonly root: FsRoot,
    /** Attached stores only: is the drive's directory here (null: created by init/tests). */
    private readonly presence: FsPresence | null = null,
  ) {
    this.name = `fs:${dir}`;
  }

  /** Open the store in `dir`, creating the layout when missing (init, tests). */
  static async open(dir: string): Promise<FsStore> {
    const abs = resolve(dir);
    const objects = await FsObjects.open(abs);
    const root = new FsRoot(abs, join(abs, 'tmp'));
    await root.init();
    return new FsStore(abs, objects, root);
  }

  /** The drive's store in `dir`, never created: usable while `dir` holds a header that
   *  `belongs` accepts, E_UNAVAILABLE otherwise (looked at again as operations come). */
  static attach(dir: string, belongs: HeaderCheck): FsStore {
    const abs = resolve(dir);
    const tmp = join(abs, 'tmp');
    const presence = new FsPresence(abs, belongs, () => {
      // Only inside a directory that is there (no recursive mkdir: that would make it anew).
      for (const sub of ['objects', 'tmp', 'roots']) mkdirIfMissing(join(abs, sub));
      void cleanStaleTemps(tmp).catch(() => undefined);
    });
    presence.check();
    return new FsStore(abs, FsObjects.at(abs), new FsRoot(abs, tmp), presence);
  }

  /** Attached stores: why the directory is unusable now, or null (tests, status). */
  unavailableReason(): string | null {
    return this.presence ? this.presence.check() : null;
  }

  /** Run `op` on an attached store only while its directory is the drive's; a failure,
   *  or a result that `looksAbsent` (a vanished directory reads as empty), looks again. */
  private async guarded<T>(op: () => Promise<T>, looksAbsent?: (r: T) => boolean): Promise<T> {
    const p = this.presence;
    if (!p) return op();
    p.ready();
    let r: T;
    try {
      r = await op();
    } catch (e) {
      if (!isMegafsError(e, 'E_HASH_MISMATCH') && !isMegafsError(e, 'E_BAD_ID')) p.confirm(e);
      throw e;
    }
    if (looksAbsent?.(r)) p.confirm();
    return r;
  }

  async put(id: ObjectId, body: Uint8Array): Promise<void> {
    if (await this.guarded(() => this.objects.put(id, body))) this.adjust(body.length, 1);
  }

  /** Hard-links `path` in when it is on the store's file system (no second copy of the
   *  bytes), else copies it. */
  async putFile(id: ObjectId, path: string, opts?: { deferSync?: boolean }): Promise<void> {
    const created = await this.guarded(() => this.objects.putFile(id, path, opts?.deferSync === true));
    if (created !== null) this.adjust(created, 1);
  }

  async syncDeferred(): Promise<void> {
    await this.guarded(() => this.objects.syncDeferred());
  }

  /** syncDeferred, resolving with how many files and directories it fsync'ed (tests). */
  syncDeferredCount(): Promise<number> {
    return this.objects.syncDeferred();
  }

  get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> {
    return this.guarded(() => this.objects.get(id, range));
  }

  async has(id: ObjectId): Promise<boolean> {
    return this.guarded(async () => (await this.objects.size(id)) !== null, (held) => !held);
  }

  async delete(id: ObjectId): Promise<void> {
    const freed = await this.guarded(() => this.objects.delete(id));
    if (freed !== null) this.adjust(-freed, -1);
  }

  async *list(): AsyncIterable<ObjectId> {
    this.presence?.ready();
    yield* this.objects.list();
    this.presence?.confirm(); // a directory that vanished lists as empty
  }

  async *scan(): AsyncIterable<ObjectInfo> {
    this.presence?.ready();
    yield* this.objects.scan();
    this.presence?.confirm(); // a directory that vanished scans as empty
  }

  getRoot(): Promise<RootRecord | null> {
    return this.guarded(() => this.root.get(), (r) => r === null);
  }

  rootHistory(): Promise<RootRecord[]> {
    return this.guarded(() => this.root.history());
  }

  casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    return this.guarded(() => this.root.casRoot(expected, bytes));
  }

  async getHeader(): Promise<Uint8Array | null> {
    return this.guarded(async () => {
      try {
        return new Uint8Array(await readFile(join(this.dir, HEADER_FILE)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    }, (h) => h === null);
  }

  putHeader(bytes: Uint8Array): Promise<void> {
    return this.guarded(() => writeAtomic(join(this.dir, 'tmp'), this.dir, HEADER_FILE, bytes));
  }

  async usage(): Promise<StoreUsage> {
    if (!this.totals) {
      this.scanning ??= this.guarded(() => this.objects.scanUsage());
      this.scanning.catch(() => { this.scanning = null; });
      this.totals = await this.scanning;
    }
    return { ...this.totals, quotaBytes: null };
  }

  private adjust(bytes: number, count: number): void {
    if (!this.totals) return; // not scanned yet: the scan will see it
    this.totals.usedBytes += bytes;
    this.totals.objectCount += count;
  }

  async close(): Promise<void> {
    // Nothing held open between calls: every operation opens and closes its own files.
  }
}
