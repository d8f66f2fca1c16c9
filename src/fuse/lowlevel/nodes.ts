// The inode layer between the kernel's node ids and the path-based Vfs: one node per Vfs
// inode the kernel has looked up, with its lookup count (FORGET drops it) and the names
// it is known by (several for a hard link, so both names share one kernel inode and one
// page cache). Node ids are never reused (generation stays 0). A node with no name left
// (unlinked, renamed over) reaches the Vfs only through its open handles.

export const ROOT_ID = 1;

interface Link { dir: FsNode; name: string }

export interface FsNode {
  readonly id: number;
  /** The Vfs inode number (Attr.ino). */
  readonly ino: number;
  links: Link[];
  /** Lookups the kernel holds (entry replies it accepted minus FORGETs). */
  nlookup: number;
  /** Vfs handles open on this node: a node without a name answers through one. */
  fhs: Set<number> | null;
}

export class NodeTable {
  private nextId = ROOT_ID + 1;
  private readonly byId = new Map<number, FsNode>();
  private readonly byIno = new Map<number, FsNode>();
  private readonly byName = new Map<string, FsNode>();
  readonly root: FsNode = { id: ROOT_ID, ino: -1, links: [], nlookup: 1, fhs: null };

  constructor() {
    this.byId.set(ROOT_ID, this.root);
  }

  get size(): number { return this.byId.size; }

  get(id: number): FsNode | undefined { return this.byId.get(id); }

  /** A Vfs path of the node ('/' for the root); null when it has no name left. */
  path(n: FsNode): string | null {
    if (n === this.root) return '/';
    for (const l of n.links) {
      const dir = this.path(l.dir);
      if (dir !== null) return dir === '/' ? `/${l.name}` : `${dir}/${l.name}`;
    }
    return null;
  }

  /** `name` under `dir` as a path (the child need not exist). */
  childPath(dir: FsNode, name: string): string | null {
    const p = this.path(dir);
    return p === null ? null : p === '/' ? `/${name}` : `${p}/${name}`;
  }

  /** The node of Vfs inode `ino`, known as `name` under `dir` (made on first sight). The
   *  caller adds the lookup. */
  child(dir: FsNode, name: string, ino: number): FsNode {
    const key = `${dir.id}/${name}`;
    const known = this.byName.get(key);
    if (known && known.ino === ino) return known;
    if (known) this.detach(dir, name);
    let n = this.byIno.get(ino);
    if (!n) {
      n = { id: this.nextId++, ino, links: [], nlookup: 0, fhs: null };
      this.byId.set(n.id, n);
      this.byIno.set(ino, n);
    }
    n.links.push({ dir, name });
    this.byName.set(key, n);
    return n;
  }

  /** `name` under `dir` is gone from the tree (unlink, rmdir, renamed over). */
  detach(dir: FsNode, name: string): void {
    const key = `${dir.id}/${name}`;
    const n = this.byName.get(key);
    if (!n) return;
    this.byName.delete(key);
    n.links = n.links.filter((l) => l.dir !== dir || l.name !== name);
  }

  /** A rename: the node named (dir, name), if known, is now (toDir, toName). */
  move(dir: FsNode, name: string, toDir: FsNode, toName: string): void {
    const key = `${dir.id}/${name}`;
    const n = this.byName.get(key);
    if (n && dir === toDir && name === toName) return;
    this.detach(toDir, toName);
    if (!n) return;
    this.byName.delete(key);
    const l = n.links.find((x) => x.dir === dir && x.name === name)!;
    l.dir = toDir;
    l.name = toName;
    this.byName.set(`${toDir.id}/${toName}`, n);
  }

  /** RENAME_EXCHANGE: the two names swap nodes. */
  exchange(dir: FsNode, name: string, toDir: FsNode, toName: string): void {
    const a = this.byName.get(`${dir.id}/${name}`);
    const b = this.byName.get(`${toDir.id}/${toName}`);
    this.detach(dir, name);
    this.detach(toDir, toName);
    if (a) { a.links.push({ dir: toDir, name: toName }); this.byName.set(`${toDir.id}/${toName}`, a); }
    if (b) { b.links.push({ dir, name }); this.byName.set(`${dir.id}/${name}`, b); }
  }

  /** FORGET: the kernel dropped `count` lookups of node `id`. */
  forget(id: number, count: number): void {
    const n = this.byId.get(id);
    if (!n || n === this.root) return;
    n.nlookup = Math.max(0, n.nlookup - count);
    this.dropIfUnused(n);
  }

  /** Drop a node the kernel no longer holds and no handle uses; the next lookup of one
   *  of its names makes a new node. */
  dropIfUnused(n: FsNode): void {
    if (n.nlookup > 0 || n === this.root || (n.fhs && n.fhs.size > 0)) return;
    this.byId.delete(n.id);
    if (this.byIno.get(n.ino) === n) this.byIno.delete(n.ino);
    for (const l of n.links) {
      const key = `${l.dir.id}/${l.name}`;
      if (this.byName.get(key) === n) this.byName.delete(key);
    }
    n.links = [];
  }
}
