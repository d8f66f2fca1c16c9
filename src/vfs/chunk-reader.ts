// Reads of part of a chunk straight from its disk-cache file (docs/design.md "Read path"):
// a chunk whose id hash and AEAD tag were checked in full once in this process is
// "verified"; a later read of a range of it preads only those ciphertext bytes and
// decrypts them with the raw keystream (src/crypto/range.ts), so a 4 KiB read costs
// 4 KiB of work instead of hashing and opening 1 MiB. A chunk not verified never takes
// this path (the caller opens it in full, which verifies it and records it here).
import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { nativeData } from '../platform/native-data.js';
import type { ChunkPlace } from '../crypto/chunk.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import { decryptRange, objectKeystream, payloadSpan, type ObjectKeystream } from '../crypto/range.js';
import { toHex } from '../format/bytes.js';
import { OBJECT_HEADER_BYTES } from '../format/constants.js';
import { releaseSealed, SEALED_CHUNK_BYTES, takeSealedBuffer } from './buffer-pool.js';
import type { DiskCache } from './disk-cache.js';

/** Verified records kept (about 200 bytes each); a forgotten one costs one full open. */
const MAX_VERIFIED = 1 << 16;
/** Cache files held open for range reads: 4096 (4 GiB of chunks), or a quarter of the
 *  process's descriptor limit when that is lower. Node raises the soft limit to the hard
 *  one at startup; /proc/self/limits says what it is. Measured (1 GiB file, cold random
 *  4 KiB reads on a mount): 512 open files 2,314 IOPS, 4096 open files 4,023 (a file that
 *  is not open costs an open(2) of a cold path and a close per read). */
const MAX_OPEN_FILES = openFileBudget();

function openFileBudget(): number {
  const most = 4096;
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    if (line?.includes('unlimited')) return most;
    const soft = Number(line?.split(/\s+/)[3]);
    if (Number.isFinite(soft) && soft > 0) return Math.max(64, Math.min(most, Math.floor(soft / 4)));
  } catch {
    // no /proc: stay well inside the usual 1024
  }
  return 256;
}

/** Range reads up to this size get a fresh small buffer; bigger ones a reused one. */
const SMALL_READ_BYTES = 64 * 1024;

interface Verified {
  /** The key and place the full check used: a range read must ask for the same. */
  key: Uint8Array;
  place: string;
  /** Payload bytes of the chunk (its plain length as stored). */
  dataLength: number;
  ks: ObjectKeystream;
}

interface OpenFile {
  fh: Promise<FileHandle>;
  users: number;
  /** Out of the LRU: closed when the last user is done. */
  closing: boolean;
  /** The kernel was asked to read the whole file ahead (willNeed). */
  advised?: boolean;
}

function placeKey(place: ChunkPlace): string {
  return `${toHex(place.fileId)}:${place.chunkIndex}:${place.isLast ? 1 : 0}`;
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ChunkReader {
  private readonly verified = new LRUCache<string, Verified>({ max: MAX_VERIFIED });
  /** Map order is recency: the first entry is the least recently used. */
  private readonly files = new Map<string, OpenFile>();
  /** Reused buffers for whole objects (readObject). */

  constructor(private readonly p: CryptoPlatform, private readonly cache: DiskCache) {
    cache.onDrop((id) => this.forget(id));
  }

  /** Record that chunk `id` (object header `header`, payload `dataLength` bytes) passed
   *  its id and AEAD check under `key` at `place`. */
  markVerified(id: string, key: Uint8Array, place: ChunkPlace, header: Uint8Array, dataLength: number): void {
    if (!this.cache.has(id)) return; // only cache files are read by range
    this.verified.set(id, { key, place: placeKey(place), dataLength, ks: objectKeystream(key, header.subarray(0, OBJECT_HEADER_BYTES)) });
  }

  isVerified(id: string, key: Uint8Array, place: ChunkPlace): boolean {
    return this.lookup(id, key, place) !== undefined;
  }

  private lookup(id: string, key: Uint8Array, place: ChunkPlace): Verified | undefined {
    const v = this.verified.get(id);
    return v && sameKey(v.key, key) && v.place === placeKey(place) ? v : undefined;
  }

  /** Payload length of a verified chunk, or null. */
  dataLengthOf(id: string, key: Uint8Array, place: ChunkPlace): number | null {
    return this.lookup(id, key, place)?.dataLength ?? null;
  }

  /** The object left the cache (evicted or replaced): its bytes are no longer ours. */
  forget(id: string): void {
    this.verified.delete(id);
    const f = this.files.get(id);
    if (f) { this.files.delete(id); this.retire(f); }
  }

  /** Payload bytes [dataOffset, dataOffset + dest.length) of verified chunk `id` into
   *  `dest`, clamped to the chunk's length: the count written (the caller zero-fills the
   *  rest), or null when the chunk is not verified under (key, place) or its file is gone
   *  (the caller then opens it in full). */
  async readInto(id: string, key: Uint8Array, place: ChunkPlace, dataOffset: number, dest: Uint8Array): Promise<number | null> {
    const v = this.lookup(id, key, place);
    if (!v) return null;
    const want = Math.max(0, Math.min(dest.length, v.dataLength - dataOffset));
    if (want === 0) return 0;
    const span = payloadSpan(dataOffset, want);
    // Big ranges (whole chunks read ahead) use a reused buffer: no fresh 1 MiB each.
    const whole = span.cipherLength > SMALL_READ_BYTES && span.cipherLength <= SEALED_CHUNK_BYTES ? takeSealedBuffer() : null;
    const cipher = whole ? whole.subarray(0, span.cipherLength) : Buffer.allocUnsafe(span.cipherLength);
    try {
      const got = await this.pread(id, cipher, span.cipherOffset);
      if (got !== span.cipherLength) {
        if (got !== null) this.forget(id); // a short file: not the object we checked
        return null;
      }
      const plain = decryptRange(this.p, v.ks, span.paddedOffset, cipher, cipher);
      dest.set(plain.subarray(span.skip, span.skip + want));
      return want;
    } finally {
      if (whole) releaseSealed(whole);
    }
  }

  /** The whole cache file of `id` in a reused buffer (a fresh 1 MiB allocation costs
   *  about 1 ms of page faults here), or null when not cached. The caller checks it in
   *  full, then calls release() once and drops `bytes`. */
  async readObject(id: string): Promise<{ bytes: Uint8Array; release: () => void } | null> {
    const sizeBytes = this.cache.sizeOf(id);
    if (sizeBytes === null) return null;
    const buf = sizeBytes <= SEALED_CHUNK_BYTES ? takeSealedBuffer() : new Uint8Array(sizeBytes);
    const release = (): void => releaseSealed(buf); // a no-op for a buffer the pool did not make
    const got = await this.pread(id, buf.subarray(0, sizeBytes), 0);
    if (got !== sizeBytes) { release(); return null; }
    return { bytes: buf.subarray(0, sizeBytes), release };
  }

  /** Read into `buf` at object offset `position` through a cached open file; the byte
   *  count, or null when the file cannot be opened. */
  private async pread(id: string, buf: Uint8Array, position: number): Promise<number | null> {
    let f = this.files.get(id);
    if (f) {
      this.files.delete(id);
      this.files.set(id, f);
    } else {
      const path = this.cache.fileOf(id);
      if (!path) return null;
      f = { fh: open(path, 'r'), users: 0, closing: false };
      f.fh.catch(() => undefined);
      this.files.set(id, f);
      while (this.files.size > MAX_OPEN_FILES) {
        const [oldId, old] = this.files.entries().next().value as [string, OpenFile];
        this.files.delete(oldId);
        this.retire(old);
      }
    }
    f.users++;
    try {
      const fh = await f.fh;
      let done = 0;
      // What the page cache holds is read here, on the main thread (a few µs); the rest on
      // the thread pool (two thread hand-offs, tens of µs on this VM, but never blocking).
      if (nativeData) {
        while (done < buf.length) {
          const n = nativeData.preadCached(fh.fd, buf.subarray(done), position + done);
          if (n === 0) return done;
          if (n < 0) break;
          done += n;
        }
        // A miss in a chunk read by ranges: have the kernel read the whole (1 MiB) file
        // ahead, so this chunk's next random reads are page-cache hits read right here.
        if (done < buf.length && buf.length < SMALL_READ_BYTES && !f.advised) this.advise(f, fh.fd);
      }
      while (done < buf.length) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    } catch {
      if (this.files.get(id) === f) { this.files.delete(id); this.retire(f); }
      return null;
    } finally {
      this.unuse(f);
    }
  }

  /** willNeed on the pool; the file stays open (a user) until the kernel has the reads. */
  private advise(f: OpenFile, fd: number): void {
    f.advised = true;
    f.users++;
    nativeData!.willNeed(fd, () => this.unuse(f));
  }

  /** A user of `f` is done: a retired file closes with its last user. */
  private unuse(f: OpenFile): void {
    f.users--;
    if (f.closing && f.users === 0) this.close(f);
  }

  private retire(f: OpenFile): void {
    f.closing = true;
    if (f.users === 0) this.close(f);
  }

  private close(f: OpenFile): void {
    f.fh.then((fh) => fh.close()).catch(() => undefined);
  }

  /** Close every held file (unmount). */
  closeAll(): void {
    for (const f of this.files.values()) this.retire(f);
    this.files.clear();
  }
}
