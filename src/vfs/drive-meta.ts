// Reading and writing the drive-level objects (format v3, src/format/drive-object.ts):
// what a root names (a DRIVE object, or a top directory for drives written before v3),
// and the paged VERSIONS and TRASH lists. A commit rewrites only the newest page of each
// (prependPages); the collector rewrites whole lists when it prunes them (writePages).
import { DEFAULT_RETENTION } from './retention.js';
import type { SealedObject } from '../crypto/object.js';
import {
  encodePurged, encodeShares, encodeTrash, encodeVersions, PAGE_MAX_RECORDS, TREE_DRIVE, TREE_PURGED, TREE_SHARES, TREE_TRASH,
  TREE_VERSIONS, type DriveObject, type PurgedRecord, type RetentionFields, type ShareRecordEntry, type TrashRecord, type VersionRecord,
} from '../format/drive-object.js';
import { FormatError } from '../errors.js';
import { toHex } from '../format/bytes.js';
import { ENTRY_FILE, type TreeEntry } from '../format/tree.js';
import type { TreeIo } from './tree-io.js';


/** Every snapshot of the last day, hourly for a week, daily for a month; the bin keeps
 *  30 days (src/vfs/retention.ts DEFAULT_RETENTION). */
export const DEFAULT_DRIVE_RETENTION: RetentionFields = { ...DEFAULT_RETENTION };

export interface MetaBase {
  /** The top directory's tree object (null: an empty drive with no root yet). */
  top: string | null;
  /** The DRIVE object, or null for a root that names its top directory (before v3). */
  drive: DriveObject | null;
}

/** What the root's tree id names. */
export async function resolveRoot(io: TreeIo, treeId: string | null): Promise<MetaBase> {
  if (!treeId) return { top: null, drive: null };
  const t = await io.openLevel(treeId);
  if (!t) return { top: treeId, drive: null };
  if (t.kind !== TREE_DRIVE) throw new FormatError('E_FORMAT', 'the root names a drive-level object that is not a DRIVE object');
  return { top: t.drive.topDir, drive: t.drive };
}

/** A DRIVE object for a drive that had none (its first v3 commit). */
export function freshDrive(topDir: string): DriveObject {
  return {
    features: 0, topDir, versions: null, trash: null, shares: null, gcRound: 0, gcLock: null, sessions: [],
    retention: { ...DEFAULT_DRIVE_RETENTION },
  };
}

export interface Page<T> {
  id: string;
  records: T[];
  older: string | null;
}

type PagedKind = typeof TREE_VERSIONS | typeof TREE_TRASH | typeof TREE_PURGED;
const KIND_NAME: Record<PagedKind, string> = { [TREE_VERSIONS]: 'VERSIONS', [TREE_TRASH]: 'TRASH', [TREE_PURGED]: 'PURGED' };

async function page<T>(io: TreeIo, id: string, kind: PagedKind): Promise<Page<T>> {
  const t = await io.openLevel(id);
  if (!t || t.kind !== kind) throw new FormatError('E_FORMAT', `expected a ${KIND_NAME[kind]} object`);
  return { id, records: t.records as T[], older: (t as { older: string | null }).older };
}

export const versionsPage = (io: TreeIo, id: string): Promise<Page<VersionRecord>> => page(io, id, TREE_VERSIONS);
export const trashPage = (io: TreeIo, id: string): Promise<Page<TrashRecord>> => page(io, id, TREE_TRASH);
export const purgedPage = (io: TreeIo, id: string): Promise<Page<PurgedRecord>> => page(io, id, TREE_PURGED);

/** Every page of a list, newest first (the ids too: the collector keeps them). */
export async function allPages<T>(io: TreeIo, first: string | null, kind: PagedKind): Promise<Page<T>[]> {
  const pages: Page<T>[] = [];
  const seen = new Set<string>();
  for (let id = first; id; ) {
    if (seen.has(id)) throw new FormatError('E_FORMAT', 'a drive list loops');
    seen.add(id);
    const p = await page<T>(io, id, kind);
    pages.push(p);
    id = p.older;
  }
  return pages;
}

export async function allVersions(io: TreeIo, d: DriveObject | null): Promise<VersionRecord[]> {
  return (await allPages<VersionRecord>(io, d?.versions ?? null, TREE_VERSIONS)).flatMap((p) => p.records);
}

export async function allTrash(io: TreeIo, d: DriveObject | null): Promise<TrashRecord[]> {
  return (await allPages<TrashRecord>(io, d?.trash ?? null, TREE_TRASH)).flatMap((p) => p.records);
}

export async function allPurged(io: TreeIo, d: DriveObject | null): Promise<PurgedRecord[]> {
  return (await allPages<PurgedRecord>(io, d?.purged ?? null, TREE_PURGED)).flatMap((p) => p.records);
}

/** The objects a file entry's content is in (chunks, chunk lists): what emptying it
 *  from the bin purges. Directories and symlinks have none of their own here. */
export async function entryObjects(io: TreeIo, e: TreeEntry): Promise<string[]> {
  if (e.type !== ENTRY_FILE || !e.file) return [];
  const ids = (e.file.chunks ?? []).map(([, id]) => id);
  if (e.file.lists?.length) {
    ids.push(...e.file.lists.map(([, id]) => id));
    ids.push(...(await io.loadChunkLists(e.file.lists)).values());
  }
  return ids;
}

/** What emptying a bin record purges: its objects, and for a removed file its file id
 *  (every state of it in the old versions, not only the last). */
export async function purgedIds(io: TreeIo, r: TrashRecord): Promise<string[]> {
  const ids = await entryObjects(io, r.entry);
  if (r.removed && r.entry.type === ENTRY_FILE && r.entry.file) ids.push(toHex(r.entry.file.fileId));
  return ids;
}

export async function allShares(io: TreeIo, d: DriveObject | null): Promise<ShareRecordEntry[]> {
  if (!d?.shares) return [];
  const t = await io.openLevel(d.shares);
  if (!t || t.kind !== TREE_SHARES) throw new FormatError('E_FORMAT', 'expected a SHARES object');
  return t.records;
}

type Encode<T> = (records: T[], older: string | null) => Uint8Array;
export const encodeVersionsPage: Encode<VersionRecord> = encodeVersions;
export const encodeTrashPage: Encode<TrashRecord> = encodeTrash;
export const encodePurgedPage: Encode<PurgedRecord> = encodePurged;

/** `records` (newest first) put in front of the list whose newest page is `head`: the
 *  head page is rewritten while it has room, else new pages go on top of it. */
export function prependPages<T>(io: TreeIo, records: T[], head: Page<T> | null, encode: Encode<T>, out: SealedObject[]): string | null {
  if (records.length === 0) return head?.id ?? null;
  let older = head?.older ?? null;
  let rest = records;
  if (head && head.records.length + records.length > PAGE_MAX_RECORDS) {
    older = head.id; // full: it stays as it is, below the new pages
  } else if (head) {
    rest = [...records, ...head.records];
  }
  return writeChain(io, rest, older, encode, out);
}

/** A fresh list of `records` (newest first), ending in `older`. */
export function writePages<T>(io: TreeIo, records: T[], encode: Encode<T>, out: SealedObject[]): string | null {
  return records.length === 0 ? null : writeChain(io, records, null, encode, out);
}

function writeChain<T>(io: TreeIo, records: T[], older: string | null, encode: Encode<T>, out: SealedObject[]): string | null {
  // Full pages at the old end, the short one newest (the next commit rewrites only it);
  // sealed oldest first, so each page can name the one below it.
  const head = records.length - PAGE_MAX_RECORDS * Math.floor((records.length - 1) / PAGE_MAX_RECORDS);
  const starts = [0];
  for (let s = head; s < records.length; s += PAGE_MAX_RECORDS) starts.push(s);
  let next = older;
  for (let i = starts.length - 1; i >= 0; i--) {
    const end = i + 1 < starts.length ? starts[i + 1] : records.length;
    next = io.sealLevel(encode(records.slice(starts[i], end), next), out);
  }
  return next;
}

export function sealShares(io: TreeIo, records: ShareRecordEntry[], out: SealedObject[]): string | null {
  return records.length === 0 ? null : io.sealLevel(encodeShares(records), out);
}
