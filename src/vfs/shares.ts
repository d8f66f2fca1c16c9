// Shares without a copy, the vfs side (docs/design.md "Shares without a copy"): capture
// the shared entry as it is (every file sealed, its chunk map frozen, its key marked
// exposed: FileData.capture), and keep the drive's list of shares (DRIVE.shares) through
// MetaOps shareOps, applied by the next commit: add a record whose snapshot is the capture
// (share-snapshot.ts), or revoke one, which leaves a tombstone of its file ids.
import { fsError } from '../errors.js';
import { ENTRY_DIR, ENTRY_FILE, type TreeEntry } from '../format/tree.js';
import type { ShareRecordEntry } from '../format/drive-object.js';
import { allShares } from './drive-meta.js';
import type { Drive } from './drive.js';
import type { VfsEngine } from './engine.js';
import type { Node } from './nodes.js';
import { snapshotFiles, tombstone, type Captured } from './share-snapshot.js';

export type { Captured, CapturedDir, CapturedFile } from './share-snapshot.js';

/** A record to add: everything but the snapshot, which the commit seals from the capture. */
export type ShareRecordInput = Omit<ShareRecordEntry, 'snapshot'>;

export class VfsShares {
  constructor(private readonly eng: VfsEngine, private readonly drive: Drive) {}

  /** The entry at `path`, named `name` in the share. Symlinks (and what is not a file or
   *  a folder) are left out; EINVAL when `path` itself is one. A folder is captured file
   *  by file: each file is consistent, the folder as a whole is what it was meanwhile. */
  async capture(path: string, name: string): Promise<Captured> {
    const c = await this.captureNode(await this.eng.resolve(path), name);
    if (!c) throw fsError('EINVAL', `${path} is neither a file nor a folder`);
    return c;
  }

  private async captureNode(n: Node, name: string): Promise<Captured | null> {
    if (n.type === 'symlink') return null;
    const entry: TreeEntry = {
      name, type: ENTRY_DIR, mode: n.perm, uid: n.uid, gid: n.gid, size: 0, mtimeMs: n.mtimeMs, ctimeMs: n.ctimeMs, xattrs: [...n.xattrs],
    };
    if (n.type === 'dir') {
      const children: Captured[] = [];
      for (const k of [...(await this.eng.children(n)).values()]) {
        const c = await this.captureNode(k, k.name);
        if (c) children.push(c);
      }
      return { kind: 'dir', entry, children };
    }
    const f = await this.eng.data.capture(n);
    return { kind: 'file', entry: { ...entry, type: ENTRY_FILE, size: f.size, mtimeMs: f.mtimeMs, file: { fileId: f.fileId, fileKey: f.fileKey } }, chunks: f.chunks };
  }

  /** Record a share in the drive; the next commit writes it (sync() waits for that). */
  add(record: ShareRecordInput, capture: Captured): void {
    this.drive.meta.shareOps.push({ add: { ...record, snapshot: '' }, capture });
    this.drive.changed();
  }

  /** The drive's share records as of the last root seen (revoked ones: link ''). */
  list(): Promise<ShareRecordEntry[]> {
    return allShares(this.drive.tree, this.drive.base.meta);
  }

  /** Revoke a share in the drive: its record becomes a tombstone of its file ids (or goes,
   *  when it shared no file), so the collector may free what it shared while those files
   *  still move to a new key at their next change. False when there is no live record. */
  async revoke(linkId: string): Promise<boolean> {
    const rec = (await this.list()).find((r) => r.linkId === linkId && r.link !== '');
    if (!rec) return false;
    const files = await snapshotFiles(this.drive.tree, rec.snapshot);
    if (files.length === 0) this.drive.meta.shareOps.push({ remove: linkId });
    else this.drive.meta.shareOps.push({ add: { ...rec, link: '', snapshot: '' }, capture: tombstone(files) });
    this.drive.changed();
    return true;
  }
}
