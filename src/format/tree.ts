// The tree codec (docs/format.md "Tree"): payloads of the tree objects that the root
// names, before sealing with the tree key (domain AAD_TREE, empty context). Pure.
// Every payload starts with a kind byte:
//   1 DIR_LEAF   varint count || entry*           (entries sorted by name bytes)
//   2 DIR_INDEX  u8 depth || varint count || (u8 bucket || id[32])*
//                a big directory sharded into 16 buckets by nibble `depth` (high nibble
//                of byte 0 first) of HMAC-SHA256(nameHash key, name)
//   3 CHUNK_LIST varint count || (varint indexDelta || id[32])*
// entry = bytes name || u8 type || varint mode || varint uid || varint gid || varint size
//         || varint mtimeMs || varint ctimeMs || varint xattrCount || (bytes name || bytes value)*
//         || type body
//   file:    fileId[16] || fileKey[32] || u8 form || chunks
//            form 0 (inline): varint count || (varint indexDelta || id[32])*
//            form 1 (lists):  varint count || (varint firstIndex || listId[32])*
//   dir:     childTreeId[32]
//   symlink: bytes target
// Holes are absent from the chunk lists: a petabyte of zeros costs no bytes.
import { FormatError } from '../errors.js';
import { ByteReader, ByteWriter, fromHex, toHex } from './bytes.js';
import { FILE_ID_BYTES, KEY_BYTES, NAME_MAX_BYTES } from './constants.js';

export const TREE_DIR_LEAF = 1;
export const TREE_DIR_INDEX = 2;
export const TREE_CHUNK_LIST = 3;

export const ENTRY_FILE = 1;
export const ENTRY_DIR = 2;
export const ENTRY_SYMLINK = 3;
export type EntryType = typeof ENTRY_FILE | typeof ENTRY_DIR | typeof ENTRY_SYMLINK;

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
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Throws ENAMETOOLONG / EINVAL for a name the format cannot hold. */
export function checkName(name: string): Uint8Array {
  const b = enc.encode(name);
  if (b.length > NAME_MAX_BYTES) throw new FormatError('ENAMETOOLONG', `name of ${b.length} bytes`);
  if (b.length === 0 || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new FormatError('EINVAL', 'bad name');
  }
  return b;
}

function writeRefs(w: ByteWriter, refs: ChunkRef[]): void {
  w.varint(refs.length);
  let prev = 0;
  for (const [index, id] of refs) {
    if (index < prev) throw new Error('BUG: chunk refs out of order');
    w.varint(index - prev).raw(fromHex(id));
    prev = index;
  }
}

function readRefs(r: ByteReader): ChunkRef[] {
  const n = r.varint();
  const refs: ChunkRef[] = [];
  let index = 0;
  for (let i = 0; i < n; i++) {
    index += r.varint();
    refs.push([index, toHex(r.raw(32))]);
  }
  return refs;
}

function writeEntry(w: ByteWriter, e: TreeEntry): void {
  w.bytes(checkName(e.name)).u8(e.type).varint(e.mode).varint(e.uid).varint(e.gid).varint(e.size)
    .varint(Math.max(0, Math.floor(e.mtimeMs))).varint(Math.max(0, Math.floor(e.ctimeMs)));
  w.varint(e.xattrs.length);
  for (const [k, v] of e.xattrs) w.bytes(enc.encode(k)).bytes(v);
  if (e.type === ENTRY_FILE) {
    const f = e.file ?? (() => { throw new Error('BUG: file entry without body'); })();
    w.raw(f.fileId).raw(f.fileKey);
    if (f.lists) { w.u8(1); writeRefs(w, f.lists); } else { w.u8(0); writeRefs(w, f.chunks ?? []); }
  } else if (e.type === ENTRY_DIR) {
    w.raw(fromHex(e.dirId ?? '')); // 32 bytes; bug if absent (fromHex('') is empty: caught by readers)
  } else {
    w.bytes(enc.encode(e.target ?? ''));
  }
}

function readEntry(r: ByteReader): TreeEntry {
  const name = dec.decode(r.bytes());
  const type = r.u8();
  if (type !== ENTRY_FILE && type !== ENTRY_DIR && type !== ENTRY_SYMLINK) throw new FormatError('E_FORMAT', `entry type ${type}`);
  const e: TreeEntry = {
    name, type, mode: r.varint(), uid: r.varint(), gid: r.varint(), size: r.varint(),
    mtimeMs: r.varint(), ctimeMs: r.varint(), xattrs: [],
  };
  const nx = r.varint();
  for (let i = 0; i < nx; i++) e.xattrs.push([dec.decode(r.bytes()), r.bytes().slice()]);
  if (type === ENTRY_FILE) {
    const fileId = r.raw(FILE_ID_BYTES).slice();
    const fileKey = r.raw(KEY_BYTES).slice();
    const form = r.u8();
    if (form === 0) e.file = { fileId, fileKey, chunks: readRefs(r) };
    else if (form === 1) e.file = { fileId, fileKey, lists: readRefs(r) };
    else throw new FormatError('E_FORMAT', `chunk form ${form}`);
  } else if (type === ENTRY_DIR) {
    e.dirId = toHex(r.raw(32));
  } else {
    e.target = dec.decode(r.bytes());
  }
  return e;
}

export function encodeDirLeaf(entries: TreeEntry[]): Uint8Array {
  const w = new ByteWriter(64 + entries.length * 96).u8(TREE_DIR_LEAF).varint(entries.length);
  for (const e of entries) writeEntry(w, e);
  return w.finish();
}

export function encodeDirIndex(depth: number, buckets: [number, string][]): Uint8Array {
  const w = new ByteWriter(8 + buckets.length * 33).u8(TREE_DIR_INDEX).u8(depth).varint(buckets.length);
  for (const [b, id] of buckets) w.u8(b).raw(fromHex(id));
  return w.finish();
}

export function encodeChunkList(refs: ChunkRef[]): Uint8Array {
  const w = new ByteWriter(8 + refs.length * 34).u8(TREE_CHUNK_LIST);
  writeRefs(w, refs);
  return w.finish();
}

export type DecodedTree =
  | { kind: typeof TREE_DIR_LEAF; entries: TreeEntry[] }
  | { kind: typeof TREE_DIR_INDEX; depth: number; buckets: [number, string][] }
  | { kind: typeof TREE_CHUNK_LIST; refs: ChunkRef[] };

export function decodeTree(payload: Uint8Array): DecodedTree {
  const r = new ByteReader(payload, 'tree object');
  const kind = r.u8();
  let out: DecodedTree;
  try {
    if (kind === TREE_DIR_LEAF) {
      const n = r.varint();
      const entries: TreeEntry[] = [];
      for (let i = 0; i < n; i++) entries.push(readEntry(r));
      out = { kind, entries };
    } else if (kind === TREE_DIR_INDEX) {
      const depth = r.u8();
      const n = r.varint();
      const buckets: [number, string][] = [];
      for (let i = 0; i < n; i++) buckets.push([r.u8(), toHex(r.raw(32))]);
      out = { kind, depth, buckets };
    } else if (kind === TREE_CHUNK_LIST) {
      out = { kind, refs: readRefs(r) };
    } else {
      throw new FormatError('E_FORMAT', `tree object kind ${kind}`);
    }
  } catch (e) {
    if (e instanceof TypeError) throw new FormatError('E_FORMAT', 'tree object has a bad name', { cause: e });
    throw e;
  }
  r.end();
  return out;
}
