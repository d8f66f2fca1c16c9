// The vfs API that the FUSE adapter, the CLI (put/get/ls without a mount) and the
// share code call. Path-based (fuse-native hands us paths); file handles keep a file
// readable after unlink. Every method throws FsError with a POSIX code on misuse.
import type { RetentionFields, TrashRecord } from '../format/drive-object.js';
import type { TreeEntry } from '../format/tree.js';

export interface Attr {
  /** Stable inode number for this mount's lifetime. */
  ino: number;
  /** Type bits (S_IFREG, S_IFDIR, S_IFLNK) | permission bits. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  /** Bytes (symlinks: target length). */
  size: number;
  /** 512-byte blocks actually stored (holes cost nothing). */
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
}

export interface DirEntry {
  name: string;
  attr: Attr;
}

export interface StatFs {
  /** Block size in bytes. */
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  namemax: number;
}

export interface VfsStatus {
  /** Plaintext bytes written but not yet on the store (write quorum). */
  dirtyBytes: number;
  /** Uploads waiting or in flight. */
  queuedUploads: number;
  /** Bytes used by the disk cache. */
  cacheBytes: number;
  cacheLimitBytes: number;
  /** Background failures not yet reported by an fsync/close, newest last. */
  errors: string[];
  /** Root version last committed to the store. */
  rootVersion: string;
}

export interface Vfs {
  /** Optional. Whether any file seen so far (loaded from the tree or given the xattr) has
   *  a security.capability xattr; if not, `onSeen` is called once one does, synchronously,
   *  before the request that revealed it is answered. The kernel asks for that xattr
   *  before every write, so a FUSE binding may answer "none" itself until then. */
  watchCapabilityXattr?(onSeen: () => void): boolean;
  /** Optional; true when every handle opened O_RDONLY is an odd number and its flush
   *  does nothing (a reader's close has nothing to report: background failures go to the
   *  writers' close and fsync). A FUSE binding may then answer such a flush itself: every
   *  close() sends one, so that is one round trip fewer per file read. */
  readonly readOnlyHandlesOdd?: boolean;
  /** Optional; true while a writer opened now should bypass the kernel's page cache
   *  (FOPEN_DIRECT_IO): the cache is more than half full of data not yet uploaded, so a
   *  write that does not fit must fail with ENOSPC at that write() (the kernel's
   *  writeback cache would take it and report the failure only at close). Such a handle
   *  cannot be mapped shared and writable (the kernel refuses MAP_SHARED on direct I/O
   *  without FUSE_DIRECT_IO_ALLOW_MMAP, which libfuse 3.14 cannot ask for). */
  writeThrough?(): boolean;
  getattr(path: string): Promise<Attr>;
  /** getattr, but null for a missing name instead of ENOENT (a FUSE lookup of a name
   *  about to be created is the common case: no error object for it). Optional. */
  lookup?(path: string): Promise<Attr | null>;
  fgetattr(fh: number): Promise<Attr>;
  readdir(path: string): Promise<DirEntry[]>;
  /** flags: O_RDONLY / O_WRONLY / O_RDWR | O_TRUNC | O_APPEND (node:fs constants). */
  open(path: string, flags: number): Promise<number>;
  /** Create (O_EXCL semantics are the caller's: EEXIST when `exclusive`) and open. */
  create(path: string, mode: number, flags: number): Promise<number>;
  /** Read up to `length` bytes at `position` into `buf`; returns the count (0 at EOF). */
  read(fh: number, buf: Uint8Array, length: number, position: number): Promise<number>;
  /** Write `data` at `position` (ignored with O_APPEND); returns bytes written. The
   *  vfs copies `data` before its first await: the caller may reuse the buffer. */
  write(fh: number, data: Uint8Array, position: number): Promise<number>;
  /** close() of one descriptor: reports a background failure of this file (not to a
   *  read-only descriptor when readOnlyHandlesOdd). */
  flush(fh: number): Promise<void>;
  /** Waits until this file's data and the tree naming it are on the store. */
  fsync(fh: number, datasync: boolean): Promise<void>;
  release(fh: number): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  ftruncate(fh: number, size: number): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, mode: number): Promise<void>;
  rmdir(path: string): Promise<void>;
  rename(from: string, to: string, flags?: number): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  link(from: string, to: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  utimens(path: string, atimeMs: number, mtimeMs: number): Promise<void>;
  /** utimens through an open handle (the kernel's writeback cache sends a file's mtime
   *  this way when it is closed). Optional; the Vfs may journal the times together with
   *  the file's unsealed content instead of on their own. */
  futimens?(fh: number, atimeMs: number, mtimeMs: number): Promise<void>;
  /** fallocate(2) on an open handle: mode 0 and FALLOC_FL_KEEP_SIZE (room checked, holes
   *  stand for the range: no zeros are stored), PUNCH_HOLE (with KEEP_SIZE) and
   *  ZERO_RANGE; other modes are ENOTSUP. */
  fallocate?(fh: number, mode: number, offset: number, length: number): Promise<void>;
  setxattr(path: string, name: string, value: Uint8Array, flags: number): Promise<void>;
  getxattr(path: string, name: string): Promise<Uint8Array>;
  listxattr(path: string): Promise<string[]>;
  removexattr(path: string, name: string): Promise<void>;
  statfs(): Promise<StatFs>;
  /** Everything written so far onto the store, root included (unmount, `megafs sync`). */
  sync(): Promise<void>;
  status(): VfsStatus;
  /** sync() then release caches, timers and handles. */
  close(): Promise<void>;
  /** The rubbish bin (src/vfs/bin.ts; optional: the in-memory test vfs has none). */
  binRecords?(): Promise<TrashRecord[]>;
  binRestore?(record: TrashRecord, dest: string): Promise<void>;
  binEmpty?(which: (r: TrashRecord) => boolean): Promise<void>;
  /** The drive's retention policy (format v3), and setting it. */
  retention?(): Promise<RetentionFields | null>;
  setRetention?(p: RetentionFields): Promise<void>;
  /** Put a committed entry (of an earlier version) at a path, sharing its objects. */
  graft?(entry: TreeEntry, dest: string): Promise<void>;
}
