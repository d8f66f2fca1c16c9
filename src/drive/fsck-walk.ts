// The walk of `megafs fsck`: every object a root names, from its top directory's tree
// object down to each file's chunks, located on every store and in the cache
// (fsck-copies.ts) and opened from an intact copy (tree objects and chunk lists decoded,
// chunks authenticated with their file key and place). What is damaged is reported by the
// path of the file or directory it belongs to; below a directory whose tree object no copy
// holds intact, nothing is known. Verdicts are kept per object id, so walking an earlier
// root (the fallback search) reads only what it does not share with the roots walked.
import { toHex } from '../format/bytes.js';
import { openChunkAsync, chunkKeyFor } from '../crypto/chunk.js';
import type { DriveKeys } from '../crypto/keys.js';
import { AAD_TREE } from '../crypto/labels.js';
import { openObject } from '../crypto/object.js';
import { lastChunkIndex } from '../chunking/offsets.js';
import {
  decodeTree, ENTRY_DIR, ENTRY_FILE, TREE_CHUNK_LIST, TREE_DIR_INDEX, TREE_DIR_LEAF, type ChunkRef, type DecodedTree, type TreeEntry,
} from '../format/tree.js';
import {
  decodeDriveLevel, DRIVE_OBJECT_VERSION, TREE_DRIVE, TREE_PURGED, TREE_SHARES, TREE_TRASH, TREE_VERSIONS, type DriveLevelTree,
} from '../format/drive-object.js';
import { nodePlatform } from '../platform/node.js';
import { eachLimited } from '../store/limit.js';
import type { ObjectId } from '../store/store.js';
import { isDamaged, type Copies, type ObjectCopies } from './fsck-copies.js';

export type ObjectKind = 'tree' | 'chunk-list' | 'chunk';

export interface Damage {
  /** The file or directory the object belongs to. */
  path: string;
  what: 'directory' | 'file';
  id: ObjectId;
  kind: ObjectKind;
  /** Chunks only: the chunk's index in its file (a chunk is 1 MiB of plaintext). */
  chunkIndex?: number;
  copies: Copies;
  /** An intact copy is somewhere (a store or the cache) and opens: --repair puts it back. */
  recoverable: boolean;
  /** Why no copy helps, when the intact bytes do not open (decode or authenticate). */
  error?: string;
}

export interface WalkResult {
  directories: number;
  files: number;
  objects: number;
  damage: Damage[];
}

interface Verdict {
  copies: Copies;
  /** Decoded tree payload (tree objects and chunk lists), null when no copy opens. */
  tree: DecodedTree | null;
  /** Decoded drive-level object (format v3), when it is one. */
  level?: DriveLevelTree;
  /** An intact copy opened (for chunks: authenticated at its place). */
  opens: boolean;
  error?: string;
  /** The intact bytes, kept only while damaged (the repair source). */
  bytes: Uint8Array | null;
}

const EMPTY = new Uint8Array(0);
/** Chunks located and opened at once, across all files (each is read from every store
 *  and the cache: up to 1 MiB a copy). */
const CHUNK_PARALLEL = 8;

const childPath = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

export class TreeWalker {
  private readonly verdicts = new Map<ObjectId, Promise<Verdict>>();
  /** Chunk checks running, and those waiting for a turn (CHUNK_PARALLEL at once). */
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly copies: ObjectCopies, private readonly keys: DriveKeys) {}

  private verdict(id: ObjectId, open: (bytes: Uint8Array) => Promise<DecodedTree | DriveLevelTree | null>): Promise<Verdict> {
    let v = this.verdicts.get(id);
    if (!v) {
      v = (async () => {
        const { copies, bytes } = await this.copies.locate(id);
        if (!bytes) return { copies, tree: null, opens: false, bytes: null };
        try {
          const t = await open(bytes);
          const level = bytes[0] === DRIVE_OBJECT_VERSION ? t as DriveLevelTree : undefined;
          const tree = level ? null : t as DecodedTree | null;
          return { copies, tree, ...(level ? { level } : {}), opens: true, bytes: isDamaged(copies) ? bytes : null };
        } catch (e) {
          return { copies, tree: null, opens: false, error: (e as Error).message, bytes: null };
        }
      })();
      this.verdicts.set(id, v);
    }
    return v;
  }

  private treeVerdict(id: ObjectId): Promise<Verdict> {
    return this.verdict(id, async (bytes) => {
      const payload = openObject(nodePlatform, this.keys.tree, AAD_TREE, EMPTY, bytes);
      return bytes[0] === DRIVE_OBJECT_VERSION ? decodeDriveLevel(payload, bytes[0]) : decodeTree(payload, bytes[0]);
    });
  }

  /** The top directory a root's tree id stands for (itself before format v3), or null
   *  when its DRIVE object has no copy that opens. */
  async topDirOf(rootTreeId: ObjectId): Promise<ObjectId | null> {
    const v = await this.treeVerdict(rootTreeId);
    if (v.level) return v.level.kind === TREE_DRIVE ? v.level.drive.topDir : null;
    return v.opens ? rootTreeId : null;
  }

  /** The intact bytes of a damaged object this walk found (the repair source), or null. */
  async sourceOf(id: ObjectId): Promise<Uint8Array | null> {
    return (await this.verdicts.get(id))?.bytes ?? null;
  }

  /** Every entry of the directory whose tree object is `id`, or null when a part of it
   *  has no copy that opens. */
  async entriesOf(id: ObjectId): Promise<TreeEntry[] | null> {
    const v = await this.treeVerdict(id);
    if (!v.tree) return null;
    if (v.tree.kind === TREE_DIR_LEAF) return v.tree.entries;
    if (v.tree.kind !== TREE_DIR_INDEX) return null;
    const parts = await Promise.all(v.tree.buckets.map(([, child]) => this.entriesOf(child)));
    return parts.some((p) => p === null) ? null : parts.flat() as TreeEntry[];
  }

  /** Walk everything the root whose tree id is `treeId` names: its top directory, and on
   *  a format v3 drive the DRIVE object, the pages of its versions (each version's tree,
   *  shared subtrees walked once) and of its bin (each entry, under "(bin)"), and its shares. */
  async walk(treeId: ObjectId): Promise<WalkResult> {
    const r: WalkResult = { directories: 0, files: 0, objects: 0, damage: [] };
    this.walked = new Set();
    this.purged = new Set();
    this.reported = new Set();
    const v = await this.treeVerdict(treeId);
    if (!v.level) {
      await this.dir('/', treeId, r);
      return r;
    }
    this.note(r, v, { path: '/', what: 'directory', id: treeId, kind: 'tree' });
    if (v.level.kind !== TREE_DRIVE) {
      r.damage.push({ path: '/', what: 'directory', id: treeId, kind: 'tree', copies: v.copies, recoverable: false, error: 'the root names no DRIVE object' });
      return r;
    }
    const d = v.level.drive;
    await this.dir('/', d.topDir, r);
    // "Checked N files" counts the drive as it is; the objects count everything walked.
    const live = { directories: r.directories, files: r.files };
    // Emptied from the bin: gone from the old versions on purpose (not damage there).
    for (let id = d.purged ?? null; id; ) {
      const p = await this.treeVerdict(id);
      this.note(r, p, { path: '(purged)', what: 'directory', id, kind: 'tree' });
      if (p.level?.kind !== TREE_PURGED) break;
      for (const x of p.level.records) this.purged.add(x.id);
      id = p.level.older;
    }
    for (let id = d.versions; id; ) {
      const p = await this.treeVerdict(id);
      this.note(r, p, { path: '(versions)', what: 'directory', id, kind: 'tree' });
      if (p.level?.kind !== TREE_VERSIONS) break;
      for (const rec of p.level.records) await this.dir(`(version ${rec.rootVersion})`, rec.topDir, r);
      id = p.level.older;
    }
    for (let id = d.trash; id; ) {
      const p = await this.treeVerdict(id);
      this.note(r, p, { path: '(bin)', what: 'directory', id, kind: 'tree' });
      if (p.level?.kind !== TREE_TRASH) break;
      for (const rec of p.level.records) {
        const path = `(bin)${rec.dir === '/' ? '' : rec.dir}/${rec.entry.name}`;
        if (rec.entry.type === ENTRY_FILE && rec.entry.file) await this.file(path, rec.entry, r);
        else if (rec.entry.type === ENTRY_DIR && rec.entry.dirId) await this.dir(path, rec.entry.dirId, r);
      }
      id = p.level.older;
    }
    if (d.shares) {
      const p = await this.treeVerdict(d.shares);
      this.note(r, p, { path: '(shares)', what: 'directory', id: d.shares, kind: 'tree' });
      if (p.level?.kind === TREE_SHARES) for (const s of p.level.records) await this.dir(`(share ${s.path})`, s.snapshot, r);
    }
    r.directories = live.directories;
    r.files = live.files;
    return r;
  }

  /** Directory objects walked by this walk (versions share most of their trees). */
  private walked = new Set<ObjectId>();
  /** Objects purged from the old versions (walked after the live tree, the bin excepted). */
  private purged = new Set<ObjectId>();
  /** Damaged objects this walk reported. */
  private reported = new Set<ObjectId>();

  private note(r: WalkResult, v: Verdict, d: Omit<Damage, 'copies' | 'recoverable'>): void {
    r.objects++;
    if (v.opens && !isDamaged(v.copies)) return;
    // One object, one report: under the first path that names it (the live tree is walked
    // before old versions and the bin, so a chunk they share is reported where it lives).
    if (this.reported.has(d.id)) return;
    this.reported.add(d.id);
    r.damage.push({ ...d, copies: v.copies, recoverable: v.opens, ...(v.error ? { error: v.error } : {}) });
  }

  /** Run `fn` when fewer than CHUNK_PARALLEL chunk checks are running. */
  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= CHUNK_PARALLEL) await new Promise<void>((go) => this.waiting.push(go));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Subdirectories one after another; up to CHUNK_PARALLEL files of a directory at once
   *  (their chunks share the CHUNK_PARALLEL slots), so many small files do not go one by
   *  one, and at most CHUNK_PARALLEL^2 checks wait for a slot. */
  private async dir(path: string, treeId: ObjectId, r: WalkResult): Promise<void> {
    if (this.walked.has(treeId)) return;
    this.walked.add(treeId);
    r.directories++;
    const entries = await this.shard(path, treeId, r);
    await eachLimited(entries.filter((e) => e.type === ENTRY_FILE && e.file), CHUNK_PARALLEL, (e) => this.file(childPath(path, e.name), e, r));
    for (const e of entries) if (e.type === ENTRY_DIR && e.dirId) await this.dir(childPath(path, e.name), e.dirId, r);
  }

  /** The entries of one tree object of a directory (a leaf, or an index of shards);
   *  what cannot be opened is damage, and lists nothing. */
  private async shard(path: string, id: ObjectId, r: WalkResult): Promise<TreeEntry[]> {
    const v = await this.treeVerdict(id);
    this.note(r, v, { path, what: 'directory', id, kind: 'tree' });
    if (!v.tree) return [];
    if (v.tree.kind === TREE_DIR_LEAF) return v.tree.entries;
    if (v.tree.kind !== TREE_DIR_INDEX) {
      r.damage.push({ path, what: 'directory', id, kind: 'tree', copies: v.copies, recoverable: false, error: 'not a directory object' });
      return [];
    }
    const out: TreeEntry[] = [];
    for (const [, child] of v.tree.buckets) out.push(...await this.shard(path, child, r));
    return out;
  }

  private async file(path: string, e: TreeEntry, r: WalkResult): Promise<void> {
    r.files++;
    const f = e.file!;
    const old = path.startsWith('(version ');
    if (old && this.purged.has(toHex(f.fileId))) return; // a removed file emptied from the bin
    const purged = (id: ObjectId): boolean => old && this.purged.has(id);
    let refs: ChunkRef[] = (f.chunks ?? []).filter(([, id]) => !purged(id));
    if (f.lists) {
      refs = [];
      for (const [, id] of f.lists) {
        if (purged(id)) continue;
        const v = await this.treeVerdict(id);
        this.note(r, v, { path, what: 'file', id, kind: 'chunk-list' });
        if (v.tree?.kind === TREE_CHUNK_LIST) refs.push(...v.tree.refs.filter(([, c]) => !purged(c)));
        else if (v.tree) r.damage.push({ path, what: 'file', id, kind: 'chunk-list', copies: v.copies, recoverable: false, error: 'not a chunk list object' });
      }
    }
    const chunkKey = chunkKeyFor(f.fileKey);
    const last = lastChunkIndex(e.size);
    await eachLimited(refs, CHUNK_PARALLEL, async ([chunkIndex, id]) => {
      const v = await this.limited(() => this.verdict(id, async (bytes) => {
        await openChunkAsync(nodePlatform, chunkKey, { fileId: f.fileId, chunkIndex, isLast: chunkIndex === last }, bytes);
        return null;
      }));
      this.note(r, v, { path, what: 'file', id, kind: 'chunk', chunkIndex });
    });
  }
}
