// Chunk sealing (docs/format.md "Chunks"): a file's content in CHUNK_SIZE pieces, each
// sealed under the file's chunk key with AAD binding (like gocryptfs concatAD)
//   "megafs chunk" || 0x00 || version u8 || fileId[16] || u64le chunkIndex || u8 isLast
// so that swapping, reordering, moving between files and truncation fail to open.
// Not caught by the AAD alone: an older sealing of the same (file, index); the tree's
// list of chunk ids catches that (docs/format.md "Chunks").
import { ByteWriter } from '../format/bytes.js';
import { FILE_ID_BYTES } from '../format/constants.js';
import { AAD_CHUNK, LABEL_CHUNK } from './labels.js';
import { deriveKey } from './kdf.js';
import { openObject, openObjectAsync, sealObject, sealObjectAsync, type SealedObject } from './object.js';
import type { CryptoPlatform } from './platform.js';

export function chunkKeyFor(fileKey: Uint8Array): Uint8Array {
  return deriveKey(fileKey, LABEL_CHUNK);
}

export interface ChunkPlace {
  /** 16 random bytes naming the file (constant across its versions). */
  fileId: Uint8Array;
  chunkIndex: number;
  isLast: boolean;
}

/** The 25 bytes of AAD context: fixed width, so no two places encode alike. */
export function chunkContext(place: ChunkPlace): Uint8Array {
  if (place.fileId.length !== FILE_ID_BYTES) throw new Error(`BUG: file id of ${place.fileId.length} bytes`);
  if (!Number.isSafeInteger(place.chunkIndex) || place.chunkIndex < 0) throw new Error(`BUG: chunk index ${place.chunkIndex}`);
  return new ByteWriter(25).raw(place.fileId).u64(place.chunkIndex).u8(place.isLast ? 1 : 0).finish();
}

/** `nonce` only for test vectors; `out` as in sealObject (buffer reuse). */
export function sealChunk(
  p: CryptoPlatform, chunkKey: Uint8Array, place: ChunkPlace, plaintext: Uint8Array, nonce?: Uint8Array, out?: Uint8Array,
): SealedObject {
  return sealObject(p, chunkKey, AAD_CHUNK, chunkContext(place), plaintext, nonce, out);
}

/** Verifies the hash against `id`, then opens. Throws E_INTEGRITY on any tampering. */
export function openChunk(
  p: CryptoPlatform, chunkKey: Uint8Array, place: ChunkPlace, bytes: Uint8Array, id?: string, out?: Uint8Array,
): Uint8Array {
  return openObject(p, chunkKey, AAD_CHUNK, chunkContext(place), bytes, id, out);
}

/** sealChunk off the main thread when the platform can (CryptoPlatform.sealStreamAsync). */
export function sealChunkAsync(
  p: CryptoPlatform, chunkKey: Uint8Array, place: ChunkPlace, plaintext: Uint8Array, out?: Uint8Array,
): Promise<SealedObject> {
  return sealObjectAsync(p, chunkKey, AAD_CHUNK, chunkContext(place), plaintext, out);
}

/** openChunk off the main thread when the platform can (CryptoPlatform.openAsync). */
export function openChunkAsync(
  p: CryptoPlatform, chunkKey: Uint8Array, place: ChunkPlace, bytes: Uint8Array, id?: string, out?: Uint8Array,
): Promise<Uint8Array> {
  return openObjectAsync(p, chunkKey, AAD_CHUNK, chunkContext(place), bytes, id, out);
}
