// The vfs engine: path resolution, handles and every namespace operation. File contents
// are in file-data.ts, commits and merges in commit.ts. Each successful change is applied
// by apply() (ops.ts records), which is also how the journal is replayed after a restart:
// the live call and the replay run the same code with the same values.
// Locking: namespace changes are synchronous after their awaits (JavaScript's single
// thread is the lock); file contents take the per-file lock in file-data.ts.
import { constants as fsc } from 'node:fs';
import { FormatError, fsError, FsError, isMegafsError } from '../errors.js';
import { chunkKeyFor } from '../crypto/chunk.js';
import { fromBase64, fromHex, toBase64, toHex } from '../format/bytes.js';
import { FILE_ID_BYTES, KEY_BYTES, NAME_MAX_BYTES } from '../format/constants.js';
import { encodeName, nameBytes, targetBytes } from '../format/names.js';
import { ENTRY_FILE, ENTRY_SYMLINK, XATTR_MAX_VALUE_BYTES, type TreeEntry } from '../format/tree.js';
import type { RetentionFields, TrashRecord } from '../format/drive-object.js';
import { binCapture, sameBinRecord } from './bin.js';
import { chunkCount } from '../chunking/offsets.js';
import { copyOf } from './fresh-buffers.js';
import type { Attr, DirEntry, StatFs, Vfs, VfsStatus } from './types.js';
import { allocIno, markDirty, pathOf, typeBits, type DirNode, type FileNode, type LinkNode, type Node } from './nodes.js';
import type { JournalOp } from './ops.js';
import { FileData } from './file-data.js';
import { SmallFiles } from './small-files.js';
import type { VfsContext } from './context.js';

const O_ACCMODE = 3;
/** The owner of what this process creates, read once: every getuid() is a system call,
 *  ~10 µs on a paravirtualised VM, and a file create asked for both. */
const OWNER = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

/** A file's chunk key, derived on first use: HKDF in JavaScript (~14 µs) that a file
 *  just created needs only at its first seal or read, and a file loaded with its
 *  directory may never need. */
function lazyChunkKey(fileKey: Uint8Array): () => Uint8Array {
  let key: Uint8Array | null = null;
  return () => (key ??= chunkKeyFor(fileKey));
}
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const MAX_FILE_BYTES = 2 ** 52;
/** fallocate(2) mode bits (linux/falloc.h). */
const FALLOC = { KEEP_SIZE: 0x01, PUNCH_HOLE: 0x02, ZERO_RANGE: 0x10 } as const;

interface Handle {
  node: Node;
  flags: number;
  /** End of the last read: a read starting here is sequential (prefetch). */
  lastReadEnd: number;
}

/** The xattr the kernel asks for before every write (see Vfs.watchCapabilityXattr). */
const CAPABILITY_XATTR = 'security.capability';

export class VfsEngine implements Vfs {
  /** A node with a security.capability xattr was seen (watchCapabilityXattr). */
  private capsSeen = false;
  private readonly capsListeners: (() => void)[] = [];
  private readonly handles = new Map<number, Handle>();
  private nextFh = 1;
  readonly data: FileData;
  readonly small: SmallFiles;
  /** True while the journal is replayed: apply() must not journal again. */
  replaying = false;

  constructor(readonly ctx: VfsContext, public top: DirNode) {
    this.data = new FileData(ctx);
    this.small = new SmallFiles(this.data, ctx.journal);
  }

  // ---- nodes and paths ----

  newDir(parent: DirNode | null, name: string, perm: number, uid: number, gid: number, timeMs: number): DirNode {
    return {
      type: 'dir', ino: allocIno(), perm, uid, gid, atimeMs: timeMs, mtimeMs: timeMs, ctimeMs: timeMs,
      xattrs: new Map(), parent, name, children: new Map(), treeId: null, loading: null, origin: null,
    };
  }

  /** A node for a tree entry loaded from the store. */
  nodeFromEntry(e: TreeEntry, parent: DirNode, origin: string | null): Node {
    for (const [name] of e.xattrs) this.sawXattr(name);
    const base = {
      ino: allocIno(), perm: e.mode & 0o7777, uid: e.uid, gid: e.gid, atimeMs: e.mtimeMs, mtimeMs: e.mtimeMs, ctimeMs: e.ctimeMs,
      xattrs: new Map(e.xattrs), parent, name: e.name, origin,
    };
    if (e.type === 2) return { ...base, type: 'dir', children: null, treeId: e.dirId!, loading: null };
    if (e.type === 3) return { ...base, type: 'symlink', target: e.target ?? '' };
    if (e.type !== 1) throw new FormatError('E_VERSION', `${e.name}: special files need a newer megafs`);
    const f = e.file!;
    const chunkKey = lazyChunkKey(f.fileKey);
    return {
      ...base, type: 'file', fileId: f.fileId, fileKey: f.fileKey, get chunkKey() { return chunkKey(); },
      size: e.size, sealedSize: e.size, chunks: f.chunks ? new Map(f.chunks) : null, lists: f.lists ?? null,
      cutIndex: chunkCount(e.size), ahead: new Map(), dirty: new Map(), dirtyBytes: 0, openCount: 0,
      pendingIds: new Set(), errors: [], reportedRefusals: new Set(), sealSeq: 0, fsyncReportedSeq: -1, lock: Promise.resolve(),
    };
  }

  async children(dir: DirNode): Promise<Map<string, Node>> {
    if (dir.children) return dir.children;
    if (!dir.loading) {
      dir.loading = (async () => {
        try {
          const entries = await this.ctx.tree.loadDir(dir.treeId!);
          const m = new Map<string, Node>();
          for (const e of entries) m.set(e.name, this.nodeFromEntry(e, dir, this.ctx.fingerprint(e)));
          if (!dir.children) dir.children = m;
          this.data.damage.healed(dir.treeId!);
        } catch (e) {
          // Never a partial listing (a commit would write it back, dropping what it could
          // not read): the directory stays unloaded and a later call tries again (the
          // object may be back: fsck --repair). One log line per damaged object.
          this.data.damage.once(dir.treeId!, e, `megafs: cannot read directory ${pathOf(dir) ?? '?'} (tree object ${dir.treeId}): ${(e as Error).message}`);
          throw fsError('EIO', `directory ${pathOf(dir) ?? '?'} cannot be read (tree object ${dir.treeId?.slice(0, 16)}…; see megafs fsck)`);
        } finally {
          dir.loading = null;
        }
      })();
    }
    await dir.loading;
    return dir.children!;
  }

  private split(path: string): string[] {
    if (!path.startsWith('/')) throw fsError('EINVAL', `relative path ${path}`);
    const parts = path.split('/').filter((s) => s !== '' && s !== '.');
    for (const p of parts) {
      if (p === '..') throw fsError('EINVAL', path);
      nameBytes(p); // ENAMETOOLONG past 255 bytes, EINVAL for a string that is no name
    }
    return parts;
  }

  async resolve(path: string): Promise<Node> {
    const n = await this.walk(path);
    if (!n) throw fsError('ENOENT', path);
    return n;
  }

  /** The node at `path`, or null when a name on the way is missing (no error object:
   *  lookups of missing names are frequent). ENOTDIR through a non-directory. */
  private async walk(path: string): Promise<Node | null> {
    let cur: Node = this.top;
    for (const name of this.split(path)) {
      if (cur.type !== 'dir') throw fsError('ENOTDIR', path);
      const next = (await this.children(cur)).get(name);
      if (!next) return null;
      cur = next;
    }
    return cur;
  }

  async resolveParent(path: string): Promise<{ dir: DirNode; name: string; kids: Map<string, Node> }> {
    const parts = this.split(path);
    const name = parts.pop();
    if (name === undefined) throw fsError('EBUSY', 'the top directory');
    if (name.includes('\0')) throw fsError('EINVAL', path);
    const dir = await this.resolve('/' + parts.join('/'));
    if (dir.type !== 'dir') throw fsError('ENOTDIR', path);
    return { dir, name, kids: await this.children(dir) };
  }

  attrOf(n: Node): Attr {
    let size = 4096;
    let blocks = 8;
    if (n.type === 'file') { size = n.size; blocks = this.data.blocks(n); }
    if (n.type === 'symlink') { size = encodeName(n.target).length; blocks = 0; }
    return {
      ino: n === this.top ? 1 : n.ino, mode: typeBits(n) | n.perm, nlink: n.type === 'dir' ? 2 : 1, uid: n.uid, gid: n.gid,
      size, blocks, atimeMs: n.atimeMs, mtimeMs: n.mtimeMs, ctimeMs: n.ctimeMs,
    };
  }

  private handle(fh: number): Handle {
    const h = this.handles.get(fh);
    if (!h) throw fsError('EBADF', `handle ${fh}`);
    return h;
  }

  private fileOf(h: Handle): FileNode {
    if (h.node.type === 'dir') throw fsError('EISDIR', 'handle');
    if (h.node.type !== 'file') throw fsError('EINVAL', 'not a regular file');
    return h.node;
  }

  readonly readOnlyHandlesOdd = true;

  watchCapabilityXattr(onSeen: () => void): boolean {
    if (!this.capsSeen) this.capsListeners.push(onSeen);
    return this.capsSeen;
  }

  /** Called with every xattr name a node gets (loaded or set), before the request that
   *  caused it is answered. */
  private sawXattr(name: string): void {
    if (name !== CAPABILITY_XATTR || this.capsSeen) return;
    this.capsSeen = true;
    for (const l of this.capsListeners.splice(0)) l();
  }

  /** Record `op` in the journal (unless replaying) and start the commit timer. */
  private async journal(op: JournalOp): Promise<void> {
    this.ctx.changed();
    if (!this.replaying) await this.ctx.journal.append(op);
  }

  // ---- apply: the one place each change happens (live and replay) ----

  async apply(op: JournalOp): Promise<void> {
    const now = 'timeMs' in op ? op.timeMs : op.mtimeMs;
    switch (op.op) {
      case 'mkdir': case 'create': case 'symlink': {
        const { dir, name, kids } = await this.resolveParent(op.path);
        if (kids.has(name)) throw fsError('EEXIST', op.path);
        let n: Node;
        if (op.op === 'mkdir') n = this.newDir(dir, name, op.perm, op.uid, op.gid, now);
        else if (op.op === 'symlink') {
          n = { type: 'symlink', ino: allocIno(), perm: 0o777, uid: op.uid, gid: op.gid, atimeMs: now, mtimeMs: now, ctimeMs: now,
            xattrs: new Map(), parent: dir, name, target: op.target, origin: null } satisfies LinkNode;
        } else {
          const fileKey = fromHex(op.fileKey);
          const chunkKey = lazyChunkKey(fileKey);
          n = { type: 'file', ino: allocIno(), perm: op.perm, uid: op.uid, gid: op.gid, atimeMs: now, mtimeMs: now, ctimeMs: now,
            xattrs: new Map(), parent: dir, name, origin: null, fileId: fromHex(op.fileId), fileKey, get chunkKey() { return chunkKey(); },
            size: 0, sealedSize: 0, chunks: new Map(), lists: null, cutIndex: 0, ahead: new Map(), dirty: new Map(), dirtyBytes: 0,
            openCount: 0, pendingIds: new Set(), errors: [], reportedRefusals: new Set(), sealSeq: 0, fsyncReportedSeq: -1,
            lock: Promise.resolve() } satisfies FileNode;
        }
        kids.set(name, n);
        this.touchDir(dir, now);
        break;
      }
      case 'unlink': case 'rmdir': {
        const { dir, name, kids } = await this.resolveParent(op.path);
        const n = kids.get(name);
        if (!n) throw fsError('ENOENT', op.path);
        if (op.op === 'unlink' && n.type === 'dir') throw fsError('EISDIR', op.path);
        if (op.op === 'rmdir') {
          if (n.type !== 'dir') throw fsError('ENOTDIR', op.path);
          if ((await this.children(n)).size > 0) throw fsError('ENOTEMPTY', op.path);
        }
        if (op.op === 'unlink') this.toBin(n, dir, now);
        kids.delete(name);
        this.detach(n);
        this.touchDir(dir, now);
        break;
      }
      case 'rename': await this.applyRename(op.from, op.to, now, 0); break;
      case 'data': {
        const n = await this.resolve(op.path);
        // Replay: sealed content replaces what an earlier 'inline' record left unsealed.
        if (n.type === 'file' && n.dirty.size > 0) this.data.forget(n);
        await this.data.applyRecord(n, op);
        break;
      }
      case 'inline': await this.small.replay(await this.resolve(op.path), op); break;
      case 'rekey': await this.data.applyRekey(await this.resolve(op.path), op); break;
      default: {
        const n = await this.resolve(op.path);
        if (op.op === 'chmod') n.perm = op.perm & 0o7777;
        else if (op.op === 'chown') { n.uid = op.uid; n.gid = op.gid; }
        else if (op.op === 'utimens') { n.atimeMs = op.atimeMs; n.mtimeMs = op.mtimeMs; }
        else if (op.op === 'setxattr') { this.sawXattr(op.name); n.xattrs.set(op.name, fromBase64(op.value)); }
        else if (op.op === 'removexattr') {
          if (!n.xattrs.delete(op.name)) throw fsError('ENODATA', op.name);
        }
        n.ctimeMs = now;
        n.origin = null;
        markDirty(n.parent);
      }
    }
    await this.journal(op);
  }

  private touchDir(dir: DirNode, timeMs: number): void {
    dir.mtimeMs = dir.ctimeMs = timeMs;
    dir.origin = null;
    markDirty(dir);
  }

  /** What `n` holds goes into the rubbish bin (docs/design.md "The rubbish bin"). */
  private toBin(n: Node, dir: DirNode | null, timeMs: number, removed = true): void {
    const path = dir && this.ctx.trash ? pathOf(dir) : null;
    if (path === null) return;
    // Only content the store has: a capture must never hold up a commit on an upload
    // still under way or refused (the file may be gone from every upload's view).
    const unstored = n.type === 'file' && this.ctx.uploader.unacked([...n.pendingIds, ...(n.chunks?.values() ?? [])]).length > 0;
    const c = binCapture(n, path, timeMs, unstored, removed);
    if (c) this.ctx.trash!(c);
  }

  /** The bin's records (what `megafs trash ls` lists; a commit first makes this
   *  session's own removals part of them). */
  async binRecords(): Promise<TrashRecord[]> {
    if (!this.ctx.binRecords) return [];
    await this.ctx.commit();
    return this.ctx.binRecords();
  }

  /** Put a bin record's entry back at `dest` (its parent must exist; EEXIST when the name
   *  is taken) and drop the record; made durable by a commit at once (not journaled: a
   *  restore that did not commit left the record in the bin). */
  async binRestore(record: TrashRecord, dest: string): Promise<void> {
    if (!this.ctx.binRemove) throw fsError('ENOTSUP', 'this drive has no bin');
    if (record.entry.type !== ENTRY_FILE && record.entry.type !== ENTRY_SYMLINK) throw fsError('EINVAL', `${dest}: only files and symlinks are kept in the bin`);
    await this.place(record.entry, dest);
    this.ctx.binRemove((r) => sameBinRecord(r, record), false);
    await this.ctx.commit();
  }

  /** Put a committed entry (a file, symlink or whole directory of an earlier version) at
   *  `dest`, sharing every object it names: nothing is copied (megafs restore --at).
   *  Committed at once, not journaled, as binRestore. */
  async graft(entry: TreeEntry, dest: string): Promise<void> {
    await this.place(entry, dest);
    await this.ctx.commit();
  }

  private async place(entry: TreeEntry, dest: string): Promise<void> {
    const { dir, name, kids } = await this.resolveParent(dest);
    if (kids.has(name)) throw fsError('EEXIST', dest);
    const n = this.nodeFromEntry({ ...entry, name }, dir, null);
    kids.set(name, n);
    this.touchDir(dir, Date.now());
  }

  /** The drive's retention policy (megafs retention), as the current root has it. */
  async retention(): Promise<RetentionFields | null> {
    if (!this.ctx.retentionPolicy) return null;
    await this.ctx.commit(); // the root this session knows is the one it would change
    return this.ctx.retentionPolicy();
  }

  /** Set the drive's retention policy; committed at once. */
  async setRetention(p: RetentionFields): Promise<void> {
    if (!this.ctx.setRetention) throw fsError('ENOTSUP', 'this drive has no retention policy');
    this.ctx.setRetention(p);
    await this.ctx.commit();
  }

  /** Drop the bin records `which` picks (megafs trash empty); committed at once. */
  async binEmpty(which: (r: TrashRecord) => boolean): Promise<void> {
    if (!this.ctx.binRemove) return;
    await this.ctx.commit(); // this session's own removals first: they are in the bin too
    this.ctx.binRemove(which, true);
    await this.ctx.commit();
  }

  /** Unlinked: an open handle keeps the node (and its data) until the last release. */
  detach(n: Node): void {
    n.parent = null;
    if (n.type === 'file' && n.openCount === 0) this.data.forget(n);
  }

  private async applyRename(from: string, to: string, timeMs: number, flags: number): Promise<void> {
    const src = await this.resolveParent(from);
    const dst = await this.resolveParent(to);
    const n = src.kids.get(src.name);
    if (!n) throw fsError('ENOENT', from);
    for (let d: DirNode | null = dst.dir; d; d = d.parent) if (d === n) throw fsError('EINVAL', `${to} is inside ${from}`);
    const old = dst.kids.get(dst.name);
    if (old === n) return;
    if (old) {
      if (flags & RENAME_NOREPLACE) throw fsError('EEXIST', to);
      if (n.type === 'dir' && old.type !== 'dir') throw fsError('ENOTDIR', to);
      if (n.type !== 'dir' && old.type === 'dir') throw fsError('EISDIR', to);
      if (old.type === 'dir' && (await this.children(old)).size > 0) throw fsError('ENOTEMPTY', to);
      this.toBin(old, dst.dir, timeMs);
      dst.kids.delete(dst.name);
      this.detach(old);
    }
    src.kids.delete(src.name);
    n.name = dst.name;
    n.parent = dst.dir;
    n.origin = null;
    n.ctimeMs = timeMs;
    dst.kids.set(dst.name, n);
    this.touchDir(src.dir, timeMs);
    this.touchDir(dst.dir, timeMs);
  }

  // ---- the Vfs interface ----

  async getattr(path: string): Promise<Attr> {
    this.ctx.active?.();
    return this.attrOf(await this.resolve(path));
  }

  async lookup(path: string): Promise<Attr | null> {
    this.ctx.active?.();
    const n = await this.walk(path);
    return n ? this.attrOf(n) : null;
  }

  async fgetattr(fh: number): Promise<Attr> {
    return this.attrOf(this.handle(fh).node);
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const n = await this.resolve(path);
    if (n.type !== 'dir') throw fsError('ENOTDIR', path);
    return [...(await this.children(n)).values()].map((c) => ({ name: c.name, attr: this.attrOf(c) }));
  }

  async open(path: string, flags: number): Promise<number> {
    const n = await this.resolve(path);
    const writing = (flags & O_ACCMODE) !== fsc.O_RDONLY;
    if (n.type === 'dir' && writing) throw fsError('EISDIR', path);
    if (n.type === 'file' && writing && flags & fsc.O_TRUNC) await this.truncateNode(n, 0);
    return this.addHandle(n, flags);
  }

  /** Handle numbers: odd for read-only (readOnlyHandlesOdd), even otherwise. */
  private addHandle(n: Node, flags: number): number {
    if (n.type === 'file') n.openCount++;
    const fh = 2 * this.nextFh++ + ((flags & O_ACCMODE) === fsc.O_RDONLY ? 1 : 0);
    this.handles.set(fh, { node: n, flags, lastReadEnd: -1 });
    return fh;
  }

  async create(path: string, mode: number, flags: number): Promise<number> {
    const { kids, name } = await this.resolveParent(path);
    const old = kids.get(name);
    if (old) {
      if (flags & fsc.O_EXCL) throw fsError('EEXIST', path);
      return this.open(path, flags);
    }
    const p = this.ctx.p;
    await this.apply({
      op: 'create', path, perm: mode & 0o7777, uid: OWNER.uid, gid: OWNER.gid, timeMs: Date.now(),
      fileId: toHex(p.randomBytes(FILE_ID_BYTES)), fileKey: toHex(p.randomBytes(KEY_BYTES)),
    });
    return this.addHandle(kids.get(name)!, flags);
  }

  async read(fh: number, buf: Uint8Array, length: number, position: number): Promise<number> {
    const h = this.handle(fh);
    const f = this.fileOf(h);
    this.ctx.active?.();
    const sequential = position === h.lastReadEnd;
    // Set before the read ends: the kernel sends its next read-ahead request while this
    // one is in flight (measured: 60 % of a cold dd's 1 MiB reads otherwise looked random).
    h.lastReadEnd = position + length;
    const n = await this.data.read(f, buf, length, position, sequential);
    return n;
  }

  async write(fh: number, data: Uint8Array, position: number): Promise<number> {
    const h = this.handle(fh);
    const f = this.fileOf(h);
    if ((h.flags & O_ACCMODE) === fsc.O_RDONLY) throw fsError('EBADF', 'handle opened read-only');
    // A real copy, made now: the caller (FUSE) reuses its buffer as soon as we yield, and
    // data.write may first wait for the file lock. Whole chunks of it are adopted as is.
    // Marked changed once the write has run (after any keep queued on the file lock).
    return this.data.write(f, copyOf(data), position, (h.flags & fsc.O_APPEND) !== 0).finally(() => this.small.changed(f));
  }

  /** A close: small files go into the journal (small-files.ts), others are sealed. What
   *  it reports (FileData.reportErrors): the cache disk was full (ENOSPC) or the store
   *  refused the file for good (EDQUOT, EFBIG), each once; never a store that is down,
   *  and nothing at all on a read-only descriptor. */
  async flush(fh: number): Promise<void> {
    const n = this.handles.get(fh)?.node;
    if (!n || n.type !== 'file' || fh % 2 === 1) return; // a reader's close: nothing to keep or report
    if (pathOf(n) === null) return; // unlinked: nothing of it will be kept
    try {
      if (!(await this.small.keep(n))) await this.data.seal(n);
    } catch (e) {
      this.data.noteFailure(n, e as Error);
    }
    this.data.reportErrors(n);
  }

  /** fsync: seal this file and commit, waiting at most fsyncWaitMs for the store. A
   *  store that does not answer is EIO once for this state of the file (errseq). */
  async fsync(fh: number): Promise<void> {
    const h = this.handle(fh);
    const n = h.node;
    const f = n.type === 'file' && (fh % 2 === 0) ? n : null;
    if (f && pathOf(f) !== null) {
      try {
        await this.data.seal(f);
      } catch (e) {
        this.data.noteFailure(f, e as Error);
      }
      this.data.reportErrors(f);
    }
    try {
      await this.ctx.commitBounded();
    } catch (e) {
      if (f) this.data.reportErrors(f); // the wait may have ended in a refusal of this file
      if (fh % 2 === 1) return; // a read-only descriptor never reports write errors
      if (e instanceof FsError) throw e;
      this.data.reportStoreFailure(f, e as Error);
    }
    // The commit went through, but without this file if the store refused it (held back).
    if (f) this.data.reportErrors(f);
  }

  async release(fh: number): Promise<void> {
    const h = this.handles.get(fh);
    if (!h) return;
    this.handles.delete(fh);
    const n = h.node;
    if (n.type !== 'file') return;
    n.openCount--;
    if (pathOf(n) !== null) {
      if (fh % 2 === 1 && !this.data.needsSeal(n)) return;
      const kept = (): Promise<void> => this.small.keep(n).then((ok) => (ok ? undefined : this.data.seal(n)));
      await kept().catch((e: Error) => this.data.noteFailure(n, e));
    } else if (n.openCount === 0) {
      this.data.forget(n);
    }
  }

  async fallocate(fh: number, mode: number, offset: number, length: number): Promise<void> {
    const h = this.handle(fh);
    const f = this.fileOf(h);
    if ((h.flags & O_ACCMODE) === fsc.O_RDONLY) throw fsError('EBADF', 'fallocate on a read-only handle');
    if (offset < 0 || length <= 0) throw fsError('EINVAL', `fallocate ${offset}+${length}`);
    if (!Number.isSafeInteger(offset + length) || offset + length > MAX_FILE_BYTES) throw fsError('EFBIG', `fallocate past ${offset + length}`);
    if (mode & ~(FALLOC.KEEP_SIZE | FALLOC.PUNCH_HOLE | FALLOC.ZERO_RANGE)) throw fsError('ENOTSUP', `fallocate mode ${mode}`);
    const punch = (mode & FALLOC.PUNCH_HOLE) !== 0;
    const zero = (mode & FALLOC.ZERO_RANGE) !== 0;
    if (punch && (zero || !(mode & FALLOC.KEEP_SIZE))) throw fsError('EINVAL', 'PUNCH_HOLE needs KEEP_SIZE, alone');
    if (punch || zero) await this.data.zeroRange(f, offset, length);
    else if (!(await this.ctx.cache.roomFor(this.ctx.dirtyBytes + Math.max(0, offset + length - f.size)))) {
      throw fsError('ENOSPC', 'the cache cannot hold the range asked for');
    }
    if (!(mode & FALLOC.KEEP_SIZE) && offset + length > f.size) await this.data.truncate(f, offset + length);
  }

  private async truncateNode(n: Node, size: number): Promise<void> {
    if (n.type === 'dir') throw fsError('EISDIR', 'truncate');
    if (n.type !== 'file') throw fsError('EINVAL', 'truncate');
    if (!Number.isSafeInteger(size) || size < 0) throw fsError('EINVAL', `size ${size}`);
    if (size > MAX_FILE_BYTES) throw fsError('EFBIG', `size ${size}`);
    // Overwritten (O_TRUNC, truncate to zero): the content it had goes into the bin.
    if (size === 0 && n.size > 0) this.toBin(n, n.parent, Date.now(), false);
    await this.data.truncate(n, size).finally(() => this.small.changed(n));
  }

  /** truncate(2) by path: no close will follow, so the change is made durable now (as a
   *  close would: journaled or sealed), and a killed process keeps it. */
  async truncate(path: string, size: number): Promise<void> {
    const n = await this.resolve(path);
    await this.truncateNode(n, size);
    if (n.type === 'file' && !(await this.small.keep(n))) await this.data.seal(n);
  }

  async ftruncate(fh: number, size: number): Promise<void> {
    await this.truncateNode(this.handle(fh).node, size);
  }

  async unlink(path: string): Promise<void> {
    await this.apply({ op: 'unlink', path, timeMs: Date.now() });
  }

  async mkdir(path: string, mode: number): Promise<void> {
    await this.apply({ op: 'mkdir', path, perm: mode & 0o7777, uid: OWNER.uid, gid: OWNER.gid, timeMs: Date.now() });
  }

  async rmdir(path: string): Promise<void> {
    if (this.split(path).length === 0) throw fsError('EBUSY', 'the top directory');
    await this.apply({ op: 'rmdir', path, timeMs: Date.now() });
  }

  async rename(from: string, to: string, flags = 0): Promise<void> {
    if (flags & RENAME_EXCHANGE) throw fsError('ENOTSUP', 'RENAME_EXCHANGE');
    if (flags & ~RENAME_NOREPLACE) throw fsError('EINVAL', `rename flags ${flags}`);
    if (this.split(from).length === 0 || this.split(to).length === 0) throw fsError('EBUSY', 'the top directory');
    const timeMs = Date.now();
    await this.applyRename(from, to, timeMs, flags);
    await this.journal({ op: 'rename', from, to, timeMs });
  }

  async symlink(target: string, path: string): Promise<void> {
    if (target.length === 0) throw fsError('ENOENT', 'empty symlink target');
    targetBytes(target);
    await this.apply({ op: 'symlink', path, target, uid: OWNER.uid, gid: OWNER.gid, timeMs: Date.now() });
  }

  async readlink(path: string): Promise<string> {
    const n = await this.resolve(path);
    if (n.type !== 'symlink') throw fsError('EINVAL', `${path} is not a symlink`);
    return n.target;
  }

  async link(from: string, to: string): Promise<void> {
    await this.resolve(from);
    throw fsError('EPERM', `hard links are not supported (${to})`);
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.apply({ op: 'chmod', path, perm: mode & 0o7777, timeMs: Date.now() });
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    const n = await this.resolve(path);
    await this.apply({ op: 'chown', path, uid: uid === -1 ? n.uid : uid, gid: gid === -1 ? n.gid : gid, timeMs: Date.now() });
  }

  async utimens(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    await this.apply({ op: 'utimens', path, atimeMs, mtimeMs, timeMs: Date.now() });
  }

  async futimens(fh: number, atimeMs: number, mtimeMs: number): Promise<void> {
    const n = this.handle(fh).node;
    const path = pathOf(n);
    if (path === null || n.type !== 'file' || !this.data.unsealed.has(n)) {
      if (path !== null) return this.utimens(path, atimeMs, mtimeMs);
      n.atimeMs = atimeMs;
      n.mtimeMs = mtimeMs;
      return;
    }
    // Unsealed content is journaled with its mtime by the close (inline record) or the
    // seal ('data' record); until then a killed process loses the content as well.
    n.atimeMs = atimeMs;
    n.mtimeMs = mtimeMs;
    n.ctimeMs = Date.now();
    n.origin = null;
    markDirty(n.parent);
    this.small.changed(n);
    this.ctx.changed();
  }

  async setxattr(path: string, name: string, value: Uint8Array, flags: number): Promise<void> {
    const n = await this.resolve(path);
    if (name.length === 0 || encodeName(name).length > 255) throw fsError('ERANGE', 'xattr name');
    if (value.length > XATTR_MAX_VALUE_BYTES) throw fsError('E2BIG', `xattr value of ${value.length} bytes`);
    if (flags & XATTR_CREATE && n.xattrs.has(name)) throw fsError('EEXIST', name);
    if (flags & XATTR_REPLACE && !n.xattrs.has(name)) throw fsError('ENODATA', name);
    await this.apply({ op: 'setxattr', path, name, value: toBase64(value), timeMs: Date.now() });
  }

  async getxattr(path: string, name: string): Promise<Uint8Array> {
    const v = (await this.resolve(path)).xattrs.get(name);
    if (!v) throw fsError('ENODATA', name);
    return v.slice();
  }

  async listxattr(path: string): Promise<string[]> {
    return [...(await this.resolve(path)).xattrs.keys()];
  }

  async removexattr(path: string, name: string): Promise<void> {
    await this.apply({ op: 'removexattr', path, name, timeMs: Date.now() });
  }

  async statfs(): Promise<StatFs> {
    const bsize = 4096;
    let used = 0;
    let quota: number | null = null;
    let files = 0;
    try {
      const u = await this.ctx.store.usage();
      used = u.usedBytes;
      quota = u.quotaBytes;
      files = u.objectCount;
    } catch (e) {
      if (!isMegafsError(e)) throw e;
    }
    const total = quota ?? Math.max(used * 2, 2 ** 50);
    const blocks = Math.floor(total / bsize);
    const bfree = Math.max(0, blocks - Math.ceil(used / bsize));
    return { bsize, frsize: bsize, blocks, bfree, bavail: bfree, files: files + 2 ** 32, ffree: 2 ** 32, favail: 2 ** 32, namemax: NAME_MAX_BYTES };
  }

  async sync(): Promise<void> {
    try {
      await this.ctx.commit();
    } catch (e) {
      if (e instanceof FsError) throw e;
      throw new FsError('EIO', `sync: ${(e as Error).message}`, { cause: e });
    }
  }

  status(): VfsStatus {
    return this.ctx.status();
  }

  writeThrough(): boolean {
    return this.ctx.spaceTight();
  }

  async close(): Promise<void> {
    try {
      await this.ctx.shutdown();
    } catch (e) {
      if (e instanceof FsError) throw e;
      throw new FsError('EIO', `close: ${(e as Error).message}`, { cause: e });
    }
  }

  /** All files with unsealed changes that are still in the tree. */
  openFiles(): FileNode[] {
    return [...this.handles.values()].map((h) => h.node).filter((n): n is FileNode => n.type === 'file');
  }
}
