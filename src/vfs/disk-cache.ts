// The disk cache: ciphertext objects under cacheDir/objects/ab/<id> (never plaintext,
// never names), bounded by `limitBytes`, least recently used out first. Pinned objects
// (sealed here and not yet confirmed on the store) are never evicted. A write that would
// not fit is refused up front with ENOSPC (roomFor(), asked by every write of the vfs):
// pinned and dirty bytes must stay under `limitBytes`, and the file system holding the
// cache must have free space (or evictable objects) for everything not yet sealed.
import { closeSync, openSync, renameSync, statfsSync, unlinkSync, write as writeCb, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoError, nativeData } from '../platform/native-data.js';

/** Objects up to this size are written with synchronous calls: a small file's open, write,
 *  close and rename cost less on this thread than four thread-pool round trips (5,000
 *  small files closed in a burst are 5,000 cache files). Bigger ones too, except the
 *  write itself (one thread-pool round trip instead of four). */
const SYNC_WRITE_BYTES = 64 * 1024;

/** Where the cache in `cacheDir` keeps object `id`: objects/<first 2 hex digits>/<id>
 *  (`megafs fsck` reads it there as a repair source, without opening the cache). */
export function cachedObjectPath(cacheDir: string, id: string): string {
  return objectFile(join(cacheDir, 'objects'), id);
}

function objectFile(objectsDir: string, id: string): string {
  return join(objectsDir, id.slice(0, 2), id);
}

interface Entry {
  sizeBytes: number;
  pinned: boolean;
}

/** Write all of `bytes` to `fd` from offset 0 on the thread pool. With native/data the
 *  disk write of the file starts right after (its fsync at the next commit then finds the
 *  bytes on their way: disk and CPU work overlap instead of taking turns). */
async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  if (nativeData) {
    const r = await new Promise<number>((resolve) => nativeData!.writeOut(fd, bytes, 0, resolve));
    if (r < 0) throw errnoError(r, 'cache write failed');
    return;
  }
  for (let done = 0; done < bytes.length;) {
    done += await new Promise<number>((resolve, reject) => {
      writeCb(fd, bytes, done, bytes.length - done, done, (err, n) => (err ? reject(err) : resolve(n)));
    });
  }
}

/** statfs is asked again after this long, or sooner when the estimate says "full". */
const STATFS_FRESH_MS = 200;
/** Sealed objects are a little bigger than their plaintext (header, tag, padding). */
const SEAL_OVERHEAD = 1.02;
/** Free space kept for the cache's own small files (shard directories, temp files). */
const DISK_MARGIN_BYTES = 1 << 20;

export class DiskCache {
  /** Map order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly madeDirs = new Set<string>();
  private readonly writing = new Map<string, Promise<void>>();
  totalBytes = 0;
  pinnedBytes = 0;

  /** Free bytes on the cache's file system at the last statfs, and cache bytes written since. */
  private freeBytes = Infinity;
  private freeAtMs = 0;
  private writtenSinceStat = 0;

  private constructor(private readonly dir: string, readonly limitBytes: number) {}

  private statFree(): void {
    try {
      const s = statfsSync(this.dir);
      this.freeBytes = Number(s.bavail) * Number(s.bsize);
    } catch {
      this.freeBytes = Infinity; // no statfs here: only the size limit applies
    }
    this.freeAtMs = Date.now();
    this.writtenSinceStat = 0;
  }

  /** Whether `unsealedBytes` of plaintext (every dirty byte, this write's included) can
   *  still be sealed into the cache: under the size limit with what is pinned, and room on
   *  the disk counting what could be evicted. Evicts unpinned objects when the disk is
   *  short. False: the write is refused with ENOSPC before anything of it is taken. */
  async roomFor(unsealedBytes: number): Promise<boolean> {
    if (this.pinnedBytes + unsealedBytes > this.limitBytes) return false;
    const need = unsealedBytes * SEAL_OVERHEAD + DISK_MARGIN_BYTES;
    const estimate = (): number => this.freeBytes - this.writtenSinceStat;
    if (Date.now() - this.freeAtMs > STATFS_FRESH_MS || estimate() < need) this.statFree();
    if (estimate() >= need) return true;
    // Short on disk: give back unpinned objects, oldest first, then look again.
    const target = this.totalBytes - (need - estimate());
    await this.evictUntil(() => this.totalBytes <= target);
    this.statFree();
    return estimate() >= need;
  }

  static async open(cacheDir: string, limitBytes: number): Promise<DiskCache> {
    const dir = join(cacheDir, 'objects');
    await mkdir(dir, { recursive: true });
    const c = new DiskCache(dir, limitBytes);
    for (const shard of await readdir(dir)) {
      for (const name of await readdir(join(dir, shard))) {
        const path = join(dir, shard, name);
        if (!/^[0-9a-f]{64}$/.test(name)) { await unlink(path).catch(() => undefined); continue; }
        const s = await stat(path);
        c.entries.set(name, { sizeBytes: s.size, pinned: false });
        c.totalBytes += s.size;
      }
    }
    return c;
  }

  private path(id: string): string {
    return objectFile(this.dir, id);
  }

  /** Read path (chunk-reader.ts): `fn` runs when an object leaves the cache. */
  private readonly dropListeners: Array<(id: string) => void> = [];
  onDrop(fn: (id: string) => void): void {
    this.dropListeners.push(fn);
  }

  /** Read path: the file of a cached object (null when not cached), marked recently used. */
  fileOf(id: string): string | null {
    const e = this.entries.get(id);
    if (!e) return null;
    this.touch(id, e);
    return this.path(id);
  }

  /** Mark `id` most recently used (the map's last entry). */
  private touch(id: string, e: Entry): void {
    this.entries.delete(id);
    this.entries.set(id, e);
  }

  /** Read path: the size of a cached object in bytes, or null when not cached. */
  sizeOf(id: string): number | null {
    return this.entries.get(id)?.sizeBytes ?? null;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** The write of `id` in progress, if any (a reader of a chunk just sealed waits for it:
   *  until it lands the object is neither here nor, yet, on the store). */
  writingOf(id: string): Promise<void> | undefined {
    return this.writing.get(id);
  }

  /** Write an object (temp file + rename, so a killed process leaves no torn object).
   *  Concurrent puts of one id share one write. */
  async put(id: string, bytes: Uint8Array, pinned: boolean): Promise<void> {
    const writing = this.writing.get(id);
    if (writing) await writing;
    const old = this.entries.get(id);
    if (old) {
      if (pinned) this.pin(id);
      return;
    }
    const run = this.write(id, bytes, pinned).finally(() => this.writing.delete(id));
    this.writing.set(id, run);
    await run;
  }

  private async write(id: string, bytes: Uint8Array, pinned: boolean): Promise<void> {
    const shard = join(this.dir, id.slice(0, 2));
    if (!this.madeDirs.has(shard)) { await mkdir(shard, { recursive: true }); this.madeDirs.add(shard); }
    const tmp = `${this.path(id)}.tmp${process.pid}`;
    try {
      if (bytes.length <= SYNC_WRITE_BYTES) {
        writeFileSync(tmp, bytes);
      } else {
        const fd = openSync(tmp, 'w');
        try {
          await writeAll(fd, bytes);
        } finally {
          closeSync(fd);
        }
      }
      renameSync(tmp, this.path(id));
    } catch (e) {
      // A full disk leaves no half-written temp file behind to keep it full.
      try { unlinkSync(tmp); } catch { /* never created */ }
      this.freeAtMs = 0;
      throw e;
    }
    this.writtenSinceStat += bytes.length;
    this.entries.set(id, { sizeBytes: bytes.length, pinned });
    this.totalBytes += bytes.length;
    if (pinned) this.pinnedBytes += bytes.length;
    await this.evict();
  }

  /** The object's bytes, or null when not cached (a torn or missing file is a miss). */
  async get(id: string): Promise<Uint8Array | null> {
    const e = this.entries.get(id);
    if (!e) return null;
    try {
      const b = await readFile(this.path(id));
      this.touch(id, e);
      return new Uint8Array(b.buffer, b.byteOffset, b.length);
    } catch {
      if (this.entries.get(id) === e) this.drop(id, e); // evicted meanwhile: already dropped
      return null;
    }
  }

  pin(id: string): void {
    const e = this.entries.get(id);
    if (e && !e.pinned) { e.pinned = true; this.pinnedBytes += e.sizeBytes; }
  }

  unpin(id: string): void {
    const e = this.entries.get(id);
    if (e && e.pinned) { e.pinned = false; this.pinnedBytes -= e.sizeBytes; }
  }

  private drop(id: string, e: Entry): void {
    this.entries.delete(id);
    for (const fn of this.dropListeners) fn(id);
    this.totalBytes -= e.sizeBytes;
    if (e.pinned) this.pinnedBytes -= e.sizeBytes;
  }

  async evict(): Promise<void> {
    await this.evictUntil(() => this.totalBytes <= this.limitBytes);
  }

  /** Drop unpinned objects, least recently used first, until `enough()`. */
  private async evictUntil(enough: () => boolean): Promise<void> {
    for (const [id, e] of this.entries) {
      if (enough()) return;
      if (e.pinned) continue;
      this.drop(id, e);
      await unlink(this.path(id)).catch(() => undefined);
    }
  }
}
