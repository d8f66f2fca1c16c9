// A do-nothing in-memory Vfs: no crypto, no store, no cache. It measures the ceiling of
// the FUSE binding itself (bench/mount.bench.ts) and lets the adapter be tested alone.
// Files keep their bytes in 128 KiB blocks (a missing block reads as zeros), so a write
// costs one copy and a growing file is never copied again.
import { constants as fsc } from 'node:fs';
import { fsError } from '../errors.js';
import type { Attr, DirEntry, StatFs, Vfs, VfsStatus } from '../vfs/types.js';

interface Node {
  attr: Attr;
  blocks?: Map<number, Uint8Array>; // files: block index -> BLOCK_BYTES bytes
  children?: Map<string, Node>; // directories
  target?: string; // symlinks
  xattrs: Map<string, Uint8Array>;
}

const BLOCK_BYTES = 128 * 1024;

export class MemVfs implements Vfs {
  private nextIno = 1; // the root, created first, gets inode 1
  private nextFh = 1;
  private readonly root: Node = this.node(fsc.S_IFDIR | 0o755, { children: new Map() });
  private readonly handles = new Map<number, { node: Node; append: boolean }>();

  private node(mode: number, extra: Partial<Node>): Node {
    const now = Date.now();
    const ino = this.nextIno++;
    const attr: Attr = {
      ino, mode, nlink: extra.children ? 2 : 1, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0,
      size: 0, blocks: 0, atimeMs: now, mtimeMs: now, ctimeMs: now,
    };
    return { attr, xattrs: new Map(), ...extra };
  }

  private nodeAt(path: string): Node {
    let n = this.root;
    for (const part of path.split('/').filter(Boolean)) {
      if (!n.children) throw fsError('ENOTDIR', path);
      const next = n.children.get(part);
      if (!next) throw fsError('ENOENT', path);
      n = next;
    }
    return n;
  }

  private parent(path: string): { dir: Node; name: string } {
    const i = path.lastIndexOf('/');
    const dir = this.nodeAt(path.slice(0, i) || '/');
    const name = path.slice(i + 1);
    if (!dir.children) throw fsError('ENOTDIR', path);
    if (Buffer.byteLength(name) > 255) throw fsError('ENAMETOOLONG', path);
    return { dir, name };
  }

  private add(path: string, n: Node): void {
    const { dir, name } = this.parent(path);
    if (dir.children!.has(name)) throw fsError('EEXIST', path);
    dir.children!.set(name, n);
    if (n.children) dir.attr.nlink++;
    this.touch(dir);
  }

  private touch(n: Node): void {
    n.attr.mtimeMs = n.attr.ctimeMs = Date.now();
  }

  private handle(fh: number): { node: Node; append: boolean } {
    const h = this.handles.get(fh);
    if (!h) throw fsError('EBADF', String(fh));
    return h;
  }

  private resize(n: Node, size: number): void {
    if (size < n.attr.size) {
      for (const [i, b] of n.blocks!) {
        if (i * BLOCK_BYTES >= size) n.blocks!.delete(i);
        else if ((i + 1) * BLOCK_BYTES > size) b.fill(0, size - i * BLOCK_BYTES);
      }
    }
    n.attr.size = size;
    n.attr.blocks = Math.ceil(size / 512);
    this.touch(n);
  }

  /** Visit [position, position + length) block by block: (block index, offset in block,
   *  offset in the caller's buffer, byte count). */
  private static spans(position: number, length: number, visit: (i: number, at: number, bufAt: number, n: number) => void): void {
    for (let done = 0; done < length;) {
      const i = Math.floor((position + done) / BLOCK_BYTES);
      const at = (position + done) % BLOCK_BYTES;
      const n = Math.min(BLOCK_BYTES - at, length - done);
      visit(i, at, done, n);
      done += n;
    }
  }

  async getattr(path: string): Promise<Attr> { return { ...this.nodeAt(path).attr }; }
  async fgetattr(fh: number): Promise<Attr> { return { ...this.handle(fh).node.attr }; }
  async readdir(path: string): Promise<DirEntry[]> {
    const n = this.nodeAt(path);
    if (!n.children) throw fsError('ENOTDIR', path);
    return [...n.children].map(([name, c]) => ({ name, attr: { ...c.attr } }));
  }
  async open(path: string, flags: number): Promise<number> {
    const node = this.nodeAt(path);
    if (node.children) throw fsError('EISDIR', path);
    if (flags & fsc.O_TRUNC) this.resize(node, 0);
    const fh = this.nextFh++;
    this.handles.set(fh, { node, append: (flags & fsc.O_APPEND) !== 0 });
    return fh;
  }
  async create(path: string, mode: number, flags: number): Promise<number> {
    this.add(path, this.node(fsc.S_IFREG | (mode & 0o7777), { blocks: new Map() }));
    return this.open(path, flags & ~fsc.O_TRUNC);
  }
  async read(fh: number, buf: Uint8Array, length: number, position: number): Promise<number> {
    const n = this.handle(fh).node;
    const count = Math.min(n.attr.size, position + length) - position;
    if (count <= 0) return 0;
    MemVfs.spans(position, count, (i, at, bufAt, len) => {
      const b = n.blocks!.get(i);
      if (b) buf.set(b.subarray(at, at + len), bufAt);
      else buf.fill(0, bufAt, bufAt + len);
    });
    return count;
  }
  async write(fh: number, data: Uint8Array, position: number): Promise<number> {
    const h = this.handle(fh);
    const at = h.append ? h.node.attr.size : position;
    const blocks = h.node.blocks!;
    MemVfs.spans(at, data.length, (i, blockAt, dataAt, len) => {
      let b = blocks.get(i);
      if (!b) blocks.set(i, (b = new Uint8Array(BLOCK_BYTES)));
      b.set(data.subarray(dataAt, dataAt + len), blockAt);
    });
    if (at + data.length > h.node.attr.size) this.resize(h.node, at + data.length);
    else this.touch(h.node);
    return data.length;
  }
  async flush(fh: number): Promise<void> { this.handle(fh); }
  async fsync(fh: number): Promise<void> { this.handle(fh); }
  async release(fh: number): Promise<void> { this.handles.delete(fh); }
  async truncate(path: string, size: number): Promise<void> {
    const n = this.nodeAt(path);
    if (!n.blocks) throw fsError('EISDIR', path);
    this.resize(n, size);
  }
  async ftruncate(fh: number, size: number): Promise<void> { this.resize(this.handle(fh).node, size); }
  async unlink(path: string): Promise<void> {
    const { dir, name } = this.parent(path);
    const n = dir.children!.get(name);
    if (!n) throw fsError('ENOENT', path);
    if (n.children) throw fsError('EISDIR', path);
    dir.children!.delete(name);
    n.attr.nlink--;
    this.touch(dir);
  }
  async mkdir(path: string, mode: number): Promise<void> {
    this.add(path, this.node(fsc.S_IFDIR | (mode & 0o7777), { children: new Map() }));
  }
  async rmdir(path: string): Promise<void> {
    const { dir, name } = this.parent(path);
    const n = dir.children!.get(name);
    if (!n) throw fsError('ENOENT', path);
    if (!n.children) throw fsError('ENOTDIR', path);
    if (n.children.size > 0) throw fsError('ENOTEMPTY', path);
    dir.children!.delete(name);
    dir.attr.nlink--;
    this.touch(dir);
  }
  async rename(from: string, to: string): Promise<void> {
    const src = this.parent(from);
    const n = src.dir.children!.get(src.name);
    if (!n) throw fsError('ENOENT', from);
    const dst = this.parent(to);
    const old = dst.dir.children!.get(dst.name);
    if (old === n) return;
    if (old?.children && old.children.size > 0) throw fsError('ENOTEMPTY', to);
    if (old && !!old.children !== !!n.children) throw fsError(old.children ? 'EISDIR' : 'ENOTDIR', to);
    src.dir.children!.delete(src.name);
    dst.dir.children!.set(dst.name, n);
    if (n.children && src.dir !== dst.dir) { src.dir.attr.nlink--; dst.dir.attr.nlink++; }
    this.touch(src.dir);
    this.touch(dst.dir);
    n.attr.ctimeMs = Date.now();
  }
  async symlink(target: string, path: string): Promise<void> {
    const n = this.node(fsc.S_IFLNK | 0o777, { target });
    n.attr.size = Buffer.byteLength(target);
    this.add(path, n);
  }
  async readlink(path: string): Promise<string> {
    const n = this.nodeAt(path);
    if (n.target === undefined) throw fsError('EINVAL', path);
    return n.target;
  }
  async link(from: string, to: string): Promise<void> {
    const n = this.nodeAt(from);
    if (n.children) throw fsError('EPERM', from);
    this.add(to, n);
    n.attr.nlink++;
  }
  async chmod(path: string, mode: number): Promise<void> {
    const n = this.nodeAt(path);
    n.attr.mode = (n.attr.mode & fsc.S_IFMT) | (mode & 0o7777);
    n.attr.ctimeMs = Date.now();
  }
  async chown(path: string, uid: number, gid: number): Promise<void> {
    const n = this.nodeAt(path);
    if (uid !== -1 && uid !== 0xffffffff) n.attr.uid = uid;
    if (gid !== -1 && gid !== 0xffffffff) n.attr.gid = gid;
  }
  async utimens(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    const n = this.nodeAt(path);
    n.attr.atimeMs = atimeMs;
    n.attr.mtimeMs = mtimeMs;
  }
  async setxattr(path: string, name: string, value: Uint8Array): Promise<void> {
    this.nodeAt(path).xattrs.set(name, value.slice());
  }
  async getxattr(path: string, name: string): Promise<Uint8Array> {
    const v = this.nodeAt(path).xattrs.get(name);
    if (!v) throw fsError('ENODATA', name);
    return v;
  }
  async listxattr(path: string): Promise<string[]> { return [...this.nodeAt(path).xattrs.keys()]; }
  async removexattr(path: string, name: string): Promise<void> {
    if (!this.nodeAt(path).xattrs.delete(name)) throw fsError('ENODATA', name);
  }
  async statfs(): Promise<StatFs> {
    const blocks = 1 << 30;
    return { bsize: 4096, frsize: 4096, blocks, bfree: blocks, bavail: blocks, files: 1 << 24, ffree: 1 << 24, favail: 1 << 24, namemax: 255 };
  }
  async sync(): Promise<void> {}
  status(): VfsStatus {
    return { dirtyBytes: 0, queuedUploads: 0, cacheBytes: 0, cacheLimitBytes: 0, errors: [], rootVersion: 'memory' };
  }
  async close(): Promise<void> { this.handles.clear(); }
}
