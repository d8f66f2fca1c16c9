// `megafs fsck --repair --rollback`: when the current root names something no store and
// no cache holds, fall back to the newest earlier root whose objects are all present.
// Earlier roots come from every store that keeps them (a directory store's roots/) and
// from what this machine saw (seen/, the last 64); each is authenticated before use, so a
// store cannot offer a root of its own. The fallback is written as a normal commit:
// version current + 1 on top of the current root (prevRootHash = its hash), with the old
// tree, so no machine's rollback check refuses it. What it changes is said first, path
// by path, against the current tree (docs/design.md "When objects are missing").
import { StoreError } from '../errors.js';
import { openRoot, rootHash, sealRoot, ZERO_HASH, type Root } from '../crypto/root.js';
import { toHex } from '../format/bytes.js';
import { encodeDirLeaf, ENTRY_DIR, type TreeEntry } from '../format/tree.js';
import { nodePlatform } from '../platform/node.js';
import type { RootRecord } from '../store/store.js';
import type { Drive } from './open.js';
import type { TreeWalker, WalkResult } from './fsck-walk.js';

export interface RootInfo {
  /** Decimal (a u64). */
  version: string;
  timeMs: number;
  /** ISO 8601, UTC. */
  time: string;
  /** The first 8 hex digits of the device id that wrote it. */
  device: string;
  treeId: string;
}

export interface Candidate {
  root: Root;
  hash: string;
  bytes: Uint8Array;
}

/** What falling back does to a path, compared with the current tree. */
export type ChangeKind =
  | 'removed'    // in the current tree, not in the fallback: gone after the fallback
  | 'restored'   // not in the current tree, in the fallback: comes back
  | 'reverted'   // in both, different: the fallback's version replaces the current one
  | 'unreadable'; // a directory the current tree cannot list (damaged): the fallback's version replaces it

export interface Change {
  path: string;
  change: ChangeKind;
  /** 'directory' or 'file' (symlinks and others: 'other'), as in the current tree when there. */
  type: 'directory' | 'file' | 'other';
}

export function rootInfo(root: Root): RootInfo {
  return {
    version: root.version.toString(), timeMs: root.timeMs, time: new Date(root.timeMs).toISOString(),
    device: root.deviceId.slice(0, 8), treeId: root.treeId,
  };
}

/** Every earlier root kept by a store or this machine, authenticated, older than
 *  `below`, one per version (a store's and this machine's copy of one root are one), newest first. */
export async function earlierRoots(drive: Drive, below: bigint): Promise<Candidate[]> {
  const records: RootRecord[] = [];
  for (const s of drive.stores) records.push(...await (s.rootHistory?.() ?? Promise.resolve([])).catch(() => []));
  for (const r of await drive.seen.all()) records.push({ bytes: r.bytes, etag: r.etag });
  const byVersion = new Map<bigint, Candidate>();
  for (const rec of records) {
    let root: Root;
    try {
      root = openRoot(nodePlatform, drive.keys, rec.bytes);
    } catch {
      continue; // not this drive's, or damaged: never a fallback
    }
    if (root.version >= below || byVersion.has(root.version)) continue;
    byVersion.set(root.version, { root, hash: rootHash(nodePlatform, rec.bytes), bytes: rec.bytes });
  }
  return [...byVersion.values()].sort((a, b) => (a.root.version > b.root.version ? -1 : 1));
}

/** The newest candidate whose tree has no damage that copying cannot mend, with its walk. */
export async function chooseFallback(walker: TreeWalker, candidates: Candidate[]): Promise<{ c: Candidate; walk: WalkResult } | null> {
  for (const c of candidates) {
    const walk = await walker.walk(c.root.treeId);
    if (walk.damage.every((d) => d.recoverable)) return { c, walk };
  }
  return null;
}

const fingerprint = (e: TreeEntry): string => toHex(nodePlatform.sha256(encodeDirLeaf([e])));
const typeOf = (e: TreeEntry): Change['type'] => (e.type === ENTRY_DIR ? 'directory' : e.type === 1 ? 'file' : 'other');
const childPath = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** What replacing the tree `current` by `fallback` changes, path by path (a directory
 *  removed or restored as a whole is one line). */
export async function diffTrees(walker: TreeWalker, current: string, fallback: string, path = '/'): Promise<Change[]> {
  if (current === fallback) return [];
  const now = await walker.entriesOf(current);
  if (!now) return [{ path, change: 'unreadable', type: 'directory' }];
  const then = await walker.entriesOf(fallback);
  if (!then) throw new Error(`BUG: the fallback root's directory ${path} does not open`);
  const before = new Map(then.map((e) => [e.name, e]));
  const out: Change[] = [];
  for (const e of now) {
    const p = childPath(path, e.name);
    const old = before.get(e.name);
    before.delete(e.name);
    if (!old) out.push({ path: p, change: 'removed', type: typeOf(e) });
    else if (e.type === ENTRY_DIR && old.type === ENTRY_DIR) {
      const inner = await diffTrees(walker, e.dirId!, old.dirId!, p);
      // Its own mode, owner or times (its mtime differs anyway when something inside does).
      if (inner.length === 0 && fingerprint({ ...e, dirId: old.dirId }) !== fingerprint(old)) out.push({ path: p, change: 'reverted', type: 'directory' });
      out.push(...inner);
    } else if (fingerprint(e) !== fingerprint(old)) out.push({ path: p, change: 'reverted', type: typeOf(e) });
  }
  for (const e of before.values()) out.push({ path: childPath(path, e.name), change: 'restored', type: typeOf(e) });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Write the fallback as the next root on top of `current` (compare-and-swap on its etag). */
export async function writeFallback(
  drive: Drive, deviceIdHex: string, current: { version: bigint; hash: string | null; etag: string | null }, fallback: Root,
): Promise<Root> {
  const root: Root = {
    version: current.version + 1n, treeId: fallback.treeId, prevRootHash: current.hash ?? ZERO_HASH, timeMs: Date.now(), deviceId: deviceIdHex,
  };
  const res = await drive.store.casRoot(current.etag, sealRoot(nodePlatform, drive.keys, root));
  if (!res.ok) {
    throw new StoreError('E_CONFLICT', 'the root moved while fsck ran (another machine committed); nothing was written: run fsck again');
  }
  return root;
}
