// Reading a drive's past without opening a vfs (docs/design.md "History"): a TreeIo over
// an unlocked drive that reads this machine's cache before the store, the list of
// versions, which version stood at an instant, a path resolved in any version's tree,
// and the objects a tree names (what the collector marks, what du counts). Read only:
// nothing here writes the root or an object.
import { toHex } from '../format/bytes.js';
import { readFile } from 'node:fs/promises';
import { openRoot, type Root } from '../crypto/root.js';
import type { DriveKeys } from '../crypto/keys.js';
import type { DriveObject, VersionRecord } from '../format/drive-object.js';
import { ENTRY_DIR, ENTRY_FILE, type TreeEntry } from '../format/tree.js';
import { nodePlatform } from '../platform/node.js';
import { eachLimited } from '../store/limit.js';
import type { ObjectId, Store } from '../store/store.js';
import { cachedObjectPath } from '../vfs/disk-cache.js';
import { allVersions, resolveRoot } from '../vfs/drive-meta.js';
import { TreeIo } from '../vfs/tree-io.js';

/** What reading needs of an open drive (src/drive/open.ts Drive). */
export interface ReadableDrive {
  store: Store;
  keys: DriveKeys;
}

export type Fetch = (id: ObjectId) => Promise<Uint8Array>;

/** An object from the local cache when it is there, else from the store. The bytes are
 *  not trusted either way: every opener checks them against the id. */
export function cacheFirstFetch(store: Store, cacheDir: string | null): Fetch {
  return async (id) => {
    if (cacheDir) {
      const cached = await readFile(cachedObjectPath(cacheDir, id)).catch(() => null);
      if (cached) return new Uint8Array(cached.buffer, cached.byteOffset, cached.length);
    }
    return store.get(id);
  };
}

export function driveTreeIo(drive: ReadableDrive, fetch: Fetch): TreeIo {
  return new TreeIo(nodePlatform, drive.keys.tree, drive.keys.nameHash, fetch);
}

/** The drive as its root says it is now. */
export interface DriveNow {
  root: Root;
  /** The top directory of the current tree. */
  top: string;
  /** The DRIVE object (null: a root written before format v3). */
  drive: DriveObject | null;
  /** Newest first. A drive whose root is from before v3 keeps no list: its one version is
   *  the root itself (addedBytes unknown: 0). */
  versions: VersionRecord[];
}

/** The current root and its versions; null for a drive with no root yet. */
export async function readNow(drive: ReadableDrive, io: TreeIo): Promise<DriveNow | null> {
  const rec = await drive.store.getRoot();
  if (!rec) return null;
  const root = openRoot(nodePlatform, drive.keys, rec.bytes);
  const { top, drive: d } = await resolveRoot(io, root.treeId);
  if (!top) throw new Error('BUG: a root without a top directory');
  let versions = await allVersions(io, d);
  if (versions.length === 0) {
    versions = [{ rootVersion: root.version, timeMs: root.timeMs, deviceId: root.deviceId, topDir: top, addedBytes: 0 }];
  }
  return { root, top, drive: d, versions };
}

/**
 * The version that stood at `atMs`: the newest (the first in the list, which is commit
 * order) whose time, cut to the whole second, is at or before `atMs`. Cut because
 * formatInstant prints times cut to the second: the time `megafs log` shows for a version
 * names that version. Null when every version is later.
 */
export function versionAt(versions: VersionRecord[], atMs: number): VersionRecord | null {
  return versions.find((v) => Math.floor(v.timeMs / 1000) * 1000 <= atMs) ?? null;
}

/** The top directory as an entry (what `/` resolves to). */
export function topEntry(top: string): TreeEntry {
  return { name: '', type: ENTRY_DIR, mode: 0o755, uid: 0, gid: 0, size: 0, mtimeMs: 0, ctimeMs: 0, xattrs: [], dirId: top };
}

/** Directories kept loaded while resolving paths in many versions: versions share every
 *  unchanged directory object, so one load serves them all. */
const DIR_MEMO_MAX = 256;

/** Resolves paths ("/a/b", as drivePath makes them) in any version's tree. */
export class PathResolver {
  private readonly dirs = new Map<ObjectId, Map<string, TreeEntry>>();

  constructor(private readonly io: TreeIo) {}

  /** The entries of a directory object, by name. */
  async entries(dirId: ObjectId): Promise<Map<string, TreeEntry>> {
    let m = this.dirs.get(dirId);
    if (!m) {
      m = new Map((await this.io.loadDir(dirId)).map((e) => [e.name, e]));
      if (this.dirs.size >= DIR_MEMO_MAX) this.dirs.clear();
      this.dirs.set(dirId, m);
    }
    return m;
  }

  /** The entry at `path` in the tree under `top`; null when the path is absent there
   *  (a component missing, or one that is not a directory). */
  async resolve(top: ObjectId, path: string): Promise<TreeEntry | null> {
    let e = topEntry(top);
    for (const name of path.split('/').filter(Boolean)) {
      if (e.type !== ENTRY_DIR || !e.dirId) return null;
      const next = (await this.entries(e.dirId)).get(name);
      if (!next) return null;
      e = next;
    }
    return e;
  }
}

/** What makes two entries the same state of a file for `megafs versions`: type, size,
 *  mtime and what the content is (chunk ids, list ids, child directory, link target).
 *  Mode and ctime are left out: a chmod is not a new version of the bytes. */
export function entryState(e: TreeEntry): string {
  const f = e.file;
  const body = f ? JSON.stringify([f.chunks ?? null, f.lists ?? null]) : e.dirId ?? e.target ?? '';
  return `${e.type}|${e.size}|${e.mtimeMs}|${body}`;
}

export interface FileState {
  /** The version where this state first appeared. */
  version: VersionRecord;
  /** The entry then, or null: the path was absent (removed) from this version on. */
  entry: TreeEntry | null;
}

/**
 * The distinct states of `path` over `versions` (newest first in, newest first out): a
 * state starts at the oldest version where the entry is as it is (entryState), and runs
 * until the next version where it differs. Absence before the path first existed is not
 * a state; absence after it (a removal) is, with a null entry.
 */
export async function pathStates(resolver: PathResolver, versions: VersionRecord[], path: string): Promise<FileState[]> {
  const states: FileState[] = [];
  let last: string | null = null;
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i];
    const entry = await resolver.resolve(v.topDir, path);
    const key = entry ? entryState(entry) : null;
    if (key === last) continue;
    last = key;
    if (entry || states.length > 0) states.push({ version: v, entry });
  }
  return states.reverse();
}

/**
 * Marks the objects a tree names: each directory's objects (shards), each file's chunk
 * lists and chunks. `dirs` remembers the directories walked, so trees that share
 * subdirectories (versions share most) are walked once per set; a read that fails
 * throws (a collector must not go on from a partial mark).
 */
export class TreeMarker {
  /** `pause`, when given, is awaited before each directory is read (GcOptions.pause). */
  constructor(private readonly io: TreeIo, private readonly pause?: () => Promise<void>) {}

  /** `purged`: objects not to keep (emptied from the bin: gone from old versions); a
   *  walk with it must use its own `dirs`, since what it skips a full walk must not. */
  async entry(e: TreeEntry, marked: Set<ObjectId>, dirs: Set<ObjectId>, purged: ReadonlySet<ObjectId> | null = null): Promise<void> {
    if (e.type === ENTRY_DIR && e.dirId) await this.dir(e.dirId, marked, dirs, purged);
    else if (e.type === ENTRY_FILE && e.file) {
      if (purged?.has(toHex(e.file.fileId))) return; // a removed file emptied from the bin: every state of it
      for (const [, id] of e.file.chunks ?? []) if (!purged?.has(id)) marked.add(id);
      const lists = (e.file.lists ?? []).filter(([, id]) => !purged?.has(id));
      if (lists.length) {
        for (const [, id] of lists) marked.add(id);
        for (const id of (await this.io.loadChunkLists(lists)).values()) if (!purged?.has(id)) marked.add(id);
      }
    }
  }

  /** A directory and everything under it. */
  async dir(id: ObjectId, marked: Set<ObjectId>, dirs: Set<ObjectId>, purged: ReadonlySet<ObjectId> | null = null): Promise<void> {
    if (dirs.has(id)) return;
    dirs.add(id);
    await this.pause?.();
    for (const shard of await this.io.dirObjects(id)) marked.add(shard);
    const entries = await this.io.loadDir(id);
    await eachLimited(entries, 8, (e) => this.entry(e, marked, dirs, purged));
  }
}
