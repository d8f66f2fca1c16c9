// In-memory nodes of the tree. Directories load lazily from tree objects; a directory
// whose `treeId` is null is dirty (its tree object must be rewritten at the next commit),
// and the invariant "a dirty directory has only dirty ancestors" lets markDirty stop early.
// File contents: `chunks` is the sealed state consistent with `sealedSize` (each chunk
// sealed with isLast = index == lastChunkIndex(sealedSize)); `ahead` holds full chunks
// sealed early (isLast false) during a long write; `dirty` holds plaintext buffers.
import type { ChunkRef } from '../format/tree.js';

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

interface BaseNode {
  ino: number;
  /** Permission bits only (no type bits). */
  perm: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  xattrs: Map<string, Uint8Array>;
  /** Null once unlinked (an open handle may still hold the node) and for the top dir. */
  parent: DirNode | null;
  name: string;
  /** Fingerprint of the tree entry this node was loaded from; null once changed here
   *  (the three-way merge tells "unchanged since the base root" by it). */
  origin: string | null;
}

export interface FileNode extends BaseNode {
  type: 'file';
  fileId: Uint8Array;
  fileKey: Uint8Array;
  chunkKey: Uint8Array;
  /** Live size in bytes (what stat shows). */
  size: number;
  /** Size the sealed `chunks` are consistent with (what the tree records). */
  sealedSize: number;
  /** Sealed chunk ids; null until external chunk lists are loaded (`lists`). */
  chunks: Map<number, string> | null;
  lists: ChunkRef[] | null;
  /** Chunks at index >= cutIndex are holes in the live view unless dirty or ahead. */
  cutIndex: number;
  ahead: Map<number, string>;
  dirty: Map<number, Uint8Array>;
  /** Bytes held by `dirty` buffers. */
  dirtyBytes: number;
  openCount: number;
  /** Object ids sealed for this file whose upload has not yet been confirmed. */
  pendingIds: Set<string>;
  /** Local failures (a seal the full cache disk refused) not yet reported by a flush or
   *  fsync of this file: each is reported once. */
  errors: Error[];
  /** Refused uploads of this file already reported (a refusal is reported once). */
  reportedRefusals: Set<string>;
  /** Seals of new content so far, and the count when fsync last reported a store that did
   *  not answer: the same failure is not reported again (the kernel's errseq rule). */
  sealSeq: number;
  fsyncReportedSeq: number;
  /** Tail of this file's content operations (write, truncate, seal run one at a time). */
  lock: Promise<void>;
}

export interface DirNode extends BaseNode {
  type: 'dir';
  children: Map<string, Node> | null;
  treeId: string | null;
  loading: Promise<void> | null;
}

export interface LinkNode extends BaseNode {
  type: 'symlink';
  target: string;
}

export type Node = FileNode | DirNode | LinkNode;

let nextIno = 2;
/** Inode numbers are unique within the process (stable for a mount's lifetime). */
/** Run `fn` under `f`'s content lock (after every operation queued on it before). */
export function withFileLock<T>(f: FileNode, fn: () => Promise<T> | T): Promise<T> {
  const run = f.lock.then(fn);
  f.lock = run.then(() => undefined, () => undefined);
  return run;
}

export function allocIno(): number {
  return nextIno++;
}

export function typeBits(n: Node): number {
  return n.type === 'file' ? S_IFREG : n.type === 'dir' ? S_IFDIR : S_IFLNK;
}

/** Mark `dir` and its ancestors as needing a new tree object. */
export function markDirty(dir: DirNode | null): void {
  for (let d = dir; d && d.treeId !== null; d = d.parent) d.treeId = null;
}

/** The node's path from the top ("/a/b"), or null when it was unlinked. */
export function pathOf(n: Node): string | null {
  const parts: string[] = [];
  let cur: Node = n;
  while (cur.parent) {
    parts.push(cur.name);
    cur = cur.parent;
  }
  if (cur.name !== '/') return null;
  return '/' + parts.reverse().join('/');
}
