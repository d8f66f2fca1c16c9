// Content-addressed objects in a directory: DIR/objects/ab/cd/<id> (two shard levels, so
// a million objects leave ~15 files per leaf directory), written crash-safely through
// DIR/tmp. Used by FsStore and, per account, by `megafs serve`.
// A new object is published with link(2), which fails if the name exists, so exactly one
// writer "creates" an object even across processes (usage counters stay exact). On file
// systems without hard links (FAT, exFAT) it falls back to rename(2).
// An object file's mtime is the time it was last put (scan() reports it; a collector's
// grace period counts from it): a new object's file was written just before it was linked
// in, and every other put, of an object that exists or of a file linked in from elsewhere,
// sets it to now (utimes). A put that finds the object gone between the two steps (a
// delete raced it) stores it anew, so an acknowledged put always leaves the object there.
import { closeSync, linkSync, openSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StoreError } from '../errors.js';
import { errnoError, nativeData } from '../platform/native-data.js';
import { cleanStaleTemps, fsyncDir, mkdirDurable, mkdirIfMissing, writeTemp } from './fs-atomic.js';
import { bodyMatches } from './body-hash.js';
import { eachLimited } from './limit.js';
import { isObjectId, type ByteRange, type ObjectId, type ObjectInfo } from './store.js';

export function checkId(id: string): void {
  if (!isObjectId(id)) throw new StoreError('E_BAD_ID', 'not a valid object id');
}

function notFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Set the mtime (and atime) of the file at `path` to now; false when it is absent. A
 *  synchronous syscall, like size(): microseconds, cheaper than a thread-pool hop. */
function stampNow(path: string): boolean {
  const now = new Date();
  try {
    utimesSync(path, now, now);
    return true;
  } catch (e) {
    if (notFound(e)) return false;
    throw e;
  }
}

/** Attempts to publish a put whose object a delete keeps removing under it. */
const PUT_ATTEMPTS = 3;
const racedAway = (): StoreError => new StoreError('E_UNAVAILABLE', 'the object was deleted again and again while it was put');

/** fsyncs in flight at once in syncDeferred (the file system commits them together). */
const SYNC_PARALLEL = 32;
/** From this many owed paths on, syncDeferred makes one syncfs(2) of the store's file
 *  system instead (native/data): one call and one journal commit instead of hundreds of
 *  thread-pool fsyncs. Below it, syncfs could wait on unrelated dirty data (another
 *  program's big write on the same disk) for a few files' sake. */
const SYNCFS_FROM = 256;

/** syncfs(2) of the file system that holds `dir`, on the thread pool (native/data). */
async function syncFileSystemOf(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    const r = await new Promise<number>((resolve) => nativeData!.syncFs(fd, resolve));
    if (r < 0) throw errnoError(r, `syncfs ${dir}`);
  } finally {
    closeSync(fd);
  }
}

export class FsObjects {
  private readonly objectsDir: string;
  private readonly tmpDir: string;
  /** Paths (object files, directories) written by deferred puts and not yet fsync'ed. */
  private readonly unsynced = new Set<string>();
  private syncChain: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string) {
    this.objectsDir = join(dir, 'objects');
    this.tmpDir = join(dir, 'tmp');
  }

  /** The object directory under `dir` as it is: nothing created, nothing cleaned (a
   *  directory store attached outside init: fs-presence.ts prepares it). */
  static at(dir: string): FsObjects {
    return new FsObjects(dir);
  }

  /** Open (creating if needed) the object directory under `dir`; cleans stale temps. */
  static async open(dir: string): Promise<FsObjects> {
    const o = new FsObjects(dir);
    await mkdir(o.objectsDir, { recursive: true });
    await mkdir(o.tmpDir, { recursive: true });
    await cleanStaleTemps(o.tmpDir);
    return o;
  }

  /** The path of object `id`; the only place an id becomes a path, after validation. */
  pathOf(id: ObjectId): string {
    checkId(id);
    return join(this.objectsDir, id.slice(0, 2), id.slice(2, 4), id);
  }

  /** Verify the hash and store; returns true when this call created the object. */
  async put(id: ObjectId, body: Uint8Array): Promise<boolean> {
    checkId(id);
    if (!(await bodyMatches(body, id))) throw new StoreError('E_HASH_MISMATCH', 'object body does not match its id');
    if (this.touch(id)) return false;
    return this.putChecked(id, body);
  }

  /** Mark an existing object as put now (its mtime); false when it is absent. */
  touch(id: ObjectId): boolean {
    return stampNow(this.pathOf(id));
  }

  /** Store a body whose hash the caller has already checked against `id` (and which the
   *  caller has just seen absent: an existing object is detected by link, not re-checked).
   *  `body` may be the chunks as they arrived (written with writev, never concatenated). */
  async putChecked(id: ObjectId, body: Uint8Array | Uint8Array[]): Promise<boolean> {
    const final = this.pathOf(id);
    const temp = await writeTemp(this.tmpDir, id.slice(0, 16), body);
    try {
      const l1 = join(this.objectsDir, id.slice(0, 2));
      const leaf = join(l1, id.slice(2, 4));
      // Directories whose entries changed: fsync'ed together (one journal commit on ext4
      // instead of one per level) before the put is acknowledged.
      const changed: string[] = [];
      let created = publish(temp, final);
      if (created === 'no-dir') {
        if (mkdirIfMissing(l1)) changed.push(this.objectsDir);
        if (mkdirIfMissing(leaf)) changed.push(l1);
        created = publish(temp, final);
      }
      // There already: refresh its mtime. Gone by then (a delete raced this put): publish ours.
      for (let attempt = 1; created === false && !stampNow(final); attempt++) {
        if (attempt === PUT_ATTEMPTS) throw racedAway();
        created = publish(temp, final);
      }
      if (created === 'no-dir') throw new StoreError('E_INTERNAL', 'object directory vanished');
      if (created) changed.push(leaf);
      await Promise.all(changed.map(fsyncDir));
      return created;
    } finally {
      rmSync(temp, { force: true }); // linked into place (or not needed): the temp name goes
    }
  }

  /** Store the file at `path` (its hash vouched for by the caller) as object `id`:
   *  fsync it, then link(2) it into place (one inode, no copy) and fsync the leaf directory.
   *  With `deferSync` the fsyncs are left to the next syncDeferred() (the object is visible
   *  at once; see linkDeferred). Across file systems (EXDEV) or without hard links it is copied through tmp/
   *  instead (always synced). Returns the object's size when this call created it, null
   *  when it existed. */
  async putFile(id: ObjectId, path: string, deferSync = false): Promise<number | null> {
    const final = this.pathOf(id);
    const leaf = join(this.objectsDir, id.slice(0, 2), id.slice(2, 4));
    if (deferSync) {
      const linked = await this.linkDeferred(path, final, [id.slice(0, 2), id.slice(2, 4)]);
      if (linked !== 'copy') return linked;
    }
    if (this.touch(id)) return null;
    stampNow(path); // the object's mtime is this put's (a missing file fails at the open)
    let sizeBytes: number;
    const fh = await open(path, 'r');
    try {
      await fh.sync();
      sizeBytes = (await fh.stat()).size;
    } finally {
      await fh.close();
    }
    for (let attempt = 1; ; attempt++) {
      const linked = await linkInto(path, final, () => mkdirDurable(this.objectsDir, [id.slice(0, 2), id.slice(2, 4)]));
      if (linked === 'copy') return (await this.putChecked(id, new Uint8Array(await readFile(path)))) ? sizeBytes : null;
      if (linked) {
        await fsyncDir(leaf);
        return sizeBytes;
      }
      if (stampNow(final)) return null; // there already, now refreshed
      if (attempt === PUT_ATTEMPTS) throw racedAway();
    }
  }

  /** putFile's deferred path: stat, utimes and link made synchronously (microseconds in the
   *  kernel; a thread-pool round trip costs more on this thread than the call), a missing
   *  shard directory made on the thread pool (mkdir costs up to a millisecond), and the
   *  paths to fsync noted for syncDeferred. Returns the size when linked, null when the
   *  object existed (its mtime refreshed), 'copy' when no hard link can be made. */
  private async linkDeferred(path: string, final: string, shards: string[]): Promise<number | null | 'copy'> {
    const sizeBytes = statSync(path).size;
    stampNow(path); // before the link: the object's mtime is this put's, and syncDeferred's fsync keeps it
    for (let attempt = 1; ; attempt++) {
      const linked = await linkInto(path, final, () => this.makeShardsDeferred(shards), linkSync);
      if (linked === 'copy') return 'copy';
      if (linked) {
        this.unsynced.add(final);
        this.unsynced.add(dirname(final));
        return sizeBytes;
      }
      if (stampNow(final)) return null;
      if (attempt === PUT_ATTEMPTS) throw racedAway();
    }
  }

  /** mkdir the shard directories that are missing; each new one owes its parent an fsync. */
  private async makeShardsDeferred(shards: string[]): Promise<void> {
    let dir = this.objectsDir;
    for (const name of shards) {
      const child = join(dir, name);
      try {
        await mkdir(child);
        this.unsynced.add(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      dir = child;
    }
  }

  /** fsync every file and directory that deferred putFile calls left unsynced, SYNC_PARALLEL
   *  at a time (or, from SYNCFS_FROM of them, one syncfs of their file system). Calls are
   *  chained, so when one resolves every deferred put made before it was called is durable.
   *  On failure the paths stay owed and the error is thrown. Resolves with the number of
   *  paths this call synced. */
  syncDeferred(): Promise<number> {
    const run = this.syncChain.then(async () => {
      const paths = [...this.unsynced];
      this.unsynced.clear();
      try {
        if (nativeData && paths.length >= SYNCFS_FROM) await syncFileSystemOf(this.objectsDir);
        // deleted since: nothing owed
        else await eachLimited(paths, SYNC_PARALLEL, (p) => fsyncDir(p).catch((e: unknown) => { if (!notFound(e)) throw e; }));
      } catch (e) {
        for (const p of paths) this.unsynced.add(p);
        throw e;
      }
      return paths.length;
    });
    this.syncChain = run.catch(() => undefined);
    return run;
  }

  /** The object's bytes or a range of them; E_NOT_FOUND when absent. */
  async get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> {
    const path = this.pathOf(id);
    const missing = (e: unknown): never => {
      if (notFound(e)) throw new StoreError('E_NOT_FOUND', 'object not found');
      throw e;
    };
    // fs.readFile of a path is ~3x faster than FileHandle.readFile for 1 MiB.
    if (!range) {
      const b = await readFile(path).catch(missing);
      // A view of readFile's own memory (new Uint8Array(b) would copy a MiB); a copy only
      // if the buffer shares its memory (node's small-buffer pool), which callers must not see.
      return b.byteOffset === 0 && b.buffer.byteLength === b.length ? new Uint8Array(b.buffer) : new Uint8Array(b);
    }
    const fh = await open(path, 'r').catch(missing);
    try {
      const size = (await fh.stat()).size;
      const start = Math.min(Math.max(0, range.offset), size);
      const buf = new Uint8Array(Math.max(0, Math.min(range.length, size - start)));
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.subarray(0, done);
    } finally {
      await fh.close();
    }
  }

  /** Size in bytes, or null when absent (a synchronous stat: microseconds, cheaper than a
   *  thread-pool hop). */
  async size(id: ObjectId): Promise<number | null> {
    try {
      return statSync(this.pathOf(id)).size;
    } catch (e) {
      if (notFound(e)) return null;
      throw e;
    }
  }

  /** Delete; returns the freed size, or null when the object was absent. */
  async delete(id: ObjectId): Promise<number | null> {
    const size = await this.size(id);
    if (size === null) return null;
    try {
      await unlink(this.pathOf(id));
      return size;
    } catch (e) {
      if (notFound(e)) return null;
      throw e;
    }
  }

  /** Up to `limit` ids greater than `after`, in ascending order (for paginated listing). */
  async listPage(after: ObjectId | null, limit: number): Promise<ObjectId[]> {
    const out: ObjectId[] = [];
    const a = after ?? '';
    for (const l1 of await sortedDir(this.objectsDir)) {
      if (l1 < a.slice(0, 2)) continue;
      for (const l2 of await sortedDir(join(this.objectsDir, l1))) {
        if (l1 + l2 < a.slice(0, 4)) continue;
        for (const id of await sortedDir(join(this.objectsDir, l1, l2))) {
          if (id <= a || !isObjectId(id)) continue;
          out.push(id);
          if (out.length >= limit) return out;
        }
      }
    }
    return out;
  }

  /** Up to `limit` objects with ids greater than `after`, ascending, with their sizes and
   *  mtimes; `next` is the id to pass as `after` for the next page, null after the last.
   *  An object deleted between listing and stat is left out (a page may come out short). */
  async scanPage(after: ObjectId | null, limit: number): Promise<{ objects: ObjectInfo[]; next: ObjectId | null }> {
    const ids = await this.listPage(after, limit);
    const objects: ObjectInfo[] = [];
    for (const id of ids) {
      try {
        const st = statSync(this.pathOf(id));
        objects.push({ id, size: st.size, mtimeMs: Math.floor(st.mtimeMs) });
      } catch (e) {
        if (!notFound(e)) throw e;
      }
    }
    return { objects, next: ids.length === limit ? ids[ids.length - 1] : null };
  }

  async *scan(pageSize = 1000): AsyncIterable<ObjectInfo> {
    let after: ObjectId | null = null;
    do {
      const page = await this.scanPage(after, pageSize);
      yield* page.objects;
      after = page.next;
    } while (after !== null);
  }

  async *list(pageSize = 1000): AsyncIterable<ObjectId> {
    let after: ObjectId | null = null;
    while (true) {
      const page = await this.listPage(after, pageSize);
      yield* page;
      if (page.length < pageSize) return;
      after = page[page.length - 1];
    }
  }

  /** Count objects and bytes by scanning (O(objects)); callers cache the result. */
  async scanUsage(): Promise<{ usedBytes: number; objectCount: number }> {
    let usedBytes = 0;
    let objectCount = 0;
    for await (const o of this.scan()) {
      usedBytes += o.size;
      objectCount++;
    }
    return { usedBytes, objectCount };
  }
}

/** link(2) `temp` to `final`: true when created, false when it existed, 'no-dir' when the
 *  shard directory is missing. Falls back to rename(2) where hard links are unsupported. */
function publish(temp: string, final: string): boolean | 'no-dir' {
  try {
    linkSync(temp, final);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'ENOENT') return 'no-dir';
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
  }
  try {
    renameSync(temp, final);
    return true;
  } catch (e) {
    if (notFound(e)) return 'no-dir';
    throw e;
  }
}

/** link(2) `from` to `to` (with `doLink`: fs/promises' link or linkSync): true when
 *  created, false when `to` existed, 'copy' when no hard link can be made here (another
 *  file system, no link support). */
async function linkInto(from: string, to: string, makeDir: () => Promise<unknown>, doLink: (from: string, to: string) => unknown = link): Promise<boolean | 'copy'> {
  for (let attempt = 0; ; attempt++) {
    try {
      await doLink(from, to);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code === 'ENOENT' && attempt === 0) { await makeDir(); continue; } // the shard is new (or `from` is gone: link says so again)
      if (code === 'EXDEV' || code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return 'copy';
      throw e;
    }
  }
}

async function sortedDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if (notFound(e)) return [];
    throw e;
  }
}
