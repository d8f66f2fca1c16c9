// Moving a shared file to a new file id and key before its next content change
// (docs/design.md "Shares without a copy"): a link holds the chunk key of the snapshot it
// shares, so nothing written to the file later may be sealed under that key. Every
// sealed chunk (the chunk map and the chunks sealed ahead) is opened and sealed again
// under the new key at the same index and isLast, so the file reads the same; the new
// state is journaled as one 'rekey' record. The chunks under the old key stay what the
// share's snapshot (and older versions) name.
// Runs under the file's content lock with no seal in flight (FileData.unexposed).
import { chunkKeyFor } from '../crypto/chunk.js';
import { FILE_ID_BYTES, KEY_BYTES } from '../format/constants.js';
import { lastChunkIndex } from '../chunking/offsets.js';
import { eachLimited } from '../store/limit.js';
import { sealChunkAsync } from './crypto-pool.js';
import type { VfsContext } from './context.js';
import type { FileNode } from './nodes.js';

/** Chunks opened and sealed again at once. */
const PARALLEL = 4;

export interface Rekeyed {
  fileId: Uint8Array;
  fileKey: Uint8Array;
  chunkKey: Uint8Array;
  /** The sealed chunk map under the new key (what the journal record sets). */
  chunks: Map<number, string>;
  ahead: Map<number, string>;
}

/** The chunk's plaintext under the file's current key (FileData.openSealed). */
export type OpenSealed = (chunkIndex: number, id: string, isLast: boolean) => Promise<Uint8Array>;

/** New key material for `f` and, unless `dropContent` (a truncate to zero follows), its
 *  sealed chunks sealed again under it, persisted (cache and upload queue). Changes
 *  nothing in `f`: the caller swaps synchronously. */
export async function resealed(ctx: VfsContext, f: FileNode, chunks: Map<number, string>, open: OpenSealed, dropContent: boolean): Promise<Rekeyed> {
  const fileKey = ctx.p.randomBytes(KEY_BYTES);
  const r: Rekeyed = { fileId: ctx.p.randomBytes(FILE_ID_BYTES), fileKey, chunkKey: chunkKeyFor(fileKey), chunks: new Map(), ahead: new Map() };
  if (dropContent) return r;
  const last = lastChunkIndex(f.sealedSize);
  const jobs: { idx: number; id: string; isLast: boolean; into: Map<number, string> }[] = [];
  for (const [idx, id] of chunks) if (idx < f.cutIndex && idx <= last) jobs.push({ idx, id, isLast: idx === last, into: r.chunks });
  for (const [idx, id] of f.ahead) jobs.push({ idx, id, isLast: false, into: r.ahead });
  await eachLimited(jobs, PARALLEL, async (j) => {
    const plain = await open(j.idx, j.id, j.isLast);
    const o = await sealChunkAsync(r.chunkKey, { fileId: r.fileId, chunkIndex: j.idx, isLast: j.isLast }, plain);
    await ctx.persist(o, f);
    j.into.set(j.idx, o.id);
    f.pendingIds.add(o.id);
  });
  return r;
}

/** Make `r` the file's key and sealed state (synchronously: no reader sees half of it). */
export function adopt(f: FileNode, r: Pick<Rekeyed, 'fileId' | 'fileKey' | 'chunkKey'>): void {
  f.fileId = r.fileId;
  f.fileKey = r.fileKey;
  // chunkKey is a lazy getter on nodes made by the engine: replace it with the value.
  Object.defineProperty(f, 'chunkKey', { value: r.chunkKey, writable: true, configurable: true, enumerable: true });
}
