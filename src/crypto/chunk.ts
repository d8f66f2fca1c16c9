// Chunk sealing (docs/format.md "Chunks"): a file's content in CHUNK_SIZE pieces, each
// sealed under the file's chunk key with AAD binding (like gocryptfs concatAD)
//   fileId[16] || u64le chunkIndex || u8 isLast
// so that swapping, reordering, moving between files and truncation fail to open.
import { ByteWriter } from '../format/bytes.js';
import { AAD_CHUNK, LABEL_CHUNK } from './labels.js';
import { deriveKey } from './kdf.js';
import { openObject, sealObject, type SealedObject } from './object.js';
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

function chunkContext(place: ChunkPlace): Uint8Array {
  return new ByteWriter(25).raw(place.fileId).u64(place.chunkIndex).u8(place.isLast ? 1 : 0).finish();
}

export function sealChunk(p: CryptoPlatform, chunkKey: Uint8Array, place: ChunkPlace, plaintext: Uint8Array, nonce?: Uint8Array): SealedObject {
  return sealObject(p, chunkKey, AAD_CHUNK, chunkContext(place), plaintext, nonce);
}

/** Verifies the hash against `id`, then opens. Throws E_INTEGRITY on any tampering. */
export function openChunk(p: CryptoPlatform, chunkKey: Uint8Array, place: ChunkPlace, bytes: Uint8Array, id?: string): Uint8Array {
  return openObject(p, chunkKey, AAD_CHUNK, chunkContext(place), bytes, id);
}
