// FsStore: the embedded default store, a plain directory. The folder alone (on a USB disk,
// say) opens on another machine with the password, because the drive header sits beside
// the objects. Layout (all written crash-safely, see fs-atomic.ts):
//   DIR/header.json          the drive header (src/format/header.ts)
//   DIR/objects/ab/cd/<id>   objects (fs-objects.ts)
//   DIR/roots/<counter>      root versions, CAS via link(2) (fs-root.ts)
//   DIR/tmp/                 temp files; stale ones are removed on open
// usage() scans the objects once per process (O(objects)) and then keeps the totals in
// memory, adjusted by this process's own puts and deletes; writes by other processes after
// the scan are not counted until the next open.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FsObjects } from './fs-objects.js';
import { FsRoot } from './fs-root.js';
import { writeAtomic } from './fs-atomic.js';
import type { ByteRange, CasResult, ObjectId, RootRecord, Store, StoreUsage } from './store.js';

export { FsObjects } from './fs-objects.js';

const HEADER_FILE = 'header.json';

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
  ) {
    this.name = `fs:${dir}`;
  }

  /** Open the store in `dir`, creating the layout when missing. */
  static async open(dir: string): Promise<FsStore> {
    const abs = resolve(dir);
    const objects = await FsObjects.open(abs);
    const root = new FsRoot(abs, join(abs, 'tmp'));
    await root.init();
    return new FsStore(abs, objects, root);
  }

  async put(id: ObjectId, body: Uint8Array): Promise<void> {
    if (await this.objects.put(id, body)) this.adjust(body.length, 1);
  }

  /** Hard-links `path` in when it is on the store's file system (no second copy of the
   *  bytes), else copies it. */
  async putFile(id: ObjectId, path: string, opts?: { deferSync?: boolean }): Promise<void> {
    const created = await this.objects.putFile(id, path, opts?.deferSync === true);
    if (created !== null) this.adjust(created, 1);
  }

  async syncDeferred(): Promise<void> {
    await this.objects.syncDeferred();
  }

  /** syncDeferred, resolving with how many files and directories it fsync'ed (tests). */
  syncDeferredCount(): Promise<number> {
    return this.objects.syncDeferred();
  }

  get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> {
    return this.objects.get(id, range);
  }

  async has(id: ObjectId): Promise<boolean> {
    return (await this.objects.size(id)) !== null;
  }

  async delete(id: ObjectId): Promise<void> {
    const freed = await this.objects.delete(id);
    if (freed !== null) this.adjust(-freed, -1);
  }

  list(): AsyncIterable<ObjectId> {
    return this.objects.list();
  }

  getRoot(): Promise<RootRecord | null> {
    return this.root.get();
  }

  casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    return this.root.casRoot(expected, bytes);
  }

  async getHeader(): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(join(this.dir, HEADER_FILE)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  putHeader(bytes: Uint8Array): Promise<void> {
    return writeAtomic(join(this.dir, 'tmp'), this.dir, HEADER_FILE, bytes);
  }

  async usage(): Promise<StoreUsage> {
    if (!this.totals) {
      this.scanning ??= this.objects.scanUsage();
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
