// What the engine and the file-data code need from the mount: crypto, the object path
// (memory cache, disk cache, store, upload queue), the journal and the commit machinery.
// Implemented by src/vfs/drive.ts; an interface so each part can be read alone.
import type { DriveKeys } from '../crypto/keys.js';
import type { SealedObject } from '../crypto/object.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import type { TreeEntry } from '../format/tree.js';
import type { RetentionFields, TrashRecord } from '../format/drive-object.js';
import type { TrashCapture } from './meta-ops.js';
import type { Store } from '../store/store.js';
import type { ChunkReader } from './chunk-reader.js';
import type { DiskCache } from './disk-cache.js';
import type { Exposure } from './exposure.js';
import type { Journal } from './journal.js';
import type { TreeIo } from './tree-io.js';
import type { Uploader } from './uploader.js';
import type { FileNode } from './nodes.js';
import type { VfsStatus } from './types.js';

export interface VfsContext {
  readonly p: CryptoPlatform;
  readonly keys: DriveKeys;
  readonly store: Store;
  readonly tree: TreeIo;
  readonly journal: Journal;
  readonly cache: DiskCache;
  readonly uploader: Uploader;
  /** Range reads of verified chunks from the disk cache (docs/design.md "Read path"). */
  readonly reader: ChunkReader;
  /** File keys a share link may hold: their next content change rekeys (exposure.ts). */
  readonly exposure: Exposure;
  readonly log: (line: string) => void;
  /** Plaintext chunk by object id (bounded in bytes), or undefined. */
  memGet(id: string): Uint8Array | undefined;
  memSet(id: string, plain: Uint8Array): void;
  /** A dirty chunk buffer just sealed as `id` (`plain` is a view of it, the caller's only
   *  reference): kept in the memory cache, or its memory reused for the next write when
   *  written chunks are not kept (OpenVfsOptions.keepWritten). */
  sealedDirty(id: string, plain: Uint8Array): void;
  /** Ciphertext of `id` from the disk cache or the store, hash-checked. */
  fetchObject(id: string): Promise<Uint8Array>;
  /** A chunk's ciphertext: from the disk cache (`checked` false: the caller checks the
   *  id; `owned`: a fresh buffer the caller may hand to a worker) or from the store
   *  (hash already checked here). */
  fetchChunk(id: string): Promise<{ bytes: Uint8Array; checked: boolean; owned: boolean }>;
  /** Write a sealed object to the disk cache (pinned) and queue its upload; `owner` is
   *  the file it belongs to (a refusal holds that file back). ENOSPC when the cache disk
   *  is full, EIO for another cache failure: then nothing may name the object. */
  persist(o: SealedObject, owner?: FileNode | null): Promise<void>;
  /** Fingerprint of a tree entry (for the three-way merge). */
  fingerprint(e: TreeEntry): string;
  /** Plaintext bytes held in dirty buffers, all files together. */
  dirtyBytes: number;
  /** Something changed: start the commit timer. */
  changed(): void;
  /** A request was served (a read, a lookup): a timer commit waits for a pause. Optional. */
  active?(): void;
  /** An explicit commit; `waitMs` bounds the wait for the store (fsync). */
  commit(background?: boolean, waitMs?: number): Promise<void>;
  /** The commit of an fsync: bounded by the mount's fsync wait (E_UNAVAILABLE after it). */
  commitBounded(): Promise<void>;
  recordError(line: string): void;
  status(): VfsStatus;
  /** The cache is more than half full of data not yet uploaded. */
  spaceTight(): boolean;
  shutdown(): Promise<void>;
  /** The rubbish bin (format v3; absent in tests' minimal contexts): put a capture in,
   *  the records of the base, and queue the removal of records (restore, empty). */
  trash?(capture: TrashCapture): void;
  binRecords?(): Promise<TrashRecord[]>;
  binRemove?(which: (r: TrashRecord) => boolean, purge: boolean): void;
  retentionPolicy?(): RetentionFields;
  setRetention?(p: RetentionFields): void;
}
