// The drive-level tree objects of format version 3 (docs/format.md "Format version 3"):
// the DRIVE object the root names, and the paged lists it refers to (VERSIONS, TRASH)
// and its SHARES list. Pure codecs; sealed like every tree object (tree key, AAD_TREE,
// empty context) but with version byte 3, which no v2 build reads.
//   DRIVE    = 0x04 || varint features (0) || ref topDir || optref versions || optref trash
//              || optref shares || varint gcRound || gcLock || varint sessions || session*
//              || policy
//   VERSIONS = 0x06 || varint count || version* || optref older      newest first
//   TRASH    = 0x07 || varint count || trashed* || optref older      newest first
//   SHARES   = 0x08 || varint count || share*                        by link id
//   PURGED   = 0x09 || varint count || (u8 0 || objectId[32] | u8 1 || fileId[16]) || varint purgedMs)*
//              || optref older
import { FormatError } from '../errors.js';
import { ByteReader, ByteWriter, fromHex, toHex } from './bytes.js';
import { decodeName, nameBytes } from './names.js';
import { readEntry, readRef, TREE_DRIVE, writeEntry, writeRef, type TreeEntry } from './tree.js';

export { TREE_DRIVE };

/** The version byte of the drive-level objects (dirs and chunk lists stay TREE_VERSION 2). */
export const DRIVE_OBJECT_VERSION = 3;
export const TREE_VERSIONS = 6;
export const TREE_TRASH = 7;
export const TREE_SHARES = 8;
export const TREE_PURGED = 9;
/** Records per VERSIONS or TRASH page: a commit rewrites only the newest page. */
export const PAGE_MAX_RECORDS = 256;
/** A retention setting with no bound ("unlimited") is stored as 2^53 - 1. */
export const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** The retention policy (src/vfs/retention.ts applies it). */
export interface RetentionFields {
  /** How long a deleted or overwritten entry stays in the bin, in ms (Infinity: forever). */
  trashMs: number;
  /** Every snapshot this close to the newest one is kept, in ms (Infinity: all). */
  keepWithinMs: number;
  /** How many of the most recent hours, days, ISO weeks, months (UTC) that have snapshots
   *  keep their newest snapshot; 0 turns a rule off, Infinity keeps one for every bucket. */
  hourly: number;
  daily: number;
  weekly: number;
  monthly: number;
}

/** A process holding the drive open for writing: its lease (docs/design.md "What the
 *  collector may delete"). */
export interface SessionRecord {
  sessionId: string; // 16 bytes hex
  deviceId: string; // 16 bytes hex
  /** Its clock before its first upload that no committed root names yet; 0: none pending. */
  pendingSinceMs: number;
  /** Its clock when it last wrote this record (a lease not renewed for a week has lapsed). */
  renewedMs: number;
  /** The top directory its tree derives from (the collector keeps what it names). */
  baseTop: string | null;
}

export interface GcLock {
  sessionId: string;
  deviceId: string;
  untilMs: number;
}

export interface DriveObject {
  features: number;
  topDir: string;
  versions: string | null;
  trash: string | null;
  shares: string | null;
  gcRound: number;
  gcLock: GcLock | null;
  sessions: SessionRecord[];
  /** PURGED pages: objects the collector does not keep for old versions (absent in
   *  DRIVE objects written before it existed: none). */
  purged?: string | null;
  retention: RetentionFields;
}

export interface VersionRecord {
  rootVersion: bigint;
  timeMs: number;
  deviceId: string;
  topDir: string;
  /** Sealed bytes this commit added to the store (what the change cost). */
  addedBytes: number;
}

export interface TrashRecord {
  deletedMs: number;
  deviceId: string;
  /** Path of the directory the entry was in ("/" for the top), in name-string form. */
  dir: string;
  /** The entry as it was (its name is the deleted name). */
  entry: TreeEntry;
  /** Its name went (unlink, a rename over it): no live file has its file id any more.
   *  False for content overwritten in place (a truncate to zero): the file lives on. */
  removed: boolean;
}

export interface ShareRecordEntry {
  linkId: string; // 16 bytes hex
  /** The whole link, key included (the owner's devices print it again; sealed under the tree key). */
  link: string;
  createdMs: number;
  expiresMs: number | null;
  /** The shared path, in name-string form. */
  path: string;
  /** A DIR_LEAF holding the one shared entry as it was shared: what the collector keeps. */
  snapshot: string;
}

/** Emptied from the bin (or expired there): gone from every version too. `id` is an
 *  object id (64 hex), or a file id (32 hex: every state of a removed file). */
export interface PurgedRecord {
  id: string;
  purgedMs: number;
}

export type DriveLevelTree =
  | { kind: typeof TREE_DRIVE; drive: DriveObject }
  | { kind: typeof TREE_VERSIONS; records: VersionRecord[]; older: string | null }
  | { kind: typeof TREE_TRASH; records: TrashRecord[]; older: string | null }
  | { kind: typeof TREE_SHARES; records: ShareRecordEntry[] }
  | { kind: typeof TREE_PURGED; records: PurgedRecord[]; older: string | null };

const NONE = 0xff;

function writeOptRef(w: ByteWriter, id: string | null): void {
  if (id === null) w.u8(NONE);
  else writeRef(w, id);
}

function readOptRef(r: ByteReader): string | null {
  // A ref starts with its form byte (0 = an object of its own); 0xff is "none".
  const peek = r.u8();
  if (peek === NONE) return null;
  r.offset--;
  return readRef(r, 2);
}

function writeId16(w: ByteWriter, hex: string): void {
  const b = fromHex(hex);
  if (b.length !== 16) throw new Error('BUG: a 16-byte id of another length');
  w.raw(b);
}

const readId16 = (r: ByteReader): string => toHex(r.raw(16));

/** Path strings as stored: '/'-separated name bytes; "/" is the top directory. */
function pathBytes(path: string): Uint8Array {
  if (path === '/') return new Uint8Array([0x2f]);
  const parts = path.split('/');
  if (parts[0] !== '' || parts.length < 2) throw new Error(`BUG: path ${path} is not absolute`);
  const bs = parts.slice(1).map((p) => nameBytes(p));
  const out = new Uint8Array(bs.reduce((n, b) => n + 1 + b.length, 0));
  let o = 0;
  for (const b of bs) { out[o++] = 0x2f; out.set(b, o); o += b.length; }
  return out;
}

function readPath(r: ByteReader): string {
  const b = r.bytes();
  if (b.length === 1 && b[0] === 0x2f) return '/';
  if (b.length === 0 || b[0] !== 0x2f) throw new FormatError('E_FORMAT', 'drive object has a bad path');
  const parts: string[] = [];
  let start = 1;
  for (let i = 1; i <= b.length; i++) {
    if (i === b.length || b[i] === 0x2f) {
      const part = b.subarray(start, i);
      if (part.length === 0) throw new FormatError('E_FORMAT', 'drive object has a bad path');
      parts.push(decodeCheckedName(part));
      start = i + 1;
    }
  }
  return '/' + parts.join('/');
}

function decodeCheckedName(b: Uint8Array): string {
  const name = decodeName(b);
  try { nameBytes(name); } catch (cause) { throw new FormatError('E_FORMAT', 'drive object has a bad name in a path', { cause }); }
  return name;
}

export function encodeDriveObject(d: DriveObject): Uint8Array {
  if (d.features !== 0) throw new Error('BUG: drive features this build does not implement');
  const w = new ByteWriter(128 + d.sessions.length * 80).u8(TREE_DRIVE).varint(d.features);
  writeRef(w, d.topDir);
  writeOptRef(w, d.versions);
  writeOptRef(w, d.trash);
  writeOptRef(w, d.shares);
  w.varint(d.gcRound);
  if (d.gcLock) { w.u8(1); writeId16(w, d.gcLock.sessionId); writeId16(w, d.gcLock.deviceId); w.varint(d.gcLock.untilMs); } else w.u8(0);
  const sessions = [...d.sessions].sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1));
  w.varint(sessions.length);
  for (const s of sessions) {
    writeId16(w, s.sessionId);
    writeId16(w, s.deviceId);
    w.varint(s.pendingSinceMs);
    w.varint(s.renewedMs);
    writeOptRef(w, s.baseTop);
  }
  const t = d.retention;
  const v = (x: number): number => (x === Infinity ? UNLIMITED : x);
  w.varint(v(t.trashMs)).varint(v(t.keepWithinMs)).varint(v(t.hourly)).varint(v(t.daily)).varint(v(t.weekly)).varint(v(t.monthly));
  if (d.purged) writeOptRef(w, d.purged);
  return w.finish();
}

export function encodeVersions(records: VersionRecord[], older: string | null): Uint8Array {
  const w = new ByteWriter(16 + records.length * 72).u8(TREE_VERSIONS).varint(records.length);
  for (const v of records) {
    w.u64(v.rootVersion).varint(v.timeMs);
    writeId16(w, v.deviceId);
    writeRef(w, v.topDir);
    w.varint(v.addedBytes);
  }
  writeOptRef(w, older);
  return w.finish();
}

export function encodeTrash(records: TrashRecord[], older: string | null): Uint8Array {
  const w = new ByteWriter(16 + records.length * 160).u8(TREE_TRASH).varint(records.length);
  for (const t of records) {
    w.varint(t.deletedMs);
    writeId16(w, t.deviceId);
    w.u8(t.removed ? 1 : 0);
    w.bytes(pathBytes(t.dir));
    writeEntry(w, nameBytes(t.entry.name), t.entry);
  }
  writeOptRef(w, older);
  return w.finish();
}

export function encodePurged(records: PurgedRecord[], older: string | null): Uint8Array {
  const w = new ByteWriter(16 + records.length * 40).u8(TREE_PURGED).varint(records.length);
  for (const p of records) {
    const b = fromHex(p.id);
    if (b.length !== 32 && b.length !== 16) throw new Error('BUG: a purged id of another length');
    w.u8(b.length === 16 ? 1 : 0).raw(b).varint(p.purgedMs);
  }
  writeOptRef(w, older);
  return w.finish();
}

export function encodeShares(records: ShareRecordEntry[]): Uint8Array {
  const sorted = [...records].sort((a, b) => (a.linkId < b.linkId ? -1 : a.linkId > b.linkId ? 1 : 0));
  const w = new ByteWriter(16 + records.length * 200).u8(TREE_SHARES).varint(sorted.length);
  const enc = new TextEncoder();
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i];
    if (i > 0 && sorted[i - 1].linkId === s.linkId) throw new Error('BUG: two shares with one link id');
    writeId16(w, s.linkId);
    w.bytes(enc.encode(s.link)).varint(s.createdMs).varint(s.expiresMs ?? 0);
    w.bytes(pathBytes(s.path));
    writeRef(w, s.snapshot);
  }
  return w.finish();
}

const ascii = new TextDecoder('utf-8', { fatal: true });

/** Decode a drive-level object (version byte 3); dirs and chunk lists are decodeTree's. */
export function decodeDriveLevel(payload: Uint8Array, version: number): DriveLevelTree {
  if (version !== DRIVE_OBJECT_VERSION) throw new FormatError('E_VERSION', `drive object version ${version} is not supported`);
  const r = new ByteReader(payload, 'drive object');
  const kind = r.u8();
  let out: DriveLevelTree;
  if (kind === TREE_DRIVE) {
    const features = r.varint();
    if (features !== 0) throw new FormatError('E_VERSION', 'a drive with optional features (hard links, packs, ...) needs a newer megafs');
    const topDir = readRef(r, 2);
    const versions = readOptRef(r);
    const trash = readOptRef(r);
    const shares = readOptRef(r);
    const gcRound = r.varint();
    const lockFlag = r.u8();
    if (lockFlag > 1) throw new FormatError('E_FORMAT', 'drive object has a bad gc lock');
    const gcLock = lockFlag ? { sessionId: readId16(r), deviceId: readId16(r), untilMs: r.varint() } : null;
    const n = r.varint();
    const sessions: SessionRecord[] = [];
    for (let i = 0; i < n; i++) {
      const s = { sessionId: readId16(r), deviceId: readId16(r), pendingSinceMs: r.varint(), renewedMs: r.varint(), baseTop: readOptRef(r) };
      if (i > 0 && sessions[i - 1].sessionId >= s.sessionId) throw new FormatError('E_FORMAT', 'drive object has sessions out of order');
      sessions.push(s);
    }
    const u = (): number => { const x = r.varint(); return x === UNLIMITED ? Infinity : x; };
    const retention = { trashMs: u(), keepWithinMs: u(), hourly: u(), daily: u(), weekly: u(), monthly: u() };
    const purged = r.offset < payload.length ? readOptRef(r) : null;
    out = { kind, drive: { features, topDir, versions, trash, shares, gcRound, gcLock, sessions, retention, purged } };
  } else if (kind === TREE_VERSIONS) {
    const n = r.varint();
    const records: VersionRecord[] = [];
    for (let i = 0; i < n; i++) {
      records.push({ rootVersion: r.u64(), timeMs: r.varint(), deviceId: readId16(r), topDir: readRef(r, 2), addedBytes: r.varint() });
    }
    out = { kind, records, older: readOptRef(r) };
  } else if (kind === TREE_TRASH) {
    const n = r.varint();
    const records: TrashRecord[] = [];
    for (let i = 0; i < n; i++) {
      const deletedMs = r.varint();
      const deviceId = readId16(r);
      const how = r.u8();
      if (how > 1) throw new FormatError('E_FORMAT', 'drive object has a bad bin record');
      const dir = readPath(r);
      records.push({ deletedMs, deviceId, dir, entry: readEntry(r, 2).e, removed: how === 1 });
    }
    out = { kind, records, older: readOptRef(r) };
  } else if (kind === TREE_SHARES) {
    const n = r.varint();
    const records: ShareRecordEntry[] = [];
    for (let i = 0; i < n; i++) {
      const linkId = readId16(r);
      let link: string;
      try { link = ascii.decode(r.bytes()); } catch (cause) { throw new FormatError('E_FORMAT', 'drive object has a bad link', { cause }); }
      const createdMs = r.varint();
      const expires = r.varint();
      const path = readPath(r);
      const snapshot = readRef(r, 2);
      if (i > 0 && records[i - 1].linkId >= linkId) throw new FormatError('E_FORMAT', 'drive object has shares out of order');
      records.push({ linkId, link, createdMs, expiresMs: expires === 0 ? null : expires, path, snapshot });
    }
    out = { kind, records };
  } else if (kind === TREE_PURGED) {
    const n = r.varint();
    const records: PurgedRecord[] = [];
    for (let i = 0; i < n; i++) {
      const form = r.u8();
      if (form > 1) throw new FormatError('E_FORMAT', 'drive object has a bad purged record');
      records.push({ id: toHex(r.raw(form === 1 ? 16 : 32)), purgedMs: r.varint() });
    }
    out = { kind, records, older: readOptRef(r) };
  } else {
    throw new FormatError('E_FORMAT', `drive object kind ${kind}`);
  }
  r.end();
  return out;
}
