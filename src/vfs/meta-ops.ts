// What this process changes in the drive-level objects between two commits: entries put
// in the bin, bin records restored or emptied, shares added or removed, the retention
// policy, and this session's pending record. A commit applies them onto the DRIVE object
// of the root it builds on (its base, or after a lost swap the other device's root), so
// both devices' lists survive a merge: versions and bin records are only ever added by
// their own commit, and removals are applied by predicate, never by overwriting a list.
import type { SealedObject } from '../crypto/object.js';
import {
  encodeDriveObject, type DriveObject, type PurgedRecord, type RetentionFields, type SessionRecord, type ShareRecordEntry, type TrashRecord, type VersionRecord,
} from '../format/drive-object.js';
import type { TreeEntry } from '../format/tree.js';
import {
  allShares, allTrash, encodePurgedPage, encodeTrashPage, encodeVersionsPage, freshDrive, purgedIds, prependPages, purgedPage, sealShares,
  trashPage, versionsPage,
  writePages, type Page,
} from './drive-meta.js';
import type { TreeIo } from './tree-io.js';
import type { Captured } from './share-snapshot.js';

/** A bin entry captured at unlink, rename-over or truncate: its chunk map is frozen then. */
export interface TrashCapture {
  deletedMs: number;
  dir: string;
  entry: TreeEntry;
  /** For a file: the chunk ids as they were (file.chunks/lists are filled at encode). */
  chunks: Map<number, string> | null;
  /** The name went (unlink, rename over it), not only the content (truncate). */
  removed: boolean;
}

/** One commit's view of the pending operations (how many it consumed). */
export interface MetaSnapshot {
  trashAdds: number;
  trashFilters: number;
  shareOps: number;
  retention: boolean;
}

/** A share record to add (its `snapshot` is sealed from `capture` by each commit pass:
 *  share-snapshot.ts), or the link id of one to remove. */
export type ShareOp = { add: ShareRecordEntry; capture?: Captured } | { remove: string };

/** What prepare() loaded for the next encode (async reads, so encode stays synchronous). */
interface Loaded {
  forMeta: DriveObject | null;
  versionsHead: Page<VersionRecord> | null;
  trashHead: Page<TrashRecord> | null;
  trashAll: TrashRecord[] | null;
  shares: ShareRecordEntry[] | null;
  /** Objects of the bin records being emptied, and the newest PURGED page. */
  purge: PurgedRecord[];
  purgedHead: Page<PurgedRecord> | null;
}

export class MetaOps {
  trashAdds: TrashCapture[] = [];
  /** Each removes the bin records it returns true for (restore, empty). */
  trashFilters: { which: (r: TrashRecord) => boolean; purge: boolean }[] = [];
  shareOps: ShareOp[] = [];
  retention: RetentionFields | null = null;
  /** Before this session's first upload that no root names yet (announce); cleared by a
   *  commit that leaves nothing of this session unnamed. */
  pendingSince: number | null = null;
  /** This session holds a lease: its record stays in the root (pending or not) until the
   *  session leaves (its last commit at close drops it). */
  leased = false;
  /** The session that held this state directory before and is gone (session-lock.ts):
   *  the next swap takes its record over. */
  previousSessionId: string | null = null;
  private loaded: Loaded | null = null;

  constructor(readonly sessionId: string, readonly deviceId: string) {}

  get anything(): boolean {
    return this.trashAdds.length + this.trashFilters.length + this.shareOps.length > 0 || this.retention !== null;
  }

  /** Load what encode needs from `base` (cached objects: a page or two per commit). */
  async prepare(io: TreeIo, base: DriveObject | null): Promise<void> {
    const l: Loaded = { forMeta: base, versionsHead: null, trashHead: null, trashAll: null, shares: null, purge: [], purgedHead: null };
    if (base?.versions) l.versionsHead = await versionsPage(io, base.versions);
    if (this.trashFilters.length > 0) {
      l.trashAll = await allTrash(io, base);
      // Emptied (not restored): their objects leave every version too.
      const purged = l.trashAll.filter((r) => this.trashFilters.some((f) => f.purge && f.which(r)));
      if (purged.length > 0) {
        const now = Date.now();
        const ids = new Set<string>();
        for (const r of purged) for (const id of await purgedIds(io, r)) ids.add(id);
        l.purge = [...ids].map((id) => ({ id, purgedMs: now }));
        if (base?.purged) l.purgedHead = await purgedPage(io, base.purged);
      }
    } else if (this.trashAdds.length > 0 && base?.trash) l.trashHead = await trashPage(io, base.trash);
    if (this.shareOps.length > 0) l.shares = await allShares(io, base);
    this.loaded = l;
  }

  snapshot(): MetaSnapshot {
    return { trashAdds: this.trashAdds.length, trashFilters: this.trashFilters.length, shareOps: this.shareOps.length, retention: this.retention !== null };
  }

  /** The commit landed: what it carried is done. */
  consumed(s: MetaSnapshot): void {
    this.trashAdds.splice(0, s.trashAdds);
    this.trashFilters.splice(0, s.trashFilters);
    this.shareOps.splice(0, s.shareOps);
    if (s.retention) this.retention = null;
  }

  /** What this session's record says in the root about to be built: null for none, else
   *  its pendingSinceMs (0: holding its base, nothing pending). `clearing`: this root names
   *  everything the session uploaded; `leaving`: the session ends with this root. */
  wanted(clearing: boolean, leaving: boolean): number | null {
    const pending = clearing ? null : this.pendingSince;
    if (leaving && pending === null) return null;
    if (!this.leased && pending === null) return null;
    return pending ?? 0;
  }

  /** Whether the root about to be built differs from `base` in its drive-level part. */
  changes(base: DriveObject | null, topChanged: boolean, want: number | null): boolean {
    if (topChanged || this.anything) return true;
    // A root from before v3 (no DRIVE object): only a change upgrades it, or a record
    // this session must put in it; a session that only reads writes nothing.
    if (!base) return want !== null;
    if (base.sessions.some((s) => s.sessionId === this.previousSessionId)) return true; // once, after a crash
    const mine = base.sessions.find((s) => s.sessionId === this.sessionId);
    // An announcement put the record into the store's root without moving the base: a
    // session that took one always writes the root that drops it.
    return want === null ? mine !== undefined || this.leased : mine?.pendingSinceMs !== want;
  }

  /** The DRIVE object for a commit naming `topDir` as root version `version`. `trash`
   *  turns this commit's captures into records (chunk lists sealed into `out`). */
  encode(
    io: TreeIo, base: DriveObject | null, topDir: string, version: bigint, timeMs: number, addedBytes: number, topChanged: boolean,
    trash: TrashRecord[], want: number | null, out: SealedObject[],
  ): DriveObject {
    const l = this.loaded;
    if (!l || l.forMeta !== base) throw new Error('BUG: MetaOps.encode without prepare() for this base');
    const d: DriveObject = base ? { ...base, topDir } : freshDrive(topDir);
    if (topChanged || !base) {
      const rec: VersionRecord = { rootVersion: version, timeMs, deviceId: this.deviceId, topDir, addedBytes };
      d.versions = prependPages(io, [rec], l.versionsHead, encodeVersionsPage, out);
    }
    if (l.trashAll) {
      const kept = l.trashAll.filter((r) => !this.trashFilters.some((f) => f.which(r)));
      if (l.purge.length > 0) d.purged = prependPages(io, l.purge, l.purgedHead, encodePurgedPage, out);
      d.trash = writePages(io, [...trash, ...kept], encodeTrashPage, out);
    } else if (trash.length > 0) {
      d.trash = prependPages(io, trash, l.trashHead, encodeTrashPage, out);
    }
    if (l.shares) {
      let list = l.shares;
      for (const op of this.shareOps) {
        if ('add' in op) list = [...list.filter((s) => s.linkId !== op.add.linkId), op.add];
        else list = list.filter((s) => s.linkId !== op.remove);
      }
      d.shares = sealShares(io, list, out);
    }
    if (this.retention) d.retention = { ...this.retention };
    // A dead predecessor's pending uploads stay protected until this session's own record
    // says nothing is pending: its replayed journal names what it needs of them.
    const prev = d.sessions.find((s) => s.sessionId === this.previousSessionId);
    if (prev && prev.pendingSinceMs > 0 && want !== null) want = want === 0 ? prev.pendingSinceMs : Math.min(want, prev.pendingSinceMs);
    const others = d.sessions.filter((s) => s.sessionId !== this.sessionId && s.sessionId !== this.previousSessionId);
    const mine: SessionRecord[] = want !== null
      ? [{ sessionId: this.sessionId, deviceId: this.deviceId, pendingSinceMs: want, renewedMs: timeMs, baseTop: topDir }] : [];
    d.sessions = [...others, ...mine];
    return d;
  }
}

/** Seal a DRIVE object (into `out`); returns its id, the id a root names. */
export function sealDrive(io: TreeIo, d: DriveObject, out: SealedObject[]): string {
  return io.sealLevel(encodeDriveObject(d), out);
}
