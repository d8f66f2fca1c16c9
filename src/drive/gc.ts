// The collector (megafs gc; docs/design.md "What the collector may delete"): objects that
// nothing the drive keeps still names are deleted from every store. In four steps:
//   1. lock: one compare-and-swap on the root takes the collector lock, moves the round
//      (gcRound), and applies the retention policy: versions it no longer keeps, bin
//      entries past their time (purged: gone from old versions too) and session leases
//      not renewed for a week go;
//   2. list every store (each object with its size and the time the store took it);
//   3. mark from the root read after the listing: the DRIVE object and its pages; in full
//      the top directory, the base of every session holding a lease, every share's
//      snapshot and every bin entry; then the top directory of every kept version without
//      what was purged; a mark that cannot read an object stops the collector before
//      anything is deleted;
//   4. delete, on each store, what is listed, unmarked, and older than the grace: taken
//      before the lock (minus the clock allowance) and before the oldest pending upload of
//      any session holding a lease; then the lock is released.
import { randomBytes } from 'node:crypto';
import { openRoot, rootHash, sealRoot } from '../crypto/root.js';
import type { SealedObject } from '../crypto/object.js';
import { MegafsError } from '../errors.js';
import { TREE_DRIVE, type DriveObject, type SessionRecord, type TrashRecord, type VersionRecord } from '../format/drive-object.js';
import { toHex } from '../format/bytes.js';
import { nodePlatform } from '../platform/node.js';
import { eachLimited } from '../store/limit.js';
import type { ObjectId, Store } from '../store/store.js';
import {
  allPurged, allShares, allTrash, allVersions, encodePurgedPage, encodeTrashPage, encodeVersionsPage, freshDrive, purgedIds, purgedPage, trashPage,
  versionsPage, writePages,
} from '../vfs/drive-meta.js';
import { sealDrive } from '../vfs/meta-ops.js';
import { keptSnapshots } from '../vfs/retention.js';
import type { TreeIo } from '../vfs/tree-io.js';
import { cacheFirstFetch, driveTreeIo, TreeMarker } from './history.js';
import type { DriveKeys } from '../crypto/keys.js';

/** How long the collector's lock holds: a collector past it stops before deleting. */
export const GC_LOCK_MS = 15 * 60_000;
/** Clocks of devices and stores may disagree by this much (the grace's allowance). */
export const GC_CLOCK_SKEW_MS = 60 * 60_000;
/** A session lease not renewed for this long has lapsed (a device that crashed). */
export const GC_LEASE_MS = 7 * 24 * 3600_000;
const DELETE_PARALLEL = 8;

export interface GcOptions {
  /** Say what would go; take no lock, change nothing. */
  dryRun: boolean;
  deviceIdHex: string;
  /** The local cache (read first when marking), or null. */
  cacheDir: string | null;
  /** The clock allowance of the grace (default GC_CLOCK_SKEW_MS); 0 when every writer
   *  shares this machine's clock (one machine, a local store). */
  clockAllowanceMs?: number;
  /** Forget versions older than this (ms before now), whatever the policy keeps. */
  forgetOlderThanMs?: number;
  now?: () => number;
  /** Awaited before the mark reads each directory: a mount's daemon yields its event loop
   *  there (FUSE callbacks run between directories) and stops a collection it is closing
   *  by throwing (before anything is deleted). */
  pause?: () => Promise<void>;
  /** Tests: called between the steps, to interleave another writer. */
  hooks?: { afterLock?: () => Promise<void>; afterList?: () => Promise<void>; afterMark?: () => Promise<void> };
}

export interface GcStoreReport {
  name: string;
  objects: number;
  bytes: number;
  garbage: number;
  garbageBytes: number;
  /** Unmarked but within the grace (uploads a root may still name). */
  young: number;
  deleted: number;
  deletedBytes: number;
  /** Deletes the store refused because a live share link names the object. */
  shared: number;
  failed: number;
}

export interface GcReport {
  dryRun: boolean;
  rootVersion: string | null;
  live: { objects: number };
  versions: { kept: number; forgotten: number };
  trash: { kept: number; expired: number };
  sessions: { live: number; lapsed: number };
  stores: GcStoreReport[];
}

interface Listed { id: ObjectId; size: number; mtimeMs: number }

/** What the collector needs of an open drive (src/drive/open.ts Drive): the store every
 *  program uses (replicated, rollback-guarded), each configured store, the keys. */
export interface GcDrive {
  store: Store;
  stores: Store[];
  keys: DriveKeys;
}

/** What the root currently says, resolved (the DRIVE object, or one made for a drive
 *  written before format v3). */
interface Current { etag: string | null; version: bigint; hash: string | null; treeId: string; drive: DriveObject }

export class Collector {
  readonly io: TreeIo;
  private readonly sessionId = toHex(randomBytes(16));
  private readonly now: () => number;

  private readonly marker: TreeMarker;

  constructor(private readonly drive: GcDrive, private readonly o: GcOptions) {
    this.now = o.now ?? Date.now;
    this.io = driveTreeIo(drive, cacheFirstFetch(drive.store, o.cacheDir));
    this.marker = new TreeMarker(this.io, o.pause);
  }

  private async current(): Promise<Current | null> {
    const rec = await this.drive.store.getRoot();
    if (!rec) return null;
    const root = openRoot(nodePlatform, this.drive.keys, rec.bytes);
    const level = await this.io.openLevel(root.treeId);
    if (level && level.kind !== TREE_DRIVE) throw new MegafsError('E_FORMAT', 'the root names a drive-level object that is not a DRIVE object');
    return { etag: rec.etag, version: root.version, hash: rootHash(nodePlatform, rec.bytes), treeId: root.treeId, drive: level ? level.drive : freshDrive(root.treeId) };
  }

  /** Swap the root for one naming `d` (sealed into `out` first) over `cur`; false when
   *  the root moved. */
  private async swap(cur: Current, d: DriveObject, out: SealedObject[]): Promise<boolean> {
    const id = sealDrive(this.io, d, out);
    for (const obj of out) await this.drive.store.put(obj.id, obj.bytes);
    const bytes = sealRoot(nodePlatform, this.drive.keys, {
      version: cur.version + 1n, treeId: id, prevRootHash: cur.hash ?? '0'.repeat(64), timeMs: this.now(), deviceId: this.o.deviceIdHex,
    });
    return (await this.drive.store.casRoot(cur.etag, bytes)).ok;
  }

  /** The policy applied to `d` at `now`: what it keeps and what goes. */
  private async applyPolicy(d: DriveObject, now: number, out: SealedObject[]) {
    const versions = await allVersions(this.io, d);
    const policyKept = keptSnapshots(versions, d.retention, now);
    const floor = this.o.forgetOlderThanMs === undefined ? -Infinity : now - this.o.forgetOlderThanMs;
    // The newest version is the drive as it is: always kept.
    const keptVersions = versions.filter((v, i) => i === 0 || (policyKept.has(v) && v.timeMs >= floor));
    const trash = await allTrash(this.io, d);
    const keptTrash = trash.filter((r) => r.deletedMs + d.retention.trashMs > now);
    const sessions = d.sessions.filter((s) => s.renewedMs + GC_LEASE_MS > now);
    const next: DriveObject = { ...d, sessions };
    if (keptVersions.length !== versions.length) next.versions = writePages(this.io, keptVersions, encodeVersionsPage, out);
    if (keptTrash.length !== trash.length) next.trash = writePages(this.io, keptTrash, encodeTrashPage, out);
    // What left the bin for good (emptied, or its time passed) leaves the old versions too;
    // a purge older than every kept version has nothing left to hold back.
    const oldestKept = keptVersions.length ? keptVersions[keptVersions.length - 1].timeMs : now;
    const expired = new Set<string>();
    const keptSet = new Set(keptTrash);
    for (const r of trash) if (!keptSet.has(r)) for (const id of await purgedIds(this.io, r)) expired.add(id);
    const purgedBefore = await allPurged(this.io, d);
    const purged = [...[...expired].map((id) => ({ id, purgedMs: now })), ...purgedBefore.filter((p) => p.purgedMs >= oldestKept && !expired.has(p.id))];
    if (expired.size > 0 || purged.length !== purgedBefore.length) next.purged = writePages(this.io, purged, encodePurgedPage, out);
    return {
      next, keptVersions, keptTrash, purged: new Set(purged.map((p) => p.id)),
      versions: { kept: keptVersions.length, forgotten: versions.length - keptVersions.length },
      trash: { kept: keptTrash.length, expired: trash.length - keptTrash.length },
      sessions: { live: sessions.length, lapsed: d.sessions.length - sessions.length },
    };
  }

  /** Step 1: take the lock (or, in a dry run, only compute what the policy keeps). */
  private async lock(): Promise<{ lockMs: number; applied: Awaited<ReturnType<Collector['applyPolicy']>>; cur: Current } | null> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = await this.current();
      if (!cur) return null;
      const now = this.now();
      const held = cur.drive.gcLock;
      if (held && held.untilMs > now && held.sessionId !== this.sessionId) {
        throw new MegafsError('E_LOCKED', `another megafs gc (device ${held.deviceId.slice(0, 8)}) is collecting this drive until ${new Date(held.untilMs).toISOString().slice(0, 19)}Z; try again then`);
      }
      const out: SealedObject[] = [];
      const applied = await this.applyPolicy(cur.drive, now, out);
      if (this.o.dryRun) return { lockMs: now, applied, cur };
      const d: DriveObject = { ...applied.next, gcRound: cur.drive.gcRound + 1, gcLock: { sessionId: this.sessionId, deviceId: this.o.deviceIdHex, untilMs: now + GC_LOCK_MS } };
      if (await this.swap(cur, d, out)) return { lockMs: now, applied, cur };
    }
    throw new MegafsError('E_CONFLICT', 'the root kept moving while the collector took its lock; run megafs gc again');
  }

  /** Step 4's end: release the lock (the root may have moved: writers keep the lock field). */
  private async unlock(): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = await this.current();
      if (!cur || cur.drive.gcLock?.sessionId !== this.sessionId) return;
      if (await this.swap(cur, { ...cur.drive, gcLock: null }, [])) return;
    }
  }

  /** Step 3: every object the root names, through everything it keeps (`lists`: the
   *  versions and bin the policy keeps, when they are not yet written: a dry run). */
  async mark(
    d: DriveObject, treeId: string, sessions: SessionRecord[], lists?: { versions: VersionRecord[]; trash: TrashRecord[]; purged: ReadonlySet<string> },
  ): Promise<Set<ObjectId>> {
    const marked = new Set<ObjectId>([treeId]);
    const dirs = new Set<ObjectId>();
    const pageIds = async (first: string | null, load: (id: string) => Promise<{ older: string | null }>) => {
      for (let id = first; id; id = (await load(id)).older) marked.add(id);
    };
    await pageIds(d.versions, (id) => versionsPage(this.io, id));
    await pageIds(d.trash, (id) => trashPage(this.io, id));
    await pageIds(d.purged ?? null, (id) => purgedPage(this.io, id));
    if (d.shares) marked.add(d.shares);
    // In full first: the drive as it is, the bases of open sessions, shares, the bin.
    const tops = new Set<string>([d.topDir]);
    for (const s of sessions) if (s.baseTop) tops.add(s.baseTop);
    for (const s of await allShares(this.io, d)) tops.add(s.snapshot);
    for (const top of tops) await this.marker.dir(top, marked, dirs);
    for (const r of lists?.trash ?? await allTrash(this.io, d)) await this.marker.entry(r.entry, marked, dirs);
    // Then the old versions, without what was purged (emptied from the bin).
    const purged = lists?.purged ?? new Set((await allPurged(this.io, d)).map((p) => p.id));
    const partial = new Set(dirs);
    for (const v of lists?.versions ?? await allVersions(this.io, d)) await this.marker.dir(v.topDir, marked, partial, purged);
    return marked;
  }

  private async list(store: Store): Promise<Listed[]> {
    const out: Listed[] = [];
    for await (const o of store.scan()) out.push(o);
    return out;
  }

  async run(): Promise<GcReport> {
    const locked = await this.lock();
    const report: GcReport = {
      dryRun: this.o.dryRun, rootVersion: null, live: { objects: 0 }, versions: { kept: 0, forgotten: 0 }, trash: { kept: 0, expired: 0 },
      sessions: { live: 0, lapsed: 0 }, stores: [],
    };
    if (!locked) return report; // a drive with no root yet holds nothing to collect
    try {
      await this.o.hooks?.afterLock?.();
      const listed = await Promise.all(this.drive.stores.map((s) => this.list(s)));
      await this.o.hooks?.afterList?.();
      // The root after the listing: whatever landed before it is marked through it.
      const after = this.o.dryRun ? locked.cur : await this.current();
      if (!after) throw new MegafsError('E_ROLLBACK', 'the store lost the root while the collector ran');
      const d = after.drive;
      const sessions = d.sessions.filter((s) => s.renewedMs + GC_LEASE_MS > locked.lockMs);
      const marked = await this.mark(d, after.treeId, sessions, this.o.dryRun ? { versions: locked.applied.keptVersions, trash: locked.applied.keptTrash, purged: locked.applied.purged } : undefined);
      await this.o.hooks?.afterMark?.();
      // A session that took its lease after the mark's root: its base is kept too.
      const late = this.o.dryRun ? null : await this.current();
      for (const s of late?.drive.sessions ?? []) {
        if (!sessions.some((x) => x.sessionId === s.sessionId && x.baseTop === s.baseTop) && s.baseTop) {
          for (const id of await this.mark({ ...freshDrive(s.baseTop) }, s.baseTop, [])) marked.add(id);
        }
      }
      const pending = [...sessions, ...(late?.drive.sessions ?? [])].filter((s) => s.pendingSinceMs > 0).map((s) => s.pendingSinceMs);
      const graceMs = Math.min(locked.lockMs, ...pending) - (this.o.clockAllowanceMs ?? GC_CLOCK_SKEW_MS);
      report.rootVersion = after.version.toString();
      report.live.objects = marked.size;
      report.versions = locked.applied.versions;
      report.trash = locked.applied.trash;
      report.sessions = locked.applied.sessions;
      if (!this.o.dryRun && this.now() > locked.lockMs + GC_LOCK_MS - 60_000) {
        throw new MegafsError('E_CONFLICT', 'the collector ran past its lock; nothing was deleted: run megafs gc again');
      }
      for (const [i, store] of this.drive.stores.entries()) {
        const r: GcStoreReport = { name: store.name, objects: 0, bytes: 0, garbage: 0, garbageBytes: 0, young: 0, deleted: 0, deletedBytes: 0, shared: 0, failed: 0 };
        report.stores.push(r);
        const doomed: Listed[] = [];
        for (const o of listed[i]) {
          r.objects++;
          r.bytes += o.size;
          if (marked.has(o.id)) continue;
          if (o.mtimeMs >= graceMs) { r.young++; continue; }
          r.garbage++;
          r.garbageBytes += o.size;
          doomed.push(o);
        }
        if (this.o.dryRun) continue;
        await eachLimited(doomed, DELETE_PARALLEL, async (o) => {
          try {
            await store.delete(o.id);
            r.deleted++;
            r.deletedBytes += o.size;
          } catch (e) {
            // `megafs serve` refuses to delete what a live share link still names.
            if ((e as { code?: string }).code === 'E_CONFLICT') r.shared++;
            else r.failed++;
          }
        });
      }
    } finally {
      if (!this.o.dryRun) await this.unlock().catch(() => undefined);
    }
    return report;
  }
}

/** Collect `drive` (megafs gc). */
export function collect(drive: GcDrive, o: GcOptions): Promise<GcReport> {
  return new Collector(drive, o).run();
}
