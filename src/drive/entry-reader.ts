// The bytes of a file entry as a version recorded it (megafs get --at), read straight
// from its chunks without a vfs. Each chunk is opened at its place (docs/format.md
// "Chunks": fileId, chunkIndex, isLast = the index of the entry's last byte), so a chunk
// from another file, index or length fails; a hole (an index the map lacks) reads as
// zeros, a stored chunk shorter than its plain length is zero-filled, and the entry's
// size bounds everything. Memory: at most READ_AHEAD chunks in flight.
import { chunkKeyFor, openChunk } from '../crypto/chunk.js';
import { chunkPlainLength, lastChunkIndex } from '../chunking/offsets.js';
import { isMegafsError, MegafsError } from '../errors.js';
import { CHUNK_SIZE } from '../format/constants.js';
import { ENTRY_FILE, type TreeEntry } from '../format/tree.js';
import { nodePlatform } from '../platform/node.js';
import type { TreeIo } from '../vfs/tree-io.js';
import type { Fetch } from './history.js';

/** Chunks fetched ahead of the one being written out. */
const READ_AHEAD = 4;
const ZEROS = new Uint8Array(CHUNK_SIZE);

/** The chunk map of a file entry: inline ids, or those of its chunk lists. */
export async function chunkMap(io: TreeIo, e: TreeEntry): Promise<Map<number, string>> {
  const f = e.file;
  if (e.type !== ENTRY_FILE || !f) throw new Error('BUG: chunkMap of an entry that is not a file');
  return f.lists?.length ? io.loadChunkLists(f.lists) : new Map(f.chunks ?? []);
}

/**
 * The plain bytes of file entry `e`, in order, one chunk (or hole) at a time; `what`
 * names the file in errors. `fetch` is tried first; when the bytes it gives fail their
 * check (a damaged cache file), `fallback` (the store) is asked once more.
 * The yielded buffers are the caller's until the next step (the zero buffer is shared:
 * never write into it).
 */
export async function* entryBytes(io: TreeIo, fetch: Fetch, e: TreeEntry, what: string, fallback?: Fetch): AsyncGenerator<Uint8Array> {
  const map = await chunkMap(io, e);
  const f = e.file!;
  const key = chunkKeyFor(f.fileKey);
  const last = lastChunkIndex(e.size);
  const open = async (chunkIndex: number): Promise<Uint8Array> => {
    const id = map.get(chunkIndex);
    const want = chunkPlainLength(chunkIndex, e.size);
    if (!id) return ZEROS.subarray(0, want);
    const place = { fileId: f.fileId, chunkIndex, isLast: chunkIndex === last };
    let plain: Uint8Array;
    try {
      try {
        plain = openChunk(nodePlatform, key, place, await fetch(id), id);
      } catch (err) {
        if (!fallback || !isMegafsError(err, 'E_INTEGRITY')) throw err;
        plain = openChunk(nodePlatform, key, place, await fallback(id), id);
      }
    } catch (err) {
      const code = isMegafsError(err) ? err.code : 'EIO';
      throw new MegafsError(code, `chunk ${chunkIndex} (object ${id}) of ${what}: ${(err as Error).message}`, { cause: err });
    }
    if (plain.length >= want) return plain.subarray(0, want);
    const full = new Uint8Array(want); // a short chunk: the rest is zeros
    full.set(plain);
    return full;
  };
  const ahead: Promise<Uint8Array>[] = [];
  let next = 0;
  const fill = (): void => {
    while (ahead.length < READ_AHEAD && next <= last) {
      const p = open(next++);
      p.catch(() => undefined); // awaited in order below; a later one's failure waits its turn
      ahead.push(p);
    }
  };
  fill();
  while (ahead.length > 0) {
    const bytes = await ahead.shift()!;
    fill();
    yield bytes;
  }
}
