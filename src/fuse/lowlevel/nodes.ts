// The inode layer between the kernel's node ids and the path-based Vfs: one node per
// (parent, name) the kernel has looked up, with its lookup count; FORGET drops it.
// Node ids are never reused (generation stays 0). A hard link gets one node per name,
// as in libfuse's high-level API. Unlinked or replaced nodes are detached: they keep
// their id until forgotten, and reach the Vfs only through their open handles.

export const ROOT_ID = 1;

export interface FsNode {
  readonly id: number;
  parent: FsNode | null;
  name: string;
  /** Lookups the kernel holds (entry replies it accepted minus FORGETs). */
  nlookup: number;
  /** Still reachable by its path (false once unlinked, removed or renamed over). */
  attached: boolean;
  /** Vfs handles open on this node: a detached file still answers getattr through one. */
  fhs: Set<number> | null;
}

export class NodeTable {
  private nextId = ROOT_ID + 1;
  private readonly byId = new Map<number, FsNode>();
  private readonly byName = new Map<string, FsNode>();
  readonly root: FsNode = { id: ROOT_ID, parent: null, name: '', nlookup: 1, attached: true, fhs: null };

  constructor() {
    this.byId.set(ROOT_ID, this.root);
  }

  get size(): number { return this.byId.size; }

  get(id: number): FsNode | undefined { return this.byId.get(id); }

  /** The Vfs path of an attached node ('/' for the root); null once detached. */
  path(n: FsNode): string | null {
    if (n === this.root) return '/';
    let p = '';
    for (let c: FsNode | null = n; c && c !== this.root; c = c.parent) {
      if (!c.attached) return null;
      p = `/${c.name}${p}`;
    }
    return p;
  }

  /** `name` under `dir` as a path (the child need not exist). */
  childPath(dir: FsNode, name: string): string | null {
    const p = this.path(dir);
    return p === null ? null : p === '/' ? `/${name}` : `${p}/${name}`;
  }

  /** The node for `name` under `dir`, made on first sight. The caller adds the lookup. */
  child(dir: FsNode, name: string): FsNode {
    const key = `${dir.id}/${name}`;
    let n = this.byName.get(key);
    if (!n) {
      n = { id: this.nextId++, parent: dir, name, nlookup: 0, attached: true, fhs: null };
      this.byId.set(n.id, n);
      this.byName.set(key, n);
    }
    return n;
  }

  /** `name` under `dir` is gone from the tree (unlink, rmdir, renamed over). */
  detach(dir: FsNode, name: string): void {
    const key = `${dir.id}/${name}`;
    const n = this.byName.get(key);
    if (!n) return;
    this.byName.delete(key);
    n.attached = false;
    this.dropIfUnused(n);
  }

  /** A rename: the node under (dir, name), if known, moves to (toDir, toName). */
  move(dir: FsNode, name: string, toDir: FsNode, toName: string): void {
    const key = `${dir.id}/${name}`;
    const n = this.byName.get(key);
    this.detach(toDir, toName);
    if (!n) return;
    this.byName.delete(key);
    n.parent = toDir;
    n.name = toName;
    this.byName.set(`${toDir.id}/${toName}`, n);
  }

  /** RENAME_EXCHANGE: the two names swap nodes. */
  exchange(dir: FsNode, name: string, toDir: FsNode, toName: string): void {
    const a = this.byName.get(`${dir.id}/${name}`);
    const b = this.byName.get(`${toDir.id}/${toName}`);
    this.byName.delete(`${dir.id}/${name}`);
    this.byName.delete(`${toDir.id}/${toName}`);
    if (a) { a.parent = toDir; a.name = toName; this.byName.set(`${toDir.id}/${toName}`, a); }
    if (b) { b.parent = dir; b.name = name; this.byName.set(`${dir.id}/${name}`, b); }
  }

  /** FORGET: the kernel dropped `count` lookups of node `id`. */
  forget(id: number, count: number): void {
    const n = this.byId.get(id);
    if (!n || n === this.root) return;
    n.nlookup = Math.max(0, n.nlookup - count);
    this.dropIfUnused(n);
  }

  /** Forget a node that the kernel no longer holds, unless a handle still uses it. A
   *  forgotten attached node just leaves the table; the next lookup makes a new one. */
  dropIfUnused(n: FsNode): void {
    if (n.nlookup > 0 || n === this.root || (n.fhs && n.fhs.size > 0)) return;
    this.byId.delete(n.id);
    const key = `${n.parent?.id}/${n.name}`;
    if (n.attached && this.byName.get(key) === n) this.byName.delete(key);
  }
}
