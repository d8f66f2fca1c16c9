// The share manifest (docs/format.md "Share manifest"): what a link opens to, sealed
// under the link key as one object. UTF-8 JSON so that the browser page and the CLI
// parse it with the same few lines; binary fields are base64, object ids hex.
// Version 2 (written) names the drive's own chunks and their chunk key; version 1 (read
// forever: links made before it) names chunks re-sealed for the link and their file key.
// No node: imports: the browser page bundles this file.
import { FormatError } from '../errors.js';
import { fromBase64, toBase64 } from '../format/bytes.js';
import { FILE_ID_BYTES, KEY_BYTES } from '../format/constants.js';
import { decodeName, encodeName, isUtf8, nameBytes } from '../format/names.js';

/** The version this build writes. */
export const MANIFEST_VERSION = 2;
/** Versions this build opens. */
export const MANIFEST_READABLE = [1, 2];

export interface ManifestFile {
  kind: 'file';
  /** One path component (no '/'). */
  name: string;
  /** Plaintext bytes. */
  size: number;
  mtimeMs: number;
  /** 16 bytes, base64: bound into every chunk's AAD. */
  fileId: string;
  /** Version 1 only. 32 bytes, base64: the chunk key derives from it (chunkKeyFor). */
  fileKey?: string;
  /** Version 2 only. 32 bytes, base64: the drive's chunk key of this file (chunkKeyFor of
   *  its file key; the file key itself never leaves the drive). */
  chunkKey?: string;
  /** Chunk i holds plaintext [i*CHUNK_SIZE, (i+1)*CHUNK_SIZE); null is a hole (zeros).
   *  Version 2: a chunk may hold fewer bytes than its slot (the rest is zeros). */
  chunks: (string | null)[];
}

export interface ManifestFolder {
  kind: 'folder';
  name: string;
  mtimeMs: number;
  entries: ManifestEntry[];
}

export type ManifestEntry = ManifestFile | ManifestFolder;

export interface Manifest {
  v: number;
  root: ManifestEntry;
}

const ID_RE = /^[0-9a-f]{64}$/;
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
/** Nesting bound: a hostile manifest cannot blow the stack. */
const MAX_DEPTH = 256;

/** A lone surrogate: the string form of a byte that is not UTF-8 (src/format/names.ts). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Names that are not UTF-8 go out as "name" (shown: U+FFFD for each such byte, what a
 *  browser can save) plus "nameBytes" (base64 of the exact bytes, what `megafs get` writes),
 *  so the JSON stays well-formed for every parser. */
export function encodeManifest(m: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m, (_key, v: unknown) => {
    const e = v as Partial<ManifestFile> | null;
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !e.name.match(LONE_SURROGATE)) return v;
    return { ...e, name: e.name.replace(LONE_SURROGATE, '\ufffd'), nameBytes: toBase64(encodeName(e.name)) };
  }));
}

export function decodeManifest(bytes: Uint8Array): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new FormatError('E_FORMAT', 'share manifest is not valid JSON', { cause });
  }
  const o = m as Partial<Manifest>;
  if (typeof o !== 'object' || o === null || typeof o.v !== 'number') throw bad('has no version');
  if (!MANIFEST_READABLE.includes(o.v)) throw new FormatError('E_VERSION', `share manifest version ${o.v} is not supported by this megafs`);
  checkEntry(o.root, 0, o.v);
  return o as Manifest;
}

function bad(what: string): FormatError {
  return new FormatError('E_FORMAT', `share manifest ${what}`);
}

function b64Len(s: unknown, bytes: number): boolean {
  return typeof s === 'string' && B64_RE.test(s) && s.length === Math.ceil(bytes / 3) * 4;
}

/** One path component (nameBytes() rules); a name that is not UTF-8 becomes its string
 *  form from "nameBytes", which must then not be plain UTF-8 (one spelling per name). */
function checkName(x: { name?: unknown; nameBytes?: unknown }): void {
  if (typeof x.name !== 'string') throw bad('has a bad name');
  if (x.nameBytes !== undefined) {
    if (typeof x.nameBytes !== 'string' || !B64_RE.test(x.nameBytes)) throw bad('has a bad nameBytes');
    const b = fromBase64(x.nameBytes);
    if (isUtf8(b)) throw bad('has a nameBytes that is plain UTF-8');
    x.name = decodeName(b);
    delete x.nameBytes;
  } else if ((x.name as string).match(LONE_SURROGATE)) {
    throw bad('has a name that is not well-formed text');
  }
  try { nameBytes(x.name as string); } catch (cause) { throw new FormatError('E_FORMAT', 'share manifest has a bad name', { cause }); }
}

function checkEntry(e: unknown, depth: number, v: number): asserts e is ManifestEntry {
  if (depth > MAX_DEPTH) throw bad('is nested too deep');
  const x = e as Partial<ManifestFile> & Partial<ManifestFolder>;
  if (typeof x !== 'object' || x === null) throw bad('has a bad entry');
  checkName(x as { name?: unknown; nameBytes?: unknown });
  if (typeof x.mtimeMs !== 'number') throw bad('has a bad mtime');
  if (x.kind === 'folder') {
    if (!Array.isArray(x.entries)) throw bad('folder has no entries');
    const seen = new Set<string>();
    for (const child of x.entries) {
      checkEntry(child, depth + 1, v);
      if (seen.has(child.name)) throw bad('folder has a duplicate name');
      seen.add(child.name);
    }
    return;
  }
  if (x.kind !== 'file') throw bad('has an entry of unknown kind');
  if (!Number.isSafeInteger(x.size) || x.size! < 0) throw bad('has a bad size');
  // One key per version: v1 the file key, v2 the chunk key, never both.
  const key = v === 1 ? x.fileKey : x.chunkKey;
  const other = v === 1 ? x.chunkKey : x.fileKey;
  if (!b64Len(x.fileId, FILE_ID_BYTES) || !b64Len(key, KEY_BYTES) || other !== undefined) throw bad('has a bad file key or id');
  if (!Array.isArray(x.chunks) || !x.chunks.every((c) => c === null || (typeof c === 'string' && ID_RE.test(c)))) {
    throw bad('has bad chunk ids');
  }
}

/** Every object id a manifest names (what the server may serve for this share). */
export function manifestObjectIds(entry: ManifestEntry, out = new Set<string>()): Set<string> {
  if (entry.kind === 'file') for (const c of entry.chunks) { if (c !== null) out.add(c); }
  else for (const child of entry.entries) manifestObjectIds(child, out);
  return out;
}

/** Total plaintext bytes under an entry. */
export function entrySize(entry: ManifestEntry): number {
  return entry.kind === 'file' ? entry.size : entry.entries.reduce((n, c) => n + entrySize(c), 0);
}

/** Each file under `entry` with its relative path ('a/b.txt'), depth first. */
export function* walkFiles(entry: ManifestEntry, prefix = ''): Generator<{ path: string; file: ManifestFile }> {
  const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
  if (entry.kind === 'file') { yield { path, file: entry }; return; }
  for (const child of entry.entries) yield* walkFiles(child, path);
}
