// File contents: reads through the memory and disk caches, writes into plaintext chunk
// buffers, truncation, and sealing (chunks -> ciphertext objects in the disk cache,
// queued for upload, recorded in the journal). One operation at a time per file
// (FileNode.lock); reads take no lock (they see the state before or after a change).
// Seal rules (docs/format.md "Chunks"): a chunk is sealed with isLast = (index ==
// lastChunkIndex(size)); when the last index moves (growth, truncation) the old and the
// new last chunk are opened and sealed again. A stored chunk may be shorter than its
// plain length (the rest reads as zeros); holes are absent from the chunk map.
import { fsError, FsError, isMegafsError } from '../errors.js';
import { openChunkAsync, sealChunkAsync } from './crypto-pool.js';
import { freshBuffer, recycleChunkBuffer } from './fresh-buffers.js';
import { releaseSealed } from './buffer-pool.js';
import { chunkKeyFor, openChunk, type ChunkPlace } from '../crypto/chunk.js';
import { ReadAhead } from './read-ahead.js';
import { DamageLog } from './damage-log.js';
import { fromHex, toHex } from '../format/bytes.js';
import { CHUNK_SIZE, OBJECT_HEADER_BYTES } from '../format/constants.js';
import { chunkCount, chunkPlainLength, lastChunkIndex, planRange, type ChunkSpan } from '../chunking/offsets.js';
import { markDirty, pathOf, withFileLock, type FileNode, type Node } from './nodes.js';
import { adopt, resealed } from './rekey.js';
import type { JournalOp } from './ops.js';
import type { VfsContext } from './context.js';
import type { SealedObject } from '../crypto/object.js';

/** Chunks read ahead of a sequential reader. */
const PREFETCH_CHUNKS = 4;
/** Complete dirty chunks a writer may hold before they are sealed early. */
const AHEAD_AFTER_CHUNKS = 4;
/** Chunks of one file being sealed on the thread pool, and written to the cache, while
 *  its writer goes on. */
const MAX_SEALING = 8;
/** Plaintext in dirty buffers, all files together, past which a writer seals its file. */
const DIRTY_LIMIT_BYTES = 128 << 20;
/** Small buffers grow by doubling up to this, then jump to a full chunk. */
const SMALL_BUFFER_BYTES = 64 * 1024;

function capacityFor(bytes: number): number {
  if (bytes > SMALL_BUFFER_BYTES) return CHUNK_SIZE;
  let c = 4096;
  while (c < bytes) c *= 2;
  return c;
}

/** A complete chunk handed to the thread pool for sealing (sealAhead). Its buffer is
 *  read-only from then on, and still the chunk's live content for readers and writers
 *  until the seal lands (then the entry goes). */
/** The key a sealed chunk opens with. Read from the chunk map it was found in
 *  (FileData.keyOf), never from the file later: a rekey (rekey.ts) may swap the file's
 *  key and map between a reader's lookup and its open. */
interface ChunkKeys {
  fileId: Uint8Array;
  chunkKey: Uint8Array;
}

interface SealedRef {
  id: string;
  isLast: boolean;
  key: ChunkKeys;
}

interface Sealing {
  buf: Uint8Array;
  /** Settles (never rejects) once the seal has landed or been dropped. */
  done: Promise<void>;
}

export class FileData {
  /** Files with changes not yet sealed (the commit seals them first). */
  readonly unsealed = new Set<FileNode>();
  private readonly inflight = new Map<string, Promise<Uint8Array>>();
  /** Chunks read ahead for sequential readers, keyed by stageKey (read-ahead.ts). */
  private readonly staged = new ReadAhead();
  /** Chunks being sealed ahead, by index, oldest first (at most MAX_SEALING per file). */
  private readonly sealing = new WeakMap<FileNode, Map<number, Sealing>>();
  /** The key of a chunk map (or map of chunks sealed ahead) a rekey replaced; the file's
   *  current maps go with its current key. */
  private readonly mapKeys = new WeakMap<Map<number, string>, ChunkKeys>();

  /** Read failures of damaged objects, logged once each (damage-log.ts). */
  readonly damage: DamageLog;

  constructor(private readonly ctx: VfsContext) {
    this.damage = new DamageLog((line) => ctx.log(line));
  }

  async chunksOf(f: FileNode): Promise<Map<number, string>> {
    if (!f.chunks) {
      try {
        const loaded = await this.ctx.tree.loadChunkLists(f.lists ?? []);
        // Another call may have loaded them meanwhile (and a rekey replaced that map).
        if (f.chunks) return f.chunks;
        f.chunks = loaded;
      } catch (e) {
        const ids = (f.lists ?? []).map(([, id]) => id).join(', ');
        this.damage.once(ids, e, `megafs: chunk list of ${pathOf(f) ?? '(unlinked file)'} (objects ${ids}) cannot be read: ${(e as Error).message}`);
        throw fsError('EIO', `chunk list of ${pathOf(f)}`);
      }
      f.lists = null;
    }
    return f.chunks;
  }

  blocks(f: FileNode): number {
    const stored = (f.chunks ? [...f.chunks.keys()].filter((i) => i < f.cutIndex).length : chunkCount(f.sealedSize)) + f.ahead.size + f.dirty.size +
      (this.sealing.get(f)?.size ?? 0);
    return Math.ceil(Math.min(f.size, stored * CHUNK_SIZE) / 512);
  }

  /** The key of the chunks in `map`, one of `f`'s maps (synchronously, with the lookup). */
  private keyOf(f: FileNode, map: Map<number, string>): ChunkKeys {
    return this.mapKeys.get(map) ?? { fileId: f.fileId, chunkKey: f.chunkKey };
  }

  /** Open sealed chunk `id` at (f, index) with `key`, through the memory cache. EIO on tampering. */
  private openSealed(f: FileNode, chunkIndex: number, id: string, isLast: boolean, key: ChunkKeys): Promise<Uint8Array> {
    const hit = this.ctx.memGet(id);
    if (hit) return Promise.resolve(hit);
    let p = this.inflight.get(id);
    if (!p) {
      p = (async () => {
        const place = { fileId: key.fileId, chunkIndex, isLast };
        // Sealed here moments ago and not kept in memory: its cache file may still be
        // being written (its failure, if any, is reported to the writer).
        await this.ctx.cache.writingOf(id)?.catch(() => undefined);
        // Checked in full before in this process: decrypt its cache file, no second check.
        const known = this.ctx.reader.dataLengthOf(id, key.chunkKey, place);
        if (known !== null) {
          const plain = new Uint8Array(known);
          if (await this.ctx.reader.readInto(id, key.chunkKey, place, 0, plain) === known) {
            this.ctx.memSet(id, plain);
            return plain;
          }
        }
        let got: { bytes: Uint8Array; checked: boolean; owned: boolean; release?: () => void };
        try {
          // The cache file into a reused buffer when it is there, else the object path.
          const local = await this.ctx.reader.readObject(id);
          got = local ? { ...local, checked: false, owned: false } : await this.ctx.fetchChunk(id);
        } catch (e) {
          this.damage.once(id, e, `megafs: cannot fetch chunk ${chunkIndex} (object ${id}) of ${pathOf(f) ?? '(unlinked file)'}: ${(e as Error).message}`);
          throw fsError('EIO', `chunk ${chunkIndex}`);
        }
        try {
          const header = got.bytes.slice(0, OBJECT_HEADER_BYTES); // got.bytes may go to a worker
          const plain = await openChunkAsync(key.chunkKey, place, got.bytes, got.checked ? undefined : id, got.owned);
          this.ctx.reader.markVerified(id, key.chunkKey, place, header, plain.length);
          this.ctx.memSet(id, plain);
          this.damage.healed(id);
          return plain;
        } catch (e) {
          this.damage.once(id, e, `megafs: chunk ${chunkIndex} (object ${id}) of ${pathOf(f) ?? '(unlinked file)'} failed its integrity check: ${(e as Error).message}`);
          throw fsError('EIO', `chunk ${chunkIndex} failed its integrity check`);
        } finally {
          got.release?.();
        }
      })().finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  /** The sealed chunk behind idx ignoring dirty buffers: ahead, then the chunk map;
   *  null for a hole. */
  private async sealedRef(f: FileNode, idx: number): Promise<SealedRef | null> {
    if (idx > lastChunkIndex(f.size)) return null;
    const ahead = f.ahead.get(idx);
    if (ahead) return { id: ahead, isLast: false, key: this.keyOf(f, f.ahead) };
    const chunks = await this.chunksOf(f);
    const id = idx < f.cutIndex ? chunks.get(idx) : undefined;
    return id ? { id, isLast: idx === lastChunkIndex(f.sealedSize), key: this.keyOf(f, chunks) } : null;
  }

  /** The live chunk ignoring dirty buffers: ahead, then sealed; null for a hole. */
  private async sealedPlain(f: FileNode, idx: number): Promise<Uint8Array | null> {
    const ref = await this.sealedRef(f, idx);
    return ref ? this.openSealed(f, idx, ref.id, ref.isLast, ref.key) : null;
  }

  /** One chunk's part of a read into `dest`: the dirty buffer, the memory cache, a range
   *  of a verified chunk's cache file (no 1 MiB open for a 4 KiB read), or a full open
   *  (which checks the chunk and records it as verified). */
  private async readSpan(f: FileNode, s: ChunkSpan, dest: Uint8Array): Promise<void> {
    let plain: Uint8Array | null | undefined = this.liveBuffer(f, s.chunkIndex);
    if (!plain) {
      const ref = await this.sealedRef(f, s.chunkIndex);
      if (ref) {
        plain = this.ctx.memGet(ref.id);
        if (!plain) {
          // Read ahead for a sequential reader: wait for it, copy out synchronously.
          const key = stageKey(s.chunkIndex, ref);
          const loading = this.staged.loadingOf(key);
          if (loading) await loading;
          const n = this.staged.copyOut(key, s.offsetInChunk, dest);
          if (n !== null) { dest.fill(0, n); return; }
        }
        if (!plain && !this.inflight.has(ref.id)) {
          const place = { fileId: ref.key.fileId, chunkIndex: s.chunkIndex, isLast: ref.isLast };
          const n = await this.ctx.reader.readInto(ref.id, ref.key.chunkKey, place, s.offsetInChunk, dest);
          if (n !== null) { dest.fill(0, n); return; }
        }
        plain ??= await this.openSealed(f, s.chunkIndex, ref.id, ref.isLast, ref.key);
      }
    }
    const avail = plain ? Math.max(0, Math.min(s.length, plain.length - s.offsetInChunk)) : 0;
    if (avail > 0) dest.set(plain!.subarray(s.offsetInChunk, s.offsetInChunk + avail));
    dest.fill(0, avail);
  }

  /** Read chunk idx ahead of a sequential reader: from the disk cache into the read-ahead
   *  buffers (not the memory cache), else through the object path. */
  private async prefetch(f: FileNode, idx: number): Promise<void> {
    const ref = await this.sealedRef(f, idx);
    if (!ref || this.inflight.has(ref.id) || this.ctx.memGet(ref.id)) return;
    const place = { fileId: ref.key.fileId, chunkIndex: idx, isLast: ref.isLast };
    if (this.ctx.cache.has(ref.id)) this.staged.load(stageKey(idx, ref), (out) => this.fillAhead(ref.key.chunkKey, ref.id, place, out));
    else await this.openSealed(f, idx, ref.id, ref.isLast, ref.key);
  }

  /** Chunk `id`'s plaintext into `out`: by range when verified, else read from its cache
   *  file and checked in full (then recorded as verified). Null on any failure: the
   *  reader's own read then opens the chunk and reports it. */
  private async fillAhead(chunkKey: Uint8Array, id: string, place: ChunkPlace, out: Uint8Array): Promise<Uint8Array | null> {
    const known = this.ctx.reader.dataLengthOf(id, chunkKey, place);
    if (known !== null) {
      const dest = out.subarray(0, known);
      return (await this.ctx.reader.readInto(id, chunkKey, place, 0, dest)) === known ? dest : null;
    }
    const local = await this.ctx.reader.readObject(id);
    if (!local) return null;
    try {
      const plain = openChunk(this.ctx.p, chunkKey, place, local.bytes, id, out);
      this.ctx.reader.markVerified(id, chunkKey, place, local.bytes, plain.length);
      return plain;
    } catch {
      return null;
    } finally {
      local.release();
    }
  }

  async read(f: FileNode, buf: Uint8Array, length: number, position: number, sequential: boolean): Promise<number> {
    if (position >= f.size || length <= 0) return 0;
    const n = Math.min(length, f.size - position);
    const spans = planRange(position, n);
    await Promise.all(spans.map((s) => this.readSpan(f, s, buf.subarray(s.bufferOffset, s.bufferOffset + s.length))));
    if (sequential) {
      const last = lastChunkIndex(f.size);
      const from = spans[spans.length - 1].chunkIndex + 1;
      for (let i = from; i < from + PREFETCH_CHUNKS && i <= last; i++) {
        if (!this.liveBuffer(f, i)) void this.prefetch(f, i).catch(() => undefined);
      }
    }
    return n;
  }

  private setDirty(f: FileNode, idx: number, buf: Uint8Array): void {
    const old = f.dirty.get(idx);
    const delta = buf.length - (old?.length ?? 0);
    // A replaced dirty buffer is referenced nowhere else (dirty buffers enter the memory
    // cache only once sealed and out of f.dirty): its memory serves the next write.
    if (old && old.buffer !== buf.buffer) recycleChunkBuffer(old);
    f.dirty.set(idx, buf);
    f.dirtyBytes += delta;
    this.ctx.dirtyBytes += delta;
  }

  private dropDirty(f: FileNode, idx: number): void {
    const old = f.dirty.get(idx);
    if (!old) return;
    f.dirty.delete(idx);
    this.uncount(f, old);
  }

  /** The dirty buffer of chunk idx, at least `need` bytes, holding the live content. */
  private async bufferFor(f: FileNode, idx: number, need: number, overwritesAll: boolean): Promise<Uint8Array> {
    let b = f.dirty.get(idx);
    if (!b) {
      const base = overwritesAll ? null : this.sealing.get(f)?.get(idx)?.buf ?? await this.sealedPlain(f, idx);
      b = freshBuffer(capacityFor(Math.max(need, base?.length ?? 0)));
      if (base) b.set(base);
      this.setDirty(f, idx, b);
    } else if (b.length < need) {
      const nb = freshBuffer(capacityFor(need));
      nb.set(b);
      this.setDirty(f, idx, (b = nb));
    }
    return b;
  }

  private touched(f: FileNode): void {
    f.mtimeMs = f.ctimeMs = Date.now();
    f.origin = null;
    markDirty(f.parent);
    this.unsealed.add(f);
    this.ctx.changed();
  }

  /** `data` must be the caller's private copy: whole chunks of it become dirty buffers. */
  write(f: FileNode, data: Uint8Array, position: number, append: boolean): Promise<number> {
    return withFileLock(f, async () => {
      if (append) position = f.size;
      const end = position + data.length;
      if (!Number.isSafeInteger(end) || end > 2 ** 52) throw fsError('EFBIG', `write past ${end}`);
      if (!(await this.ctx.cache.roomFor(this.ctx.dirtyBytes + data.length))) {
        throw fsError('ENOSPC', 'the cache is full of data not yet uploaded');
      }
      await this.unexposed(f, false);
      const newSize = Math.max(f.size, end);
      // First the buffers of the partial chunks (reading what they hold may fail: the
      // store is away and the chunk not cached), then, synchronously, the copy: a write
      // that fails changes nothing, never half of its range.
      const spans = planRange(position, data.length);
      const bufs: (Uint8Array | null)[] = [];
      for (const s of spans) {
        const whole = s.offsetInChunk === 0 && s.length >= chunkPlainLength(s.chunkIndex, newSize);
        bufs.push(s.length === CHUNK_SIZE ? null : await this.bufferFor(f, s.chunkIndex, s.offsetInChunk + s.length, whole));
      }
      let adopted = false;
      for (const [k, s] of spans.entries()) {
        const piece = data.subarray(s.bufferOffset, s.bufferOffset + s.length);
        const b = bufs[k];
        if (b === null) {
          // A whole chunk: adopt the caller's private copy (engine.write made it), no copy.
          this.setDirty(f, s.chunkIndex, piece);
          adopted = true;
        } else {
          b.set(piece, s.offsetInChunk);
        }
      }
      // Copied into dirty buffers (an unaligned 1 MiB write): its memory serves the next write.
      if (!adopted) recycleChunkBuffer(data);
      f.size = newSize;
      this.touched(f);
      if (f.dirty.size > AHEAD_AFTER_CHUNKS) await this.sealAhead(f);
      if (this.ctx.dirtyBytes > DIRTY_LIMIT_BYTES) await this.sealLocked(f);
      return data.length;
    });
  }

  /** The chunk's live plaintext while it is not sealed: its dirty buffer, or the buffer
   *  being sealed. Read synchronously only (a sealed buffer is reused for the next write). */
  private liveBuffer(f: FileNode, idx: number): Uint8Array | undefined {
    return f.dirty.get(idx) ?? this.sealing.get(f)?.get(idx)?.buf;
  }

  /** Hand the complete chunks before the last one (isLast false) to the thread pool, to
   *  bound memory; the writer goes on while they are sealed. Then wait until at most
   *  MAX_SEALING are in flight. File lock held. */
  private async sealAhead(f: FileNode): Promise<void> {
    const last = lastChunkIndex(f.size);
    let map = this.sealing.get(f);
    if (!map) this.sealing.set(f, (map = new Map()));
    const inFlight = map;
    for (const [idx, buf] of [...f.dirty]) {
      if (idx >= last) continue;
      f.dirty.delete(idx); // still counted in dirtyBytes until the seal lands
      const entry: Sealing = { buf, done: Promise.resolve() };
      const failed = (e: Error): void => {
        // The data stays dirty (still counted) and the failure is reported by the next
        // flush or fsync of this file: a full cache disk (ENOSPC), or a bug in sealing.
        const current = inFlight.get(idx) === entry;
        if (current) inFlight.delete(idx);
        if (current && !f.dirty.has(idx)) f.dirty.set(idx, buf); // still counted
        else this.uncount(f, buf);
        this.noteFailure(f, e);
      };
      // Sealed on the pool, then written to the cache: only then does the chunk land (an
      // id goes into f.ahead only once its object is on disk and queued for upload).
      entry.done = sealChunkAsync(f.chunkKey, { fileId: f.fileId, chunkIndex: idx, isLast: false }, buf).then(
        (o) => {
          if (inFlight.get(idx) !== entry) return this.sealLanded(f, inFlight, idx, entry, o);
          return this.ctx.persist(o, f).then(() => this.sealLanded(f, inFlight, idx, entry, o, true), failed);
        },
        failed,
      );
      inFlight.delete(idx); // a newer entry goes last (Map order is age)
      inFlight.set(idx, entry);
    }
    while (inFlight.size > MAX_SEALING) await inFlight.values().next().value!.done;
  }

  /** A chunk sealed ahead is back and, when `persisted`, on disk and queued (no lock
   *  held: synchronous, so no operation of this file sees a half-done state). Unless a
   *  newer seal of the same index started, its id goes to f.ahead; a dirty buffer written
   *  since keeps precedence over it everywhere. */
  private sealLanded(f: FileNode, inFlight: Map<number, Sealing>, idx: number, entry: Sealing, o: SealedObject, persisted = false): void {
    this.uncount(f, entry.buf);
    if (inFlight.get(idx) !== entry) {
      // Superseded by a newer seal of this chunk: nothing refers to this one (if it went
      // to the cache it is an unneeded upload, never named by a root).
      if (!persisted) releaseSealed(o.bytes);
      recycleChunkBuffer(entry.buf);
      return;
    }
    inFlight.delete(idx);
    f.ahead.set(idx, o.id);
    f.pendingIds.add(o.id);
    this.ctx.sealedDirty(o.id, entry.buf);
  }

  /** A failure of this file's data that its next flush or fsync reports (once). */
  noteFailure(f: FileNode, e: Error): void {
    const err = isMegafsError(e) ? e : fsError('EIO', e.message);
    this.ctx.recordError(`${pathOf(f) ?? '(unlinked file)'}: ${err.message}`);
    if (f.errors.length < 16) f.errors.push(err);
  }

  /** Bytes of a buffer that left the dirty set (dropped, or its seal landed) no longer
   *  count as dirty. */
  private uncount(f: FileNode, buf: Uint8Array): void {
    f.dirtyBytes -= buf.length;
    this.ctx.dirtyBytes -= buf.length;
  }

  /** Wait for every seal of `f` in flight to land (file lock held). */
  private async drainSealing(f: FileNode): Promise<void> {
    const map = this.sealing.get(f);
    while (map && map.size > 0) await map.values().next().value!.done;
  }

  truncate(f: FileNode, size: number): Promise<void> {
    return withFileLock(f, async () => {
      await this.drainSealing(f);
      await this.unexposed(f, size === 0);
      if (size < f.size) {
        const keep = chunkCount(size);
        for (const idx of [...f.dirty.keys()]) if (idx >= keep) this.dropDirty(f, idx);
        for (const idx of [...f.ahead.keys()]) if (idx >= keep) f.ahead.delete(idx);
        f.cutIndex = Math.min(f.cutIndex, keep);
        const inChunk = size % CHUNK_SIZE;
        if (inChunk !== 0) {
          const idx = keep - 1;
          let b = f.dirty.get(idx);
          if (!b) {
            const base = await this.sealedPlain(f, idx);
            if (base) { b = new Uint8Array(capacityFor(base.length)); b.set(base); this.setDirty(f, idx, b); }
          }
          b?.fill(0, inChunk);
        }
      }
      f.size = size;
      this.touched(f);
    });
  }

  /** fallocate's PUNCH_HOLE and ZERO_RANGE: [offset, offset + length) reads as zeros.
   *  Whole chunks inside the range become holes (nothing stored, as truncate's holes;
   *  journaled at once as a `data` record that drops them); the partial chunks at its
   *  edges get zeros in their dirty buffers. The size does not change here. */
  zeroRange(f: FileNode, offset: number, length: number): Promise<void> {
    return withFileLock(f, async () => {
      const end = Math.min(offset + length, f.size);
      if (end <= offset) return;
      await this.drainSealing(f);
      await this.unexposed(f, false);
      // Chunks wholly inside: [firstWhole, endWhole). The chunk holding EOF is whole when
      // the range reaches the end of the file.
      const firstWhole = Math.ceil(offset / CHUNK_SIZE);
      const endWhole = end === f.size ? chunkCount(f.size) : Math.floor(end / CHUNK_SIZE);
      for (const [from, to] of [[offset, Math.min(end, firstWhole * CHUNK_SIZE)], [Math.max(offset, endWhole * CHUNK_SIZE), end]]) {
        if (to <= from || (from >= firstWhole * CHUNK_SIZE && to <= endWhole * CHUNK_SIZE)) continue;
        const idx = Math.floor(from / CHUNK_SIZE);
        const at = from - idx * CHUNK_SIZE;
        const b = await this.bufferFor(f, idx, Math.min(chunkPlainLength(idx, f.size), CHUNK_SIZE), false);
        b.fill(0, at, at + (to - from));
      }
      if (endWhole > firstWhole) {
        const chunks = await this.chunksOf(f);
        const drop: number[] = [];
        for (let i = firstWhole; i < endWhole; i++) {
          if (f.dirty.has(i)) this.dropDirty(f, i);
          f.ahead.delete(i);
          if (chunks.delete(i)) drop.push(i);
        }
        const path = pathOf(f);
        if (drop.length > 0 && path) {
          f.sealSeq++;
          await this.ctx.journal.append({
            op: 'data', path, fileId: toHex(f.fileId), size: f.sealedSize, cutIndex: chunkCount(f.sealedSize), set: [], drop, mtimeMs: Date.now(),
          });
        }
      }
      this.touched(f);
    });
  }

  /** Before a content change (file lock held): a file whose key a share link may hold
   *  moves to a new file id and key first (rekey.ts), so nothing it gets from now on is
   *  sealed under a key a link holds. `cut`: a truncate to zero follows, nothing of the
   *  content is sealed again. */
  private async unexposed(f: FileNode, cut: boolean): Promise<void> {
    const exposed = this.ctx.exposure.exposes(f.fileId);
    if (exposed === false || !(await exposed)) return;
    await this.drainSealing(f);
    const path = pathOf(f);
    if (path === null) return; // unlinked: nothing of it will be kept or read by a link
    const chunks = await this.chunksOf(f);
    const oldKey = this.keyOf(f, chunks);
    const r = await resealed(this.ctx, f, chunks, (i, id, isLast) => this.openSealed(f, i, id, isLast, oldKey), cut);
    // From here on synchronous: the file is never seen half under one key. A reader that
    // looked up a chunk in the old maps opens it with the old key (keyOf).
    this.mapKeys.set(chunks, oldKey);
    this.mapKeys.set(f.ahead, oldKey);
    const oldId = toHex(f.fileId);
    adopt(f, r);
    if (cut) {
      for (const i of [...f.dirty.keys()]) this.dropDirty(f, i);
      f.size = f.sealedSize = 0;
      f.cutIndex = 0;
    }
    f.chunks = r.chunks;
    f.ahead = r.ahead;
    f.origin = null;
    f.sealSeq++;
    markDirty(f.parent);
    this.ctx.changed();
    await this.ctx.journal.append({
      op: 'rekey', path, fileId: oldId, newFileId: toHex(r.fileId), fileKey: toHex(r.fileKey), size: f.sealedSize,
      set: [...r.chunks], cut, mtimeMs: f.mtimeMs,
    });
  }

  /** A share's view of `f` (shares.ts): sealed, then, in one synchronous step, its sealed
   *  state frozen and its key marked exposed. Every later content change takes the lock
   *  after this and finds the file exposed (unexposed above), so nothing is ever sealed
   *  under this key again. */
  capture(f: FileNode): Promise<{ fileId: Uint8Array; fileKey: Uint8Array; size: number; mtimeMs: number; chunks: Map<number, string> }> {
    return withFileLock(f, async () => {
      await this.sealLocked(f);
      const all = await this.chunksOf(f);
      const count = chunkCount(f.sealedSize);
      const chunks = new Map([...all].filter(([i]) => i < count));
      this.ctx.exposure.add(f.fileId);
      return { fileId: f.fileId, fileKey: f.fileKey, size: f.sealedSize, mtimeMs: f.mtimeMs, chunks };
    });
  }

  /** Journal replay of a 'rekey' record. */
  async applyRekey(n: Node, op: Extract<JournalOp, { op: 'rekey' }>): Promise<void> {
    if (n.type !== 'file' || toHex(n.fileId) !== op.fileId) throw fsError('ENOENT', `${op.path} is another file now`);
    const fileKey = fromHex(op.fileKey);
    adopt(n, { fileId: fromHex(op.newFileId), fileKey, chunkKey: chunkKeyFor(fileKey) });
    if (op.cut) {
      this.forget(n);
      n.size = 0;
    }
    n.chunks = new Map(op.set);
    n.lists = null;
    for (const [, id] of op.set) {
      if (!this.ctx.cache.has(id)) continue;
      this.ctx.cache.pin(id);
      this.ctx.uploader.enqueue(id, null, undefined, n);
      n.pendingIds.add(id);
    }
    n.sealedSize = op.size;
    n.cutIndex = chunkCount(op.size);
    n.origin = null;
    markDirty(n.parent);
  }

  needsSeal(f: FileNode): boolean {
    return f.dirty.size > 0 || (this.sealing.get(f)?.size ?? 0) > 0 || f.ahead.size > 0 || f.size !== f.sealedSize || f.cutIndex < chunkCount(f.sealedSize);
  }

  /** Seal every change of `f`: chunks to the cache and upload queue, a journal record.
   *  When this resolves, the change survives a killed process. */
  seal(f: FileNode): Promise<void> {
    return withFileLock(f, () => this.sealLocked(f));
  }

  private async sealLocked(f: FileNode): Promise<void> {
    if (!this.needsSeal(f)) { this.unsealed.delete(f); return; }
    await this.drainSealing(f);
    const chunks = await this.chunksOf(f);
    const S = f.size;
    const last = lastChunkIndex(S);
    const oldLast = lastChunkIndex(f.sealedSize);
    const reload = new Set<number>();
    if (oldLast !== last) {
      for (const idx of [oldLast, last]) {
        if (idx >= 0 && idx <= last && (f.ahead.has(idx) || (idx < f.cutIndex && chunks.has(idx)))) reload.add(idx);
      }
    }
    if (f.ahead.has(last)) reload.add(last);
    for (const idx of reload) {
      if (f.dirty.has(idx)) continue;
      const base = await this.sealedPlain(f, idx);
      if (base) { const b = new Uint8Array(base.length); b.set(base); this.setDirty(f, idx, b); }
    }
    // Seal on the worker pool first (the file lock is held: the buffers stay as they are).
    const toSeal = [...f.dirty].filter(([i]) => i <= last).map(([i, buf]) => {
      const plain = buf.subarray(0, Math.min(buf.length, chunkPlainLength(i, S)));
      return { i, plain, o: sealChunkAsync(f.chunkKey, { fileId: f.fileId, chunkIndex: i, isLast: i === last }, plain) };
    });
    const sealedObjs = await Promise.all(toSeal.map((t) => t.o));
    // On disk and queued before anything names them (the commit invariant): a cache disk
    // that is full fails this seal with ENOSPC, the file keeps its dirty buffers and its
    // last sealed state, and nothing half-sealed is left behind.
    const persisted = await Promise.allSettled(sealedObjs.map((o) => this.ctx.persist(o, f)));
    const failure = persisted.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    // From here on, synchronous: the tree never sees a half-sealed file.
    const next = new Map<number, string>();
    for (const [i, id] of chunks) if (i < f.cutIndex && i <= last) next.set(i, id);
    const set: [number, string][] = [];
    for (const [i, id] of f.ahead) {
      if (i <= last && !f.dirty.has(i)) { next.set(i, id); set.push([i, id]); }
    }
    for (const [k, { i, plain }] of toSeal.entries()) {
      const o = sealedObjs[k];
      next.set(i, o.id);
      set.push([i, o.id]);
      f.pendingIds.add(o.id);
      this.ctx.sealedDirty(o.id, plain);
    }
    const cutIndex = f.cutIndex;
    for (const i of [...f.dirty.keys()]) this.dropDirty(f, i);
    f.ahead.clear();
    f.chunks = next;
    f.sealedSize = S;
    f.cutIndex = chunkCount(S);
    f.origin = null;
    f.sealSeq++;
    markDirty(f.parent);
    this.unsealed.delete(f);
    this.ctx.changed();
    const path = pathOf(f);
    if (path) await this.ctx.journal.append({ op: 'data', path, fileId: toHex(f.fileId), size: S, cutIndex, set, mtimeMs: f.mtimeMs });
  }

  /** What a close (flush) of a writer reports: a local failure (ENOSPC: the cache disk
   *  was full) or a refusal of the store (EDQUOT, EFBIG), each once. A store that is down
   *  is not an error for close: the data is in the journal and goes up later. */
  reportErrors(f: FileNode): void {
    const local = f.errors.shift();
    if (local) throw local;
    for (const id of [...f.pendingIds]) {
      if (!this.ctx.uploader.isPending(id)) { f.pendingIds.delete(id); f.reportedRefusals.delete(id); continue; }
      const refusal = this.ctx.uploader.refusalOf(id);
      if (refusal && !f.reportedRefusals.has(id)) {
        for (const other of f.pendingIds) if (this.ctx.uploader.refusalOf(other)) f.reportedRefusals.add(other);
        const code = isMegafsError(refusal, 'E_TOO_LARGE') ? 'EFBIG' : 'EDQUOT';
        throw fsError(code, `${pathOf(f) ?? '(unlinked file)'}: the store refused it: ${refusal.message}`);
      }
    }
  }

  /** What an fsync reports when the commit could not reach the store: EIO once per
   *  sealed state (the kernel's errseq rule: not again until new data fails). */
  reportStoreFailure(f: FileNode | null, e: Error): void {
    if (f) {
      if (f.fsyncReportedSeq === f.sealSeq) return;
      f.fsyncReportedSeq = f.sealSeq;
    }
    throw new FsError('EIO', `fsync: ${e.message}`, { cause: e });
  }

  /** Drop the buffers of an unlinked file nobody holds open. */
  forget(f: FileNode): void {
    for (const i of [...f.dirty.keys()]) this.dropDirty(f, i);
    f.ahead.clear();
    this.unsealed.delete(f);
  }

  /** Journal replay of a 'data' record. */
  async applyRecord(n: Node, op: Extract<JournalOp, { op: 'data' }>): Promise<void> {
    if (n.type !== 'file' || toHex(n.fileId) !== op.fileId) throw fsError('ENOENT', `${op.path} is another file now`);
    const chunks = await this.chunksOf(n);
    const last = lastChunkIndex(op.size);
    for (const i of [...chunks.keys()]) if (i >= op.cutIndex || i > last) chunks.delete(i);
    for (const i of op.drop ?? []) chunks.delete(i);
    for (const [i, id] of op.set) {
      chunks.set(i, id);
      if (this.ctx.cache.has(id)) {
        this.ctx.cache.pin(id);
        this.ctx.uploader.enqueue(id, null, undefined, n);
        n.pendingIds.add(id);
      }
    }
    n.size = n.sealedSize = op.size;
    n.cutIndex = chunkCount(op.size);
    n.mtimeMs = op.mtimeMs;
    n.origin = null;
    markDirty(n.parent);
  }
}

/** Read-ahead entries are per (chunk id, file, index, isLast): what a full open checks. */
function stageKey(idx: number, ref: SealedRef): string {
  return `${ref.id}:${toHex(ref.key.fileId)}:${idx}:${ref.isLast ? 1 : 0}`;
}

export function isEio(e: unknown): boolean {
  return isMegafsError(e, 'EIO');
}
