// Small files through the journal. A flush or close of a file whose whole live content is
// one dirty buffer of at most INLINE_MAX_BYTES writes that content into an 'inline'
// journal record (sealed with the journal key like every record) instead of sealing a
// chunk: one write(2) per close instead of a cache file, an upload and a record. The file
// stays in FileData.unsealed; the next commit seals it with the others. A replay after a
// killed process rebuilds the dirty buffer from the record (engine.apply 'inline').
// Lock: runs under the file's content lock (FileNode.lock, as file-data.ts does).
import { fromBase64, toBase64, toHex } from '../format/bytes.js';
import { fsError } from '../errors.js';
import type { FileData } from './file-data.js';
import type { Journal } from './journal.js';
import { pathOf, withFileLock, type FileNode, type Node } from './nodes.js';
import type { JournalOp } from './ops.js';

/** Largest file whose content goes into the journal at close (bytes; < one chunk). */
export const INLINE_MAX_BYTES = 64 * 1024;

type InlineOp = Extract<JournalOp, { op: 'inline' }>;

export class SmallFiles {
  /** Files whose live content is in the journal as of their last change. */
  private readonly journaled = new WeakSet<FileNode>();

  constructor(private readonly data: FileData, private readonly journal: Journal) {}

  /** `f`'s content changes (write, truncate): its last inline record is stale. */
  changed(f: FileNode): void {
    this.journaled.delete(f);
  }

  /** Make `f`'s unsealed content survive a killed process through the journal. False
   *  when it does not qualify (large, partly sealed): the caller seals it instead. */
  keep(f: FileNode): Promise<boolean> {
    return withFileLock(f, () => {
      if (!this.data.needsSeal(f) || this.journaled.has(f)) return true;
      const path = pathOf(f);
      if (path === null) return true; // unlinked: nothing to keep
      const buf = f.dirty.get(0);
      if (f.size > INLINE_MAX_BYTES || f.ahead.size > 0 || f.dirty.size > (buf ? 1 : 0) || (!buf && f.size > 0)) return false;
      const bytes = new Uint8Array(f.size);
      if (buf) bytes.set(buf.subarray(0, Math.min(buf.length, f.size)));
      this.journal.appendSync({ op: 'inline', path, fileId: toHex(f.fileId), bytes: toBase64(bytes), mtimeMs: f.mtimeMs });
      this.journaled.add(f);
      return true;
    });
  }

  /** Replay of an 'inline' record: the file's content becomes `bytes` (unsealed). */
  async replay(n: Node, op: InlineOp): Promise<void> {
    if (n.type !== 'file' || toHex(n.fileId) !== op.fileId) throw fsError('ENOENT', `${op.path} is another file now`);
    const bytes = fromBase64(op.bytes);
    await this.data.truncate(n, 0);
    if (bytes.length > 0) await this.data.write(n, bytes, 0, false);
    n.mtimeMs = op.mtimeMs;
    this.journaled.add(n);
  }
}
