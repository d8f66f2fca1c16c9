// What a share record's snapshot holds (DRIVE.shares, docs/format.md "Format version 3"):
// a directory object with the one shared entry as it was shared, down to its chunks, so
// the collector keeps exactly what the link opens. A share is captured in memory (every
// file sealed, its chunk map frozen then: shares.ts) and sealed into tree objects by each
// commit pass that carries its record, like a bin entry: the commit's upload and its
// invariant then cover the snapshot and the chunks it names.
// A revoked share keeps a tombstone: a snapshot of its files' ids only (no chunks, size
// 0), so those files still move to a new key at their next change (exposure.ts) while
// the collector may free what the link shared.
import type { SealedObject } from '../crypto/object.js';
import { ENTRY_DIR, ENTRY_FILE, type TreeEntry } from '../format/tree.js';
import type { ShareOp } from './meta-ops.js';
import type { TreeIo } from './tree-io.js';

export interface CapturedFile {
  kind: 'file';
  /** The file's entry (name, times, size = its sealed size, file id and key; no refs). */
  entry: TreeEntry;
  /** Its sealed chunk map, frozen at the capture: index -> object id (holes absent). */
  chunks: Map<number, string>;
}

export interface CapturedDir {
  kind: 'dir';
  entry: TreeEntry;
  children: Captured[];
}

export type Captured = CapturedFile | CapturedDir;

/** The tree entry of a captured node, its directories and chunk lists sealed into `out`;
 *  `named` is told every chunk id it names (the commit waits for them). */
function entryOf(io: TreeIo, c: Captured, out: SealedObject[], named: (ids: Iterable<string>) => void): TreeEntry {
  if (c.kind === 'dir') return { ...c.entry, type: ENTRY_DIR, dirId: io.encodeDir(c.children.map((k) => entryOf(io, k, out, named)), out) };
  named(c.chunks.values());
  return { ...c.entry, type: ENTRY_FILE, file: { fileId: c.entry.file!.fileId, fileKey: c.entry.file!.fileKey, ...io.fileChunks(c.chunks, out) } };
}

/** Seal the snapshot of every share record to add in this pass (sets its `snapshot`). */
export function encodeShareSnapshots(io: TreeIo, ops: ShareOp[], out: SealedObject[], named: (ids: Iterable<string>) => void): void {
  for (const op of ops) {
    if ('add' in op && op.capture) op.add.snapshot = io.encodeDir([entryOf(io, op.capture, out, named)], out);
  }
}

/** Every file entry of a snapshot directory, depth first. */
export async function snapshotFiles(io: TreeIo, dirId: string, out: TreeEntry[] = []): Promise<TreeEntry[]> {
  for (const e of await io.loadDir(dirId)) {
    if (e.type === ENTRY_FILE && e.file) out.push(e);
    else if (e.type === ENTRY_DIR && e.dirId) await snapshotFiles(io, e.dirId, out);
  }
  return out;
}

/** A revoked share's tombstone: its files' ids (named by position), nothing else. */
export function tombstone(files: TreeEntry[]): Captured {
  const zero = new Uint8Array(32);
  const children: Captured[] = files.map((e, i) => ({
    kind: 'file',
    entry: { ...e, name: String(i), size: 0, xattrs: [], file: { fileId: e.file!.fileId, fileKey: zero } },
    chunks: new Map(),
  }));
  const base = files[0] ?? { uid: 0, gid: 0, mtimeMs: 0, ctimeMs: 0 };
  return { kind: 'dir', entry: { name: 'revoked', type: ENTRY_DIR, mode: 0o700, uid: base.uid, gid: base.gid, size: 0, mtimeMs: base.mtimeMs, ctimeMs: base.ctimeMs, xattrs: [] }, children };
}
