// The local journal: an append-only log of every tree change not yet in a committed
// root, so a killed process loses nothing that close() returned for. Files
// stateDir/journal/<seq>.log; a commit rotates to a new file and, once its root is on
// the store, deletes the files it covered. Record layout:
//   u32le sealedLength || sealed object (docs/format.md "Sealed object"; key = journal
//   key, domain AAD_JOURNAL, context = u64le fileSeq || u64le recordIndex) of JSON(op)
// A torn last record (killed mid-write) fails to open and ends the replay of its file.
// Records are written with write(2), not fsync'ed: they survive a killed process, and
// what must survive a power cut is what fsync put on the store. The write is synchronous
// (a few microseconds into the page cache): a round trip through libuv's thread pool
// costs more, and waits behind whatever else the pool is doing (store fsyncs).
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AAD_JOURNAL } from '../crypto/labels.js';
import { openObject, sealObject, sealedSize } from '../crypto/object.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import { ByteWriter, utf8 } from '../format/bytes.js';
import type { JournalOp } from './ops.js';

function context(fileSeq: number, recordIndex: number): Uint8Array {
  return new ByteWriter(16).u64(fileSeq).u64(recordIndex).finish();
}

const fileName = (seq: number): string => `${String(seq).padStart(12, '0')}.log`;

export class Journal {
  private seq: number;
  private recordIndex = 0;
  private fd: number | null = null;
  private fdSeq = -1;
  /** Length of the open file (where the next record starts). */
  private fdBytes = 0;
  private stopped = false;
  /** abandon() was called (tests' crash): nothing is written or deleted any more. */
  private abandoned = false;

  private constructor(private readonly dir: string, private readonly p: CryptoPlatform, private readonly key: Uint8Array, seq: number) {
    this.seq = seq;
  }

  /** Open the journal and read back every record of files with seq >= fromSeq. */
  static async open(stateDir: string, p: CryptoPlatform, key: Uint8Array, fromSeq: number): Promise<{ journal: Journal; ops: JournalOp[] }> {
    const dir = join(stateDir, 'journal');
    await mkdir(dir, { recursive: true });
    const seqs = (await readdir(dir)).filter((n) => /^\d{12}\.log$/.test(n)).map((n) => Number(n.slice(0, 12))).sort((a, b) => a - b);
    const ops: JournalOp[] = [];
    for (const seq of seqs) {
      if (seq < fromSeq) { await unlink(join(dir, fileName(seq))).catch(() => undefined); continue; }
      const bytes = await readFile(join(dir, fileName(seq)));
      let at = 0;
      for (let i = 0; at + 4 <= bytes.length; i++) {
        const len = bytes.readUInt32LE(at);
        if (at + 4 + len > bytes.length) break;
        try {
          const payload = openObject(p, key, AAD_JOURNAL, context(seq, i), bytes.subarray(at + 4, at + 4 + len));
          ops.push(JSON.parse(new TextDecoder().decode(payload)) as JournalOp);
        } catch {
          break;
        }
        at += 4 + len;
      }
    }
    const next = Math.max(fromSeq, (seqs[seqs.length - 1] ?? 0) + 1);
    return { journal: new Journal(dir, p, key, next), ops };
  }

  get currentSeq(): number {
    return this.seq;
  }

  /** Append `op` to the current file, synchronously: when this returns (or throws) the
   *  record is written (or not). A rotate() after it does not move the record. */
  appendSync(op: JournalOp): void {
    if (this.stopped) return;
    const seq = this.seq;
    const index = this.recordIndex++;
    const payload = utf8(JSON.stringify(op));
    // Sealed straight into the record, after its 4-byte length.
    const rec = Buffer.allocUnsafe(4 + sealedSize(payload.length));
    const sealed = sealObject(this.p, this.key, AAD_JOURNAL, context(seq, index), payload, undefined, rec.subarray(4));
    rec.writeUInt32LE(sealed.bytes.length, 0);
    try {
      if (this.fdSeq !== seq) {
        this.closeFd();
        this.fd = openSync(join(this.dir, fileName(seq)), 'a');
        this.fdSeq = seq;
        this.fdBytes = fstatSync(this.fd).size;
      }
      for (let at = 0; at < rec.length;) at += writeSync(this.fd!, rec, at);
      this.fdBytes += rec.length;
    } catch (e) {
      // A full disk: the record is not written, and no torn record may stay behind (the
      // replay stops at the first record that does not open, so every later one would be
      // lost); its index is used again by the next record.
      if (this.fd !== null && this.fdSeq === seq) {
        try { ftruncateSync(this.fd, this.fdBytes); } catch { /* the file stays as it was */ }
      }
      if (this.seq === seq) this.recordIndex = index;
      throw e;
    }
  }

  /** appendSync as a promise (a failed write rejects). */
  append(op: JournalOp): Promise<void> {
    try {
      this.appendSync(op);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  private closeFd(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.fdSeq = -1;
  }

  /** Start a new file; returns the seq of the file just closed for appends. */
  rotate(): number {
    const old = this.seq;
    this.seq++;
    this.recordIndex = 0;
    return old;
  }

  /** Delete every file with seq <= `seq` (their changes are in a committed root). */
  async dropThrough(seq: number): Promise<void> {
    // An abandoned journal deletes nothing either: a commit still in flight in the
    // "killed" instance must not remove files the next instance replays from.
    if (this.abandoned) return;
    if (this.fdSeq >= 0 && this.fdSeq <= seq) this.closeFd();
    for (const n of await readdir(this.dir)) {
      if (/^\d{12}\.log$/.test(n) && Number(n.slice(0, 12)) <= seq) await unlink(join(this.dir, n)).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.closeFd();
  }

  /** Crash simulation for tests: stop writing at once (every record so far is written). */
  abandon(): void {
    this.stopped = true;
    this.abandoned = true;
    this.closeFd();
  }
}
