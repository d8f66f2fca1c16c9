// The tree codec (docs/format.md "Tree" for version 1, "Format version 2", 2. for version
// 2): payloads of the tree objects that the root names, before sealing with the tree key
// (domain AAD_TREE, empty context). The object's version byte says which layout its payload
// has; this build writes version 2 (TREE_VERSION) and reads both. Pure.
// Every payload starts with a kind byte:
//   1 DIR_LEAF   varint count || entry*           (v2: names strictly increasing as bytes)
//   2 DIR_INDEX  u8 depth || varint count || (u8 bucket || ref)*
//                a big directory sharded into 16 buckets by nibble `depth` (high nibble
//                of byte 0 first) of HMAC-SHA256(nameHash key, name bytes)
//   3 CHUNK_LIST varint count || (varint indexDelta || ref)*
//   4 DRIVE, 5 INODES: reserved (E_VERSION)
// v2 entry = bytes name || u8 type || varint inode (0) || varint mode || varint uid || varint gid
//         || varint size || varint mtimeMs || varint ctimeMs
//         || varint xattrCount || (bytes name || bytes value)*   (names increasing) || type body
//   file:    fileId[16] || fileKey[32] || u8 chunkFormat (0) || u8 form || refs
//            form 0 (inline): varint count || (varint indexDelta || ref)*
//            form 1 (lists):  varint count || (varint firstIndex || ref)*
//   dir:     ref childTree          symlink: bytes target
//   fifo, socket: nothing           char, block device: varint major || varint minor
// v2 ref = u8 0 || id[32] (u8 1: a pack member, reserved). v1 has no inode, chunkFormat or
// ref byte (a ref is id[32]), names and targets are UTF-8, and only types 1-3.
// Holes are absent from the chunk lists: a petabyte of zeros costs no bytes.
import { FormatError } from '../errors.js';
import { ByteReader, ByteWriter, fromHex, toHex } from './bytes.js';
import { FILE_ID_BYTES, KEY_BYTES } from './constants.js';
import { compareBytes, decodeName, nameBytes, targetBytes, xattrNameBytes } from './names.js';

/** The layout this build writes tree objects in (their sealed version byte). */
export const TREE_VERSION = 2;

export const TREE_DIR_LEAF = 1;
export const TREE_DIR_INDEX = 2;
export const TREE_CHUNK_LIST = 3;
/** Reserved kinds (docs/format.md "Format version 2"): refused with E_VERSION. */
export const TREE_DRIVE = 4;
export const TREE_INODES = 5;

export const ENTRY_FILE = 1;
export const ENTRY_DIR = 2;
export const ENTRY_SYMLINK = 3;
export const ENTRY_FIFO = 4;
export const ENTRY_CHAR_DEVICE = 5;
export const ENTRY_BLOCK_DEVICE = 6;
export const ENTRY_SOCKET = 7;
/** Reserved: a name of a hard-linked inode (its record is in INODES). */
export const ENTRY_HARD_LINK = 8;
export type EntryType = typeof ENTRY_FILE | typeof ENTRY_DIR | typeof ENTRY_SYMLINK | typeof ENTRY_FIFO
  | typeof ENTRY_CHAR_DEVICE | typeof ENTRY_BLOCK_DEVICE | typeof ENTRY_SOCKET;

/** A directory with more entries than this is sharded into a DIR_INDEX. */
export const LEAF_MAX_ENTRIES = 1000;
/** A file with more chunks than this keeps its chunk ids in CHUNK_LIST objects. */
export const INLINE_MAX_CHUNKS = 64;
/** Chunk ids per CHUNK_LIST object (16384 * 33 bytes ~ 530 KiB: one per 16 GiB of file). */
export const LIST_MAX_CHUNKS = 16384;
export const XATTR_MAX_VALUE_BYTES = 64 * 1024;

/** [chunkIndex, object id hex], ascending by chunkIndex. */
export type ChunkRef = [number, string];

export interface FileBody {
  fileId: Uint8Array;
  fileKey: Uint8Array;
  /** form 0: the chunk ids themselves. */
  chunks?: ChunkRef[];
  /** form 1: [firstChunkIndex, CHUNK_LIST object id]. */
  lists?: ChunkRef[];
}

export interface TreeEntry {
  /** The name's string form (src/format/names.ts): one string per byte string. */
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  xattrs: [string, Uint8Array][];
  file?: FileBody;
  dirId?: string;
  target?: string;
  /** Char and block devices only. */
  rdev?: { major: number; minor: number };
}

/** Throws ENAMETOOLONG / EINVAL for a name the format cannot hold; its bytes otherwise. */
export const checkName = nameBytes;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const reserved = (what: string): FormatError => new FormatError('E_VERSION', `${what} needs a newer megafs`);

export function writeRef(w: ByteWriter, id: string): void {
  const b = fromHex(id);
  if (b.length !== 32) throw new Error('BUG: an object ref without a 32-byte id');
  w.u8(0).raw(b);
}

export function readRef(r: ByteReader, version: number): string {
  if (version >= 2) {
    const form = r.u8();
    if (form === 1) throw reserved('a packed object');
    if (form !== 0) throw new FormatError('E_FORMAT', `object ref form ${form}`);
  }
  return toHex(r.raw(32));
}

function writeRefs(w: ByteWriter, refs: ChunkRef[]): void {
  w.varint(refs.length);
  let prev = 0;
  for (const [index, id] of refs) {
    if (index < prev) throw new Error('BUG: chunk refs out of order');
    w.varint(index - prev);
    writeRef(w, id);
    prev = index;
  }
}

function readRefs(r: ByteReader, version: number): ChunkRef[] {
  const n = r.varint();
  const refs: ChunkRef[] = [];
  let index = 0;
  for (let i = 0; i < n; i++) {
    index += r.varint();
    refs.push([index, readRef(r, version)]);
  }
  return refs;
}

/** One v2 entry (also the body of a trash record, src/format/drive-object.ts). */
export function writeEntry(w: ByteWriter, name: Uint8Array, e: TreeEntry): void {
  w.bytes(name).u8(e.type).varint(0).varint(e.mode).varint(e.uid).varint(e.gid).varint(e.size)
    .varint(Math.max(0, Math.floor(e.mtimeMs))).varint(Math.max(0, Math.floor(e.ctimeMs)));
  const xattrs = e.xattrs.map(([k, v]) => [xattrNameBytes(k), v] as const).sort((a, b) => compareBytes(a[0], b[0]));
  w.varint(xattrs.length);
  for (let i = 0; i < xattrs.length; i++) {
    if (i > 0 && compareBytes(xattrs[i - 1][0], xattrs[i][0]) === 0) throw new Error('BUG: duplicate xattr name');
    w.bytes(xattrs[i][0]).bytes(xattrs[i][1]);
  }
  switch (e.type) {
    case ENTRY_FILE: {
      const f = e.file ?? (() => { throw new Error('BUG: file entry without body'); })();
      w.raw(f.fileId).raw(f.fileKey).u8(0);
      if (f.lists) { w.u8(1); writeRefs(w, f.lists); } else { w.u8(0); writeRefs(w, f.chunks ?? []); }
      return;
    }
    case ENTRY_DIR: return writeRef(w, e.dirId ?? '');
    case ENTRY_SYMLINK: w.bytes(targetBytes(e.target ?? '')); return;
    case ENTRY_CHAR_DEVICE: case ENTRY_BLOCK_DEVICE:
      w.varint(e.rdev?.major ?? 0).varint(e.rdev?.minor ?? 0);
      return;
    case ENTRY_FIFO: case ENTRY_SOCKET: return;
    default: throw new Error(`BUG: entry type ${e.type as number}`);
  }
}

/** A name or target as stored: any bytes in v2, UTF-8 in v1 (E_FORMAT otherwise). */
function readString(r: ByteReader, version: number): string {
  const b = r.bytes();
  if (version >= 2) return decodeName(b);
  try { return utf8Strict.decode(b); } catch (cause) { throw new FormatError('E_FORMAT', 'tree object has a bad name', { cause }); }
}

/** Checks a decoded v2 name, xattr name or target as the writer would have. */
function valid<T>(check: () => T): T {
  try { return check(); } catch (cause) { throw new FormatError('E_FORMAT', 'tree object has a bad name', { cause }); }
}

export function readEntry(r: ByteReader, version: number): { e: TreeEntry; name: Uint8Array | null } {
  const name = readString(r, version);
  const type = r.u8();
  const maxType = version >= 2 ? ENTRY_HARD_LINK : ENTRY_SYMLINK;
  if (type < ENTRY_FILE || type > maxType) throw new FormatError('E_FORMAT', `entry type ${type}`);
  if (version >= 2 && (type === ENTRY_HARD_LINK || r.varint() !== 0)) throw reserved('a hard-linked or numbered inode');
  const e: TreeEntry = {
    name, type: type as EntryType, mode: r.varint(), uid: r.varint(), gid: r.varint(), size: r.varint(),
    mtimeMs: r.varint(), ctimeMs: r.varint(), xattrs: [],
  };
  const nx = r.varint();
  let prevX: Uint8Array | null = null;
  for (let i = 0; i < nx; i++) {
    const k = readString(r, version);
    if (version >= 2) {
      const kb = valid(() => xattrNameBytes(k));
      if (prevX && compareBytes(prevX, kb) >= 0) throw new FormatError('E_FORMAT', 'tree object has xattr names out of order');
      prevX = kb;
    }
    e.xattrs.push([k, r.bytes().slice()]);
  }
  if (type === ENTRY_FILE) {
    const fileId = r.raw(FILE_ID_BYTES).slice();
    const fileKey = r.raw(KEY_BYTES).slice();
    if (version >= 2) {
      const chunkFormat = r.u8();
      if (chunkFormat === 1) throw reserved('a file of segmented chunks');
      if (chunkFormat !== 0) throw new FormatError('E_FORMAT', `chunk format ${chunkFormat}`);
    }
    const form = r.u8();
    if (form === 0) e.file = { fileId, fileKey, chunks: readRefs(r, version) };
    else if (form === 1) e.file = { fileId, fileKey, lists: readRefs(r, version) };
    else throw new FormatError('E_FORMAT', `chunk form ${form}`);
  } else if (type === ENTRY_DIR) {
    e.dirId = readRef(r, version);
  } else if (type === ENTRY_SYMLINK) {
    e.target = readString(r, version);
    if (version >= 2) valid(() => targetBytes(e.target!));
  } else if (type === ENTRY_CHAR_DEVICE || type === ENTRY_BLOCK_DEVICE) {
    e.rdev = { major: r.varint(), minor: r.varint() };
  }
  return { e, name: version >= 2 ? valid(() => nameBytes(name)) : null };
}

/** A DIR_LEAF of `entries` in the v2 layout, sorted by name bytes (the caller's order
 *  does not matter; two entries with the same name are a bug). */
export function encodeDirLeaf(entries: TreeEntry[]): Uint8Array {
  const named = entries.map((e) => ({ b: nameBytes(e.name), e })).sort((x, y) => compareBytes(x.b, y.b));
  const w = new ByteWriter(64 + entries.length * 96).u8(TREE_DIR_LEAF).varint(named.length);
  for (let i = 0; i < named.length; i++) {
    if (i > 0 && compareBytes(named[i - 1].b, named[i].b) === 0) throw new Error(`BUG: two entries named ${named[i].e.name}`);
    writeEntry(w, named[i].b, named[i].e);
  }
  return w.finish();
}

export function encodeDirIndex(depth: number, buckets: [number, string][]): Uint8Array {
  const w = new ByteWriter(8 + buckets.length * 34).u8(TREE_DIR_INDEX).u8(depth).varint(buckets.length);
  let prev = -1;
  for (const [b, id] of buckets) {
    if (b <= prev || b > 15) throw new Error('BUG: directory index buckets out of order');
    prev = b;
    w.u8(b);
    writeRef(w, id);
  }
  return w.finish();
}

export function encodeChunkList(refs: ChunkRef[]): Uint8Array {
  const w = new ByteWriter(8 + refs.length * 35).u8(TREE_CHUNK_LIST);
  writeRefs(w, refs);
  return w.finish();
}

export type DecodedTree =
  | { kind: typeof TREE_DIR_LEAF; entries: TreeEntry[] }
  | { kind: typeof TREE_DIR_INDEX; depth: number; buckets: [number, string][] }
  | { kind: typeof TREE_CHUNK_LIST; refs: ChunkRef[] };

/** Decode a tree object's payload; `version` is the sealed object's version byte. */
export function decodeTree(payload: Uint8Array, version: number): DecodedTree {
  if (version !== 1 && version !== 2) throw new FormatError('E_VERSION', `tree object version ${version} is not supported`);
  const r = new ByteReader(payload, 'tree object');
  const kind = r.u8();
  let out: DecodedTree;
  if (kind === TREE_DIR_LEAF) {
    const n = r.varint();
    const entries: TreeEntry[] = [];
    let prev: Uint8Array | null = null;
    for (let i = 0; i < n; i++) {
      const { e, name } = readEntry(r, version);
      if (name) {
        if (prev && compareBytes(prev, name) >= 0) throw new FormatError('E_FORMAT', 'tree object has names out of order');
        prev = name;
      }
      entries.push(e);
    }
    out = { kind, entries };
  } else if (kind === TREE_DIR_INDEX) {
    const depth = r.u8();
    const n = r.varint();
    const buckets: [number, string][] = [];
    for (let i = 0; i < n; i++) buckets.push([r.u8(), readRef(r, version)]);
    out = { kind, depth, buckets };
  } else if (kind === TREE_CHUNK_LIST) {
    out = { kind, refs: readRefs(r, version) };
  } else if (version >= 2 && (kind === TREE_DRIVE || kind === TREE_INODES)) {
    throw reserved(kind === TREE_DRIVE ? 'a drive with optional features' : 'an inode table');
  } else {
    throw new FormatError('E_FORMAT', `tree object kind ${kind}`);
  }
  r.end();
  return out;
}

/** The version 1 DIR_LEAF (UTF-8 names, no inode, chunkFormat or ref bytes; order as
 *  given). Only for the frozen vectors and tests: this build writes version 2. */
export function encodeDirLeafV1(entries: TreeEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const w = new ByteWriter(64 + entries.length * 96).u8(TREE_DIR_LEAF).varint(entries.length);
  for (const e of entries) {
    w.bytes(enc.encode(e.name)).u8(e.type).varint(e.mode).varint(e.uid).varint(e.gid).varint(e.size)
      .varint(e.mtimeMs).varint(e.ctimeMs).varint(e.xattrs.length);
    for (const [k, v] of e.xattrs) w.bytes(enc.encode(k)).bytes(v);
    if (e.type === ENTRY_FILE) {
      w.raw(e.file!.fileId).raw(e.file!.fileKey).u8(e.file!.lists ? 1 : 0);
      const refs = e.file!.lists ?? e.file!.chunks ?? [];
      w.varint(refs.length);
      let prev = 0;
      for (const [index, id] of refs) { w.varint(index - prev).raw(fromHex(id)); prev = index; }
    } else if (e.type === ENTRY_DIR) w.raw(fromHex(e.dirId!));
    else w.bytes(enc.encode(e.target!));
  }
  return w.finish();
}
