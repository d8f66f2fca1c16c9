// megafs fsck, without the command line: check every object the current root names on
// every store and in the cache; with `repair`, put back every damaged object some copy
// still holds intact; with `rollback` as well, when the current root still names something
// no copy holds, write the newest earlier root whose objects are all present as the next
// root. The report says what is damaged (path, object id, the state on each store), what
// was mended, and what a fallback changes. Rules: docs/design.md "When objects are missing".
import { openRoot, peekRootVersion, rootHash, type Root } from '../crypto/root.js';
import { nodePlatform } from '../platform/node.js';
import { isDamaged, ObjectCopies, type CopyState, type StoreListing } from './fsck-copies.js';
import { chooseFallback, diffTrees, earlierRoots, rootInfo, writeFallback, type Change, type RootInfo } from './fsck-rollback.js';
import { TreeWalker, type Damage, type ObjectKind } from './fsck-walk.js';
import type { Drive } from './open.js';

export interface FsckOptions {
  repair: boolean;
  rollback: boolean;
  /** This machine's disk cache of the drive (ciphertext objects by id). */
  cacheDir: string;
  /** Names this machine in a fallback root it writes. */
  deviceIdHex: string;
}

/** One damaged object, as reported (stable fields: the --json output). */
export interface DamageReport {
  path: string;
  what: 'directory' | 'file';
  id: string;
  kind: ObjectKind;
  chunkIndex?: number;
  stores: { name: string; state: CopyState }[];
  cache: Exclude<CopyState, 'unavailable'>;
  /** Some copy is intact: --repair can put it back. */
  recoverable: boolean;
  /** Every store that answered holds an intact copy now. */
  repaired: boolean;
  error?: string;
}

export interface FallbackReport {
  /** The earlier root whose tree comes back. */
  root: RootInfo;
  /** What it changes against the current tree, path by path. */
  changes: Change[];
  /** The root written (version current + 1), or null when not written. */
  written: RootInfo | null;
  /** Why it was not written although asked (--rollback). */
  refused?: string;
}

export interface FsckReport {
  /** Nothing damaged (any more): every object the current root names is intact on every
   *  store that answered. */
  clean: boolean;
  /** A store did not answer: its copies were not checked. */
  incomplete: boolean;
  /** The root checked (before any fallback), null when the drive has none. */
  root: RootInfo | null;
  /** Set when the current root itself does not open. */
  rootError?: string;
  stores: StoreListing[];
  checked: { directories: number; files: number; objects: number };
  damaged: DamageReport[];
  repair: { copied: number; failed: number; cacheCleared: number } | null;
  /** Damaged objects no copy holds intact (after any repair). */
  unrecoverable: number;
  /** The newest earlier root with all its objects present, when the current one needs it. */
  fallback: FallbackReport | null;
}

export async function fsck(drive: Drive, o: FsckOptions): Promise<FsckReport> {
  const copies = await ObjectCopies.open(drive.stores, o.cacheDir);
  const stores = copies.listings();
  const report: FsckReport = {
    clean: true, incomplete: stores.some((s) => s.objects === null), root: null, stores,
    checked: { directories: 0, files: 0, objects: 0 }, damaged: [], repair: null, unrecoverable: 0, fallback: null,
  };
  const rec = await drive.store.getRoot();
  if (!rec) return report;
  const walker = new TreeWalker(copies, drive.keys);
  const current = { version: peekRootVersion(rec.bytes) ?? 0n, hash: rootHash(nodePlatform, rec.bytes), etag: rec.etag };
  let root: Root | null = null;
  let damage: Damage[] = [];
  try {
    root = openRoot(nodePlatform, drive.keys, rec.bytes);
    report.root = rootInfo(root);
  } catch (e) {
    report.rootError = (e as Error).message;
  }
  if (root) {
    const walk = await walker.walk(root.treeId);
    report.checked = { directories: walk.directories, files: walk.files, objects: walk.objects };
    damage = walk.damage;
  }
  if (o.repair) report.repair = await repairAll(walker, damage);
  damage.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : (a.chunkIndex ?? -1) - (b.chunkIndex ?? -1)));
  report.damaged = damage.map((d) => describe(d, stores));
  report.unrecoverable = new Set(damage.filter((d) => !d.recoverable).map((d) => d.id)).size;
  const needsFallback = report.unrecoverable > 0 || report.rootError !== undefined;
  if (needsFallback) {
    // A root that does not open has no trusted version: the next one goes above both its
    // clear-text version and the highest seen here, and any kept root below that may serve.
    const seen = root ? null : await drive.seen.latest();
    const base = { ...current, version: seen && seen.version > current.version ? seen.version : current.version };
    const found = await chooseFallback(walker, await earlierRoots(drive, root ? root.version : base.version + 1n));
    if (found) {
      const nowTop = root ? await walker.topDirOf(root.treeId) : null;
      const thenTop = await walker.topDirOf(found.c.root.treeId);
      const changes: Change[] = nowTop && thenTop ? await diffTrees(walker, nowTop, thenTop) : [{ path: '/', change: 'unreadable', type: 'directory' }];
      report.fallback = { root: rootInfo(found.c.root), changes, written: null };
      if (o.rollback) {
        const mended = await repairAll(walker, found.walk.damage);
        if (mended.failed > 0 || found.walk.damage.some((d) => isDamaged(d.copies))) {
          report.fallback.refused = `the objects of root version ${found.c.root.version} could not all be put back on every store; nothing was written`;
        } else report.fallback.written = rootInfo(await writeFallback(drive, o.deviceIdHex, base, found.c.root));
      }
    }
  }
  const mended = damage.every((d) => !isDamaged(d.copies) && d.recoverable) && !report.rootError;
  report.clean = mended || report.fallback?.written != null;
  return report;
}

/** Put back every damaged object of `damage` that the walk found an intact copy of. */
async function repairAll(walker: TreeWalker, damage: Damage[]): Promise<{ copied: number; failed: number; cacheCleared: number }> {
  const out = { copied: 0, failed: 0, cacheCleared: 0 };
  for (const d of damage) {
    if (!d.recoverable || !isDamaged(d.copies)) continue;
    const bytes = await walker.sourceOf(d.id);
    if (!bytes) throw new Error(`BUG: no intact copy kept of the recoverable object ${d.id}`);
    const r = await walker.copies.repair(d.copies, bytes);
    out.copied += r.copiedTo.length;
    out.failed += r.failed.length;
    if (r.cacheCleared) out.cacheCleared++;
  }
  return out;
}

function describe(d: Damage, stores: StoreListing[]): DamageReport {
  return {
    path: d.path, what: d.what, id: d.id, kind: d.kind, ...(d.chunkIndex !== undefined ? { chunkIndex: d.chunkIndex } : {}),
    stores: d.copies.stores.map((state, i) => ({ name: stores[i].name, state })), cache: d.copies.cache,
    recoverable: d.recoverable, repaired: d.recoverable && !isDamaged(d.copies), ...(d.error ? { error: d.error } : {}),
  };
}
