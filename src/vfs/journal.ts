// The local journal: an append-only log of every tree change not yet in a committed
// root, so a killed process loses nothing that close() returned for. Files
// stateDir/journal/<seq>.log; a commit rotates to a new file and, once its root is on
// the store, deletes the files it covered. Record layout:
//   u32le sealedLength || sealed object (docs/format.md "Sealed object"; key = journal
//   key, domain AAD_JOURNAL, context = u64le fileSeq || u64le recordIndex) of JSON(op)
// A torn last record (killed mid-write) fails to open and ends the replay of its file.
// Records are written with write(2), not fsync'ed: they survive a killed process, and
// what must survive a power cut is what fsync put on the store.
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { AAD_JOURNAL } from '../crypto/labels.js';
import { openObject, sealObject } from '../crypto/object.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import { ByteWriter } from '../format/bytes.js';
import type { JournalOp } from './ops.js';

function context(fileSeq: number, recordIndex: number): Uint8Array {
  return new ByteWriter(16).u64(fileSeq).u64(recordIndex).finish();
}

const fileName = (seq: number): string => `${String(seq).padStart(12, '0')}.log`;

export class Journal {
  private seq: number;
  private recordIndex = 0;
  private handle: FileHandle | null = null;
  private handleSeq = -1;
  private tail: Promise<void> = Promise.resolve();
  private failed: Error | null = null;
  private stopped = false;

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

  /** Append `op` to the current file. The file is chosen now (synchronously), so a
   *  rotate() after this call does not move the record. Resolves once written. */
  append(op: JournalOp): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const seq = this.seq;
    const index = this.recordIndex++;
    const sealed = sealObject(this.p, this.key, AAD_JOURNAL, context(seq, index), new TextEncoder().encode(JSON.stringify(op)));
    const rec = Buffer.allocUnsafe(4 + sealed.bytes.length);
    rec.writeUInt32LE(sealed.bytes.length, 0);
    rec.set(sealed.bytes, 4);
    this.tail = this.tail.then(async () => {
      if (this.stopped) return;
      if (this.handleSeq !== seq) {
        await this.handle?.close();
        this.handle = await open(join(this.dir, fileName(seq)), 'a');
        this.handleSeq = seq;
      }
      await this.handle!.write(rec);
    }).catch((e: Error) => { this.failed = e; });
    return this.tail.then(() => { if (this.failed) throw this.failed; });
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
    await this.tail;
    for (const n of await readdir(this.dir)) {
      if (/^\d{12}\.log$/.test(n) && Number(n.slice(0, 12)) <= seq) await unlink(join(this.dir, n)).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.tail;
    this.stopped = true;
    await this.handle?.close();
    this.handle = null;
  }

  /** Crash simulation for tests: stop writing at once, without flushing anything queued. */
  abandon(): void {
    this.stopped = true;
    void this.tail.then(() => this.handle?.close());
  }
}
