// megafs du: where a drive's stored bytes go (docs/design.md "History"). Every object a
// store lists (Store.scan, with its size) falls in exactly one place, the first of:
//   live      the current tree, and the drive's own objects (DRIVE object, version and
//             bin pages, shares list);
//   bin       bin entries;
//   versions  the trees of older versions, and the bases of open sessions (leases);
//   shares    share snapshots;
//   garbage   nothing above (what megafs gc frees once past its grace: uploads a
//             root does not name yet count here too).
// so the five add up to the store's total. Each place also says what it alone names
// (`only`): what forgetting it, with nothing else, would let the collector free.
import type { DriveObject } from '../format/drive-object.js';
import type { ObjectId, Store, StoreUsage } from '../store/store.js';
import { allShares, allTrash, trashPage, versionsPage } from '../vfs/drive-meta.js';
import { readNow, TreeMarker, type ReadableDrive } from './history.js';
import type { TreeIo } from '../vfs/tree-io.js';

export const PLACES = ['live', 'bin', 'versions', 'shares'] as const;
export type Place = (typeof PLACES)[number];

export interface Tally { objects: number; bytes: number }
export interface PlaceUsage extends Tally {
  /** Objects this place names and no other does. */
  only: Tally;
}

export interface StoreDu {
  name: string;
  total: Tally;
  live: PlaceUsage;
  bin: PlaceUsage;
  versions: PlaceUsage;
  shares: PlaceUsage;
  garbage: Tally;
  /** Objects the drive names that this store does not hold (fsck's business). */
  missing: number;
  /** What the store itself reports (`megafs serve`: the account's usage and quota), or
   *  null when it could not say. */
  reported: StoreUsage | null;
}

export interface DuReport {
  rootVersion: number | null;
  stores: StoreDu[];
}

export interface DuDrive extends ReadableDrive {
  /** Each configured store (a replicated drive's stores hold their own copies). */
  stores: Store[];
}

/** Bit per place, in PLACES order (the lowest bit set is where an object is counted). */
type Named = Map<ObjectId, number>;

async function pageIds(first: string | null, load: (id: string) => Promise<{ older: string | null }>, into: Set<ObjectId>): Promise<void> {
  for (let id = first; id; id = (await load(id)).older) into.add(id);
}

/** The objects each place names. */
async function named(io: TreeIo, treeId: string, top: string, d: DriveObject | null, oldTops: string[]): Promise<Named> {
  const marker = new TreeMarker(io);
  const sets: Record<Place, Set<ObjectId>> = { live: new Set([treeId]), bin: new Set(), versions: new Set(), shares: new Set() };
  await pageIds(d?.versions ?? null, (id) => versionsPage(io, id), sets.live);
  await pageIds(d?.trash ?? null, (id) => trashPage(io, id), sets.live);
  if (d?.shares) sets.live.add(d.shares);
  await marker.dir(top, sets.live, new Set());
  const binDirs = new Set<ObjectId>();
  for (const r of await allTrash(io, d)) await marker.entry(r.entry, sets.bin, binDirs);
  const versionDirs = new Set<ObjectId>();
  for (const t of oldTops) await marker.dir(t, sets.versions, versionDirs);
  const shareDirs = new Set<ObjectId>();
  for (const s of await allShares(io, d)) await marker.dir(s.snapshot, sets.shares, shareDirs);
  const out: Named = new Map();
  PLACES.forEach((place, bit) => {
    for (const id of sets[place]) out.set(id, (out.get(id) ?? 0) | (1 << bit));
  });
  return out;
}

const tally = (): Tally => ({ objects: 0, bytes: 0 });
const add = (t: Tally, size: number): void => { t.objects++; t.bytes += size; };

/** How each configured store's bytes divide among the places. */
export async function diskUsage(drive: DuDrive, io: TreeIo): Promise<DuReport> {
  const now = await readNow(drive, io);
  if (!now) return { rootVersion: null, stores: [] };
  const oldTops = new Set<string>(now.versions.map((v) => v.topDir));
  for (const s of now.drive?.sessions ?? []) if (s.baseTop) oldTops.add(s.baseTop);
  oldTops.delete(now.top);
  const marks = await named(io, now.root.treeId, now.top, now.drive, [...oldTops]);
  const stores: StoreDu[] = [];
  for (const store of drive.stores) {
    const r: StoreDu = {
      name: store.name, total: tally(),
      live: { ...tally(), only: tally() }, bin: { ...tally(), only: tally() }, versions: { ...tally(), only: tally() }, shares: { ...tally(), only: tally() },
      garbage: tally(), missing: 0, reported: await store.usage().catch(() => null),
    };
    let held = 0;
    for await (const o of store.scan()) {
      add(r.total, o.size);
      const bits = marks.get(o.id) ?? 0;
      if (bits === 0) { add(r.garbage, o.size); continue; }
      held++;
      const first = PLACES[Math.log2(bits & -bits)];
      add(r[first], o.size);
      if ((bits & (bits - 1)) === 0) add(r[first].only, o.size);
    }
    r.missing = marks.size - held;
    stores.push(r);
  }
  return { rootVersion: Number(now.root.version), stores };
}
