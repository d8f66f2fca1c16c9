// Reads and writes tree objects: directories (sharded past LEAF_MAX_ENTRIES by the
// name-hash HMAC into DIR_INDEX objects) and external chunk lists. Sealing is memoized
// by the SHA-256 of the plaintext payload, so an unchanged shard or chunk list keeps its
// object id: one new entry in a 100,000-entry directory rewrites one leaf and two small
// index objects. A payload sealed in the commit under way is only *tentatively* known:
// the memo takes it once the commit confirms its objects are on the store (confirm()),
// and forgets it when the commit fails (discard()), so a failed upload is sealed and
// sent again by the next commit instead of being named as if it were stored.
import { createHmac } from 'node:crypto';
import { AAD_TREE } from '../crypto/labels.js';
import { openObject, sealObject, type SealedObject } from '../crypto/object.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import { toHex } from '../format/bytes.js';
import {
  INLINE_MAX_CHUNKS, LEAF_MAX_ENTRIES, LIST_MAX_CHUNKS, TREE_CHUNK_LIST, TREE_DIR_INDEX, TREE_DIR_LEAF,
  TREE_VERSION, decodeTree, encodeChunkList, encodeDirIndex, encodeDirLeaf, type ChunkRef, type FileBody, type TreeEntry,
} from '../format/tree.js';
import { FormatError } from '../errors.js';
import { encodeName } from '../format/names.js';
import { decodeDriveLevel, DRIVE_OBJECT_VERSION, type DriveLevelTree } from '../format/drive-object.js';

const EMPTY = new Uint8Array(0);
/** Past this depth a shard is written as one leaf whatever its size (16^16 buckets). */
const MAX_DEPTH = 16;

/** Bucket of a name at `depth`: the depth-th 4-bit nibble of its HMAC (high nibble first). */
export function bucketOf(hash: Uint8Array, depth: number): number {
  const byte = hash[depth >> 1];
  return depth & 1 ? byte & 0x0f : byte >> 4;
}

export class TreeIo {
  /** sha256(payload) hex -> object id of a sealed copy known to be on the store. */
  private readonly memo = new Map<string, string>();
  /** The same for payloads sealed by the commit under way (not yet acknowledged). */
  private tentative = new Map<string, string>();

  constructor(
    private readonly p: CryptoPlatform,
    private readonly treeKey: Uint8Array,
    private readonly nameHashKey: Uint8Array,
    private readonly fetch: (id: string) => Promise<Uint8Array>,
  ) {}

  private async open(id: string): Promise<ReturnType<typeof decodeTree>> {
    const bytes = await this.fetch(id);
    const payload = openObject(this.p, this.treeKey, AAD_TREE, EMPTY, bytes, id);
    // Memoize only objects in the layout we write: a v1 payload's bytes could spell other entries in v2.
    if (bytes[0] === TREE_VERSION) this.memo.set(toHex(this.p.sha256(payload)), id);
    return decodeTree(payload, bytes[0]);
  }

  private seal(payload: Uint8Array, out: SealedObject[]): string {
    const h = toHex(this.p.sha256(payload));
    const known = this.memo.get(h) ?? this.tentative.get(h);
    if (known) return known;
    const o = sealObject(this.p, this.treeKey, AAD_TREE, EMPTY, payload, undefined, undefined, TREE_VERSION);
    this.tentative.set(h, o.id);
    out.push(o);
    return o.id;
  }

  /** A drive-level object (format v3: DRIVE, VERSIONS, TRASH, SHARES), or null when
   *  `id` is a directory (the root of a drive written before v3 names its top directory). */
  async openLevel(id: string): Promise<DriveLevelTree | null> {
    const bytes = await this.fetch(id);
    const payload = openObject(this.p, this.treeKey, AAD_TREE, EMPTY, bytes, id);
    if (bytes[0] !== DRIVE_OBJECT_VERSION) {
      decodeTree(payload, bytes[0]); // a well-formed directory, or its error
      return null;
    }
    return decodeDriveLevel(payload, bytes[0]);
  }

  /** Seal a drive-level payload (version byte 3). Not memoized: these change every commit. */
  sealLevel(payload: Uint8Array, out: SealedObject[]): string {
    const o = sealObject(this.p, this.treeKey, AAD_TREE, EMPTY, payload, undefined, undefined, DRIVE_OBJECT_VERSION);
    out.push(o);
    return o.id;
  }

  /** A collector ran (the drive's gcRound moved): an object this memo remembers may be
   *  gone from the store, so nothing is reused on its word any more. */
  clearMemo(): void {
    this.memo.clear();
    this.tentative = new Map();
  }

  /** The commit's objects are on the store: what it sealed may be reused as stored. */
  confirm(): void {
    for (const [h, id] of this.tentative) this.memo.set(h, id);
    this.tentative = new Map();
  }

  /** The commit failed: nothing it sealed may be taken for stored. */
  discard(): void {
    this.tentative = new Map();
  }

  /** All entries of the directory whose tree object is `id`. */
  async loadDir(id: string): Promise<TreeEntry[]> {
    const t = await this.open(id);
    if (t.kind === TREE_DIR_LEAF) return t.entries;
    if (t.kind !== TREE_DIR_INDEX) throw new FormatError('E_FORMAT', 'expected a directory object');
    const parts = await Promise.all(t.buckets.map(([, child]) => this.loadDir(child)));
    return parts.flat();
  }

  /** The tree objects a directory is stored in: its own, and for a sharded one every
   *  index and leaf under it. */
  async dirObjects(id: string): Promise<string[]> {
    const t = await this.open(id);
    if (t.kind !== TREE_DIR_INDEX) return [id];
    const parts = await Promise.all(t.buckets.map(([, child]) => this.dirObjects(child)));
    return [id, ...parts.flat()];
  }

  /** The chunk map of a file whose ids live in CHUNK_LIST objects. */
  async loadChunkLists(lists: ChunkRef[]): Promise<Map<number, string>> {
    const m = new Map<number, string>();
    for (const [, id] of lists) {
      const t = await this.open(id);
      if (t.kind !== TREE_CHUNK_LIST) throw new FormatError('E_FORMAT', 'expected a chunk list object');
      for (const [i, c] of t.refs) m.set(i, c);
    }
    return m;
  }

  /** The chunk part of a file entry: inline up to INLINE_MAX_CHUNKS, else list objects. */
  fileChunks(chunks: Map<number, string>, out: SealedObject[]): Pick<FileBody, 'chunks' | 'lists'> {
    const refs: ChunkRef[] = [...chunks.entries()].sort((a, b) => a[0] - b[0]);
    if (refs.length <= INLINE_MAX_CHUNKS) return { chunks: refs };
    const lists: ChunkRef[] = [];
    for (let i = 0; i < refs.length; i += LIST_MAX_CHUNKS) {
      const part = refs.slice(i, i + LIST_MAX_CHUNKS);
      lists.push([part[0][0], this.seal(encodeChunkList(part), out)]);
    }
    return { lists };
  }

  /** HMAC of the name's bytes (for UTF-8 names the same bytes as in v1: buckets keep). */
  nameHash(name: string): Uint8Array {
    return createHmac('sha256', this.nameHashKey).update(encodeName(name)).digest();
  }

  /** Seal a directory of `entries`; returns its tree object id. */
  encodeDir(entries: TreeEntry[], out: SealedObject[], depth = 0): string {
    // No sort here: encodeDirLeaf writes a leaf in name-byte order whatever the order given.
    if (entries.length <= LEAF_MAX_ENTRIES || depth >= MAX_DEPTH) return this.seal(encodeDirLeaf(entries), out);
    const buckets = new Map<number, TreeEntry[]>();
    for (const e of entries) {
      const b = bucketOf(this.nameHash(e.name), depth);
      let list = buckets.get(b);
      if (!list) buckets.set(b, (list = []));
      list.push(e);
    }
    const index: [number, string][] = [...buckets.entries()].sort((a, b) => a[0] - b[0])
      .map(([b, list]) => [b, this.encodeDir(list, out, depth + 1)]);
    return this.seal(encodeDirIndex(depth, index), out);
  }
}
