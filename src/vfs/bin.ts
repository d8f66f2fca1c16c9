// What goes into the rubbish bin when a name stops naming content (unlink, a rename over
// it, a truncate to zero): the entry as the tree would record its sealed state, its chunk
// map frozen then (docs/design.md "The rubbish bin"). Pure: the engine calls it, the
// drive's next commit turns it into a TRASH record.
import { ENTRY_FILE, ENTRY_SYMLINK, type TreeEntry } from '../format/tree.js';
import type { TrashRecord } from '../format/drive-object.js';
import { encodeName } from '../format/names.js';
import type { TrashCapture } from './meta-ops.js';
import type { Node } from './nodes.js';

/** The capture for `n` (in the directory at `dir`), or null when it holds nothing to
 *  keep: an empty file, a directory (only empty ones are removed), a file whose content
 *  is not sealed, or one whose objects are not all on the store yet (`unstored`: an
 *  upload under way or refused; a bin record naming them would hold up every commit). */
export function binCapture(n: Node, dir: string, deletedMs: number, unstored = false, removed = true): TrashCapture | null {
  const base = {
    name: n.name, mode: n.perm, uid: n.uid, gid: n.gid, mtimeMs: n.mtimeMs, ctimeMs: n.ctimeMs, xattrs: [...n.xattrs.entries()],
  };
  if (n.type === 'symlink') {
    const entry: TreeEntry = { ...base, type: ENTRY_SYMLINK, size: encodeName(n.target).length, target: n.target };
    return { deletedMs, dir, entry, chunks: null, removed };
  }
  if (n.type !== 'file' || n.sealedSize === 0 || unstored) return null;
  const entry: TreeEntry = { ...base, type: ENTRY_FILE, size: n.sealedSize, file: { fileId: n.fileId, fileKey: n.fileKey } };
  if (n.chunks) return { deletedMs, dir, entry, chunks: new Map(n.chunks), removed };
  if (n.lists) return { deletedMs, dir, entry: { ...entry, file: { ...entry.file!, lists: [...n.lists] } }, chunks: null, removed };
  return null;
}

/** The path a bin record's entry had. */
export function binPath(r: Pick<TrashRecord, 'dir' | 'entry'>): string {
  return r.dir === '/' ? `/${r.entry.name}` : `${r.dir}/${r.entry.name}`;
}

/** Whether two records are the same one (a restore or an empty names it by these). */
export function sameBinRecord(a: TrashRecord, b: TrashRecord): boolean {
  return a.deletedMs === b.deletedMs && a.deviceId === b.deviceId && a.dir === b.dir && a.entry.name === b.entry.name;
}
