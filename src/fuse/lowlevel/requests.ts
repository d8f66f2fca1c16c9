// The request handlers of the native binding: low-level FUSE operations (node ids, lookup
// counts, offsets into directory listings) onto the path-based Vfs. Every request is
// answered exactly once through answer(); errors go through errno.ts like fuse-native's.
import { constants as fsc } from 'node:fs';
import type { Attr, DirEntry, Vfs } from '../../vfs/types.js';
import { ERRNO, toErrno } from '../errno.js';
import type { NativeBinding, Session } from './binding.js';
import { NodeTable, type FsNode } from './nodes.js';
import * as w from './wire.js';
import { encodeName, nameFromLatin1 } from '../../format/names.js';

const NUL = Buffer.from([0]);
const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');
/** The bytes of a vfs name for the kernel (ASCII names skip the escape scan). */
const nameBuffer = (name: string): Buffer => (/^[\x00-\x7f]*$/.test(name) ? Buffer.from(name, 'latin1') : Buffer.from(encodeName(name)));

/** Operation codes, as in native/megafs_fuse.c. */
export const enum Op {
  LOOKUP, GETATTR, SETATTR, READLINK, MKDIR, UNLINK, RMDIR, SYMLINK, RENAME, LINK, OPEN, READ,
  WRITE, FLUSH, RELEASE, FSYNC, OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR, STATFS,
  SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR, CREATE, INTERRUPT, FORGET, EXIT, INIT, FALLOCATE,
}

/** FUSE_SET_ATTR_* bits of setattr's `valid`. */
const SET = { MODE: 1, UID: 2, GID: 4, SIZE: 8, ATIME: 16, MTIME: 32, ATIME_NOW: 128, MTIME_NOW: 256 };
const RENAME_EXCHANGE = 2;
const EINTR = 4;
const READ_BLOCK_BYTES = 1024 * 1024;

export interface RequestOptions {
  /** Seconds the kernel may keep names, attributes and negative lookups. */
  ttlS: number;
  log: (line: string) => void;
  /** The kernel was unmounted from outside (umount, fusermount -u). */
  onExit: () => void;
}

interface DirHandle { node: FsNode; entries: DirEntry[] | null; self: Attr | null }

export class Requests {
  readonly nodes = new NodeTable();
  session!: Session;
  /** Reply scratch for fixed-size structs and directory listings: sent synchronously. */
  private scratch = Buffer.allocUnsafeSlow(64 * 1024);
  /** Read buffers: reused, since a fresh 1 MiB Buffer is an mmap and page faults. */
  private readonly readPool: Buffer[] = [];
  private recvView: { ab: ArrayBuffer; u8: Uint8Array } | null = null;
  private readonly dirs = new Map<number, DirHandle>();
  private nextDir = 1;
  /** Pending requests that only read: answered EINTR at once if the kernel interrupts. */
  private readonly interruptible = new Set<number>();
  /** Whether the kernel took writeback_cache (known after INIT): then O_WRONLY opens
   *  become O_RDWR (the kernel reads to fill pages) and O_APPEND is the kernel's job. */
  private writebackOn: boolean | null = null;

  constructor(private readonly vfs: Vfs, private readonly native: NativeBinding, private readonly o: RequestOptions) {}

  private send(id: number, buf?: Uint8Array, length?: number): number {
    return this.native.reply(this.session, id, 0, buf, length);
  }

  private fail(id: number, err: unknown): void {
    this.interruptible.delete(id);
    this.native.reply(this.session, id, -toErrno(err, this.o.log), undefined);
  }

  /** Run `work`; `ok` answers on success, thrown errors answer with their errno. */
  private run<T>(id: number, work: () => Promise<T>, ok: (v: T) => void): void {
    let p: Promise<T>;
    try {
      p = work();
    } catch (err) {
      this.fail(id, err);
      return;
    }
    p.then((v) => {
      try {
        ok(v);
      } catch (err) {
        this.fail(id, err);
      }
    }, (err: unknown) => this.fail(id, err));
  }

  private node(id: number): FsNode {
    const n = this.nodes.get(id);
    if (!n) throw Object.assign(new Error(`unknown node ${id}`), { code: 'ENOENT' });
    return n;
  }

  private pathOf(id: number): string {
    const p = this.nodes.path(this.node(id));
    if (p === null) throw Object.assign(new Error('node was removed'), { code: 'ENOENT' });
    return p;
  }

  private childPath(parent: number, name: string): string {
    const p = this.nodes.childPath(this.node(parent), name);
    if (p === null) throw Object.assign(new Error('directory was removed'), { code: 'ENOENT' });
    return p;
  }

  /** Answer with an entry for `name` under `parent`; the lookup counts once the kernel has it. */
  private entry(id: number, parent: number, name: string, a: Attr, open?: { fh: number; flags: number }): void {
    const n = this.nodes.child(this.node(parent), name, a.ino);
    n.nlookup++;
    const b = this.scratch;
    w.entryOut(b, 0, n.id, a, this.o.ttlS);
    let len = w.ENTRY_OUT_BYTES;
    if (open) {
      (n.fhs ??= new Set()).add(open.fh);
      w.openOut(b, len, open.fh, open.flags);
      len += w.OPEN_OUT_BYTES;
    }
    this.interruptible.delete(id);
    if (this.send(id, b, len) !== 0) {
      n.nlookup--;
      if (open) this.releaseFh(n, open.fh);
      this.nodes.dropIfUnused(n);
    }
  }

  /** A lookup of a missing name: a negative entry the kernel keeps for ttlS (none if 0). */
  private missing(id: number): void {
    this.interruptible.delete(id);
    if (this.o.ttlS <= 0) {
      this.native.reply(this.session, id, ERRNO.ENOENT, undefined);
      return;
    }
    w.entryOut(this.scratch, 0, 0, null, this.o.ttlS);
    this.send(id, this.scratch, w.ENTRY_OUT_BYTES);
  }

  private attr(id: number, a: Attr): void {
    this.interruptible.delete(id);
    this.send(id, this.scratch, w.attrOut(this.scratch, a, this.o.ttlS));
  }

  private ok(id: number): void {
    this.interruptible.delete(id);
    this.native.reply(this.session, id, 0, undefined);
  }

  private releaseFh(n: FsNode, fh: number): void {
    n.fhs?.delete(fh);
    this.vfs.release(fh).catch((err: unknown) => toErrno(err, this.o.log));
  }

  /** FOPEN_DIRECT_IO for a writer opened while space is tight (Vfs.writeThrough). */
  private directFor(flags: number): number {
    return (flags & 3) !== fsc.O_RDONLY && this.vfs.writeThrough?.() ? w.FOPEN_DIRECT_IO : 0;
  }

  private openFlags(flags: number): number {
    if (!(this.writebackOn ??= this.native.writeback(this.session))) return flags;
    const f = flags & ~fsc.O_APPEND;
    return (f & 3) === fsc.O_WRONLY ? (f & ~3) | fsc.O_RDWR : f;
  }

  /** Attributes of node `id`: through an open handle when it has no path any more. */
  private getattrOf(id: number, fh: number): Promise<Attr> {
    if (fh >= 0) return this.vfs.fgetattr(fh);
    const n = this.node(id);
    const p = this.nodes.path(n);
    if (p !== null) return this.vfs.getattr(p);
    const any = n.fhs?.values().next();
    if (any && !any.done) return this.vfs.fgetattr(any.value);
    throw Object.assign(new Error('node was removed'), { code: 'ENOENT' });
  }

  private takeReadBuffer(size: number): Buffer {
    if (size > READ_BLOCK_BYTES) return Buffer.allocUnsafeSlow(size);
    return this.readPool.pop() ?? Buffer.allocUnsafeSlow(READ_BLOCK_BYTES);
  }

  private giveReadBuffer(b: Buffer): void {
    if (b.length === READ_BLOCK_BYTES && this.readPool.length < 64) this.readPool.push(b);
  }

  /** The binding's dispatch function: one call per kernel request. */
  readonly dispatch = (op: Op, id: number, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown,
    f?: unknown, g?: unknown, h?: unknown, i?: unknown): void => {
    try {
      this.handle(op, id, a, b, c, d, e, f, g, h, i);
    } catch (err) {
      if (id) this.fail(id, err);
    }
  };

  private handle(op: Op, id: number, ...x: unknown[]): void {
    const vfs = this.vfs;
    const n = (i: number): number => x[i] as number;
    // Names, targets and xattr names come as latin1 (one char per byte): their vfs strings.
    const s = (i: number): string => nameFromLatin1(x[i] as string);
    switch (op) {
      case Op.LOOKUP: {
        const path = this.childPath(n(0), s(1));
        this.interruptible.add(id);
        const found: Promise<Attr | null> = vfs.lookup ? vfs.lookup(path) : vfs.getattr(path);
        found.then((a) => (a ? this.entry(id, n(0), s(1), a) : this.missing(id)), (err: unknown) => {
          if (toErrno(err) !== -ERRNO.ENOENT) return this.fail(id, err);
          this.missing(id);
        }).catch((err: unknown) => this.fail(id, err));
        return;
      }
      case Op.FORGET: return this.nodes.forget(n(0), n(1));
      case Op.GETATTR:
        this.interruptible.add(id);
        return this.run(id, () => this.getattrOf(n(0), n(1)), (a) => this.attr(id, a));
      case Op.SETATTR: return this.run(id, () => this.setattr(n(0), n(1), n(2), n(3), n(4), n(5), n(6), n(7), n(8)), (a) => this.attr(id, a));
      case Op.READLINK:
        this.interruptible.add(id);
        return this.run(id, () => vfs.readlink(this.pathOf(n(0))), (t) => {
          this.interruptible.delete(id);
          const buf = Buffer.from(encodeName(t));
          this.send(id, buf, buf.length);
        });
      case Op.MKDIR: {
        const path = this.childPath(n(0), s(1));
        return this.run(id, async () => { await vfs.mkdir(path, n(2)); return vfs.getattr(path); }, (a) => this.entry(id, n(0), s(1), a));
      }
      case Op.SYMLINK: {
        const path = this.childPath(n(0), s(1));
        return this.run(id, async () => { await vfs.symlink(s(2), path); return vfs.getattr(path); }, (a) => this.entry(id, n(0), s(1), a));
      }
      case Op.LINK: {
        const from = this.pathOf(n(0));
        const to = this.childPath(n(1), s(2));
        return this.run(id, async () => { await vfs.link(from, to); return vfs.getattr(to); }, (a) => this.entry(id, n(1), s(2), a));
      }
      case Op.UNLINK:
      case Op.RMDIR: {
        const path = this.childPath(n(0), s(1));
        const dir = this.node(n(0));
        return this.run(id, () => (op === Op.UNLINK ? vfs.unlink(path) : vfs.rmdir(path)), () => {
          this.nodes.detach(dir, s(1));
          this.ok(id);
        });
      }
      case Op.RENAME: {
        const from = this.childPath(n(0), s(1));
        const to = this.childPath(n(2), s(3));
        const [dir, toDir] = [this.node(n(0)), this.node(n(2))];
        return this.run(id, () => vfs.rename(from, to, n(4)), () => {
          if (n(4) & RENAME_EXCHANGE) this.nodes.exchange(dir, s(1), toDir, s(3));
          else this.nodes.move(dir, s(1), toDir, s(3));
          this.ok(id);
        });
      }
      case Op.OPEN: {
        const node = this.node(n(0));
        return this.run(id, () => vfs.open(this.pathOf(n(0)), this.openFlags(n(1))), (fh) => {
          (node.fhs ??= new Set()).add(fh);
          // Only this mount changes its files, so pages cached from an earlier open are current.
          w.openOut(this.scratch, 0, fh, w.FOPEN_KEEP_CACHE | this.directFor(n(1)));
          if (this.send(id, this.scratch, w.OPEN_OUT_BYTES) !== 0) this.releaseFh(node, fh);
        });
      }
      case Op.CREATE: {
        const path = this.childPath(n(0), s(1));
        return this.run(id, async () => {
          const fh = await vfs.create(path, n(2), this.openFlags(n(3)));
          return { fh, a: await vfs.fgetattr(fh) };
        }, ({ fh, a }) => this.entry(id, n(0), s(1), a, { fh, flags: w.FOPEN_KEEP_CACHE | this.directFor(n(3)) }));
      }
      case Op.READ: {
        const size = n(2);
        const buf = this.takeReadBuffer(size);
        this.interruptible.add(id);
        this.run(id, () => vfs.read(n(1), buf, size, n(3)).finally(() => this.giveReadBuffer(buf)), (count) => {
          this.interruptible.delete(id);
          this.send(id, buf, count);
        });
        return;
      }
      case Op.WRITE: {
        // The bytes are still in libfuse's receive buffer (x[3] at x[4]), which the next
        // request overwrites: the Vfs copies them before its first await.
        const where = n(4);
        let data: Uint8Array;
        if (where >= 0) {
          const ab = x[3] as ArrayBuffer;
          if (this.recvView?.ab !== ab) this.recvView = { ab, u8: new Uint8Array(ab) };
          data = this.recvView.u8.subarray(where, where + n(5));
        } else {
          data = x[3] as Buffer;
        }
        return this.run(id, () => vfs.write(n(1), data, n(2)), (count) => this.send(id, this.scratch, w.countOut(this.scratch, count)));
      }
      case Op.FLUSH: return this.run(id, () => vfs.flush(n(1)), () => this.ok(id));
      case Op.RELEASE: {
        const node = this.nodes.get(n(0));
        return this.run(id, () => vfs.release(n(1)), () => {
          if (node) { node.fhs?.delete(n(1)); this.nodes.dropIfUnused(node); }
          this.ok(id);
        });
      }
      case Op.FSYNC: return this.run(id, () => vfs.fsync(n(1), n(2) !== 0), () => this.ok(id));
      case Op.FALLOCATE: return this.run(id, async () => {
        if (!vfs.fallocate) throw Object.assign(new Error('fallocate'), { code: 'ENOTSUP' });
        await vfs.fallocate(n(1), n(2), n(3), n(4));
      }, () => this.ok(id));
      case Op.FSYNCDIR: return this.run(id, () => vfs.sync(), () => this.ok(id));
      case Op.OPENDIR: {
        const node = this.node(n(0));
        this.pathOf(n(0));
        const dh = this.nextDir++;
        this.dirs.set(dh, { node, entries: null, self: null });
        w.openOut(this.scratch, 0, dh, 0);
        if (this.send(id, this.scratch, w.OPEN_OUT_BYTES) !== 0) this.dirs.delete(dh);
        return;
      }
      case Op.READDIR:
      case Op.READDIRPLUS: {
        const dh = this.dirs.get(n(1));
        if (!dh) throw Object.assign(new Error('bad dir handle'), { code: 'EBADF' });
        this.interruptible.add(id);
        return this.run(id, async () => {
          if (!dh.entries || n(3) === 0) {
            const path = this.pathOf(dh.node.id);
            [dh.self, dh.entries] = await Promise.all([vfs.getattr(path), vfs.readdir(path)]);
          }
        }, () => this.readdirReply(id, dh, n(2), n(3), op === Op.READDIRPLUS));
      }
      case Op.RELEASEDIR:
        this.dirs.delete(n(1));
        return this.ok(id);
      case Op.STATFS: return this.run(id, () => vfs.statfs(), (st) => this.send(id, this.scratch, w.statfsOut(this.scratch, st)));
      case Op.SETXATTR: return this.run(id, () => vfs.setxattr(this.pathOf(n(0)), s(1), x[2] as Buffer, n(3)), () => this.ok(id));
      case Op.GETXATTR:
        this.interruptible.add(id);
        return this.run(id, () => vfs.getxattr(this.pathOf(n(0)), s(1)), (v) => this.sized(id, v, n(2)));
      case Op.LISTXATTR:
        this.interruptible.add(id);
        return this.run(id, () => vfs.listxattr(this.pathOf(n(0))), (names) =>
          this.sized(id, Buffer.concat(names.flatMap((nm) => [encodeName(nm), NUL])), n(1)));
      case Op.REMOVEXATTR: return this.run(id, () => vfs.removexattr(this.pathOf(n(0)), s(1)), () => this.ok(id));
      case Op.INTERRUPT:
        // Reads are safe to abandon: answer EINTR now, the late result finds the request gone.
        if (this.interruptible.delete(id)) this.native.reply(this.session, id, EINTR, undefined);
        return;
      case Op.EXIT: return this.o.onExit();
      default: throw Object.assign(new Error(`op ${op as number}`), { code: 'ENOSYS' });
    }
  }

  /** xattr protocol: size 0 asks for the length; a value longer than `size` is ERANGE. */
  private sized(id: number, v: Uint8Array, size: number): void {
    this.interruptible.delete(id);
    if (size === 0) this.send(id, this.scratch, w.countOut(this.scratch, v.length));
    else if (v.length > size) this.native.reply(this.session, id, ERRNO.ERANGE, undefined);
    else this.send(id, v, v.length);
  }

  private async setattr(ino: number, fh: number, valid: number, mode: number, uid: number, gid: number,
    size: number, atimeMs: number, mtimeMs: number): Promise<Attr> {
    const vfs = this.vfs;
    const node = this.node(ino);
    const path = this.nodes.path(node);
    // An unlinked file still open somewhere (the kernel's writeback cache sends its times
    // at close without a handle): change it through one of its handles.
    if (fh < 0 && path === null) fh = node.fhs?.values().next().value ?? -1;
    if (fh < 0 && path === null) throw Object.assign(new Error('node was removed'), { code: 'ENOENT' });
    const need = (): string => {
      if (path === null) throw Object.assign(new Error('node was removed'), { code: 'ENOENT' });
      return path;
    };
    if (valid & SET.MODE) await vfs.chmod(need(), mode);
    if (valid & (SET.UID | SET.GID)) await vfs.chown(need(), valid & SET.UID ? uid : -1, valid & SET.GID ? gid : -1);
    if (valid & SET.SIZE) await (fh >= 0 ? vfs.ftruncate(fh, size) : vfs.truncate(need(), size));
    const times = SET.ATIME | SET.MTIME | SET.ATIME_NOW | SET.MTIME_NOW;
    if (valid & times) {
      const now = Date.now();
      const cur = (valid & (SET.ATIME | SET.ATIME_NOW)) && (valid & (SET.MTIME | SET.MTIME_NOW)) ? null : await this.getattrOf(ino, fh);
      const at = valid & SET.ATIME_NOW ? now : valid & SET.ATIME ? atimeMs : cur!.atimeMs;
      const mt = valid & SET.MTIME_NOW ? now : valid & SET.MTIME ? mtimeMs : cur!.mtimeMs;
      if (fh >= 0 && vfs.futimens) await vfs.futimens(fh, at, mt);
      else await vfs.utimens(need(), at, mt);
    }
    return this.getattrOf(ino, fh);
  }

  /** Listing records from index `off` ('.', '..', then the entries) that fit in `size`. */
  private readdirReply(id: number, dh: DirHandle, size: number, off: number, plus: boolean): void {
    const entries = dh.entries!;
    if (this.scratch.length < size) this.scratch = Buffer.allocUnsafeSlow(size);
    const b = this.scratch;
    const counted: FsNode[] = [];
    let len = 0;
    for (let i = off; i < entries.length + 2; i++) {
      const e = i < 2 ? null : entries[i - 2];
      const name = e ? nameBuffer(e.name) : i === 0 ? DOT : DOTDOT;
      if (len + w.direntBytes(name.length, plus) > size) break;
      const a = e ? e.attr : dh.self!;
      let extra = null;
      if (plus) {
        if (e) {
          const child = this.nodes.child(dh.node, e.name, e.attr.ino);
          child.nlookup++;
          counted.push(child);
          extra = { nodeid: child.id, attr: a, ttlS: this.o.ttlS };
        } else {
          extra = { nodeid: 0, attr: a, ttlS: 0 };
        }
      }
      len += w.dirent(b, len, name, a.ino, a.mode, i + 1, extra);
    }
    this.interruptible.delete(id);
    if (this.send(id, b, len) !== 0) {
      for (const c of counted) { c.nlookup--; this.nodes.dropIfUnused(c); }
    }
  }
}
