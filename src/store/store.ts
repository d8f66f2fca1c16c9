// The one Store interface every backend implements (fs, http, s3) and every wrapper
// (retry, limit, replicate) passes through. A store holds only ciphertext: objects
// named by the SHA-256 of their bytes, one sealed root per drive, and the drive header
// (KDF parameters, salt, wrapped master key: nothing that opens without the password).
// A store never needs a key; it checks an object's hash, nothing more.

/** 64 lowercase hex characters: SHA-256 of the object's bytes. */
export type ObjectId = string;

export interface ByteRange {
  /** Byte offset into the object. */
  offset: number;
  /** Number of bytes; the result may be shorter at the end of the object. */
  length: number;
}

/** The sealed root as the store holds it, with the token that compare-and-swap needs. */
export interface RootRecord {
  /** The sealed root bytes (opaque to the store). */
  bytes: Uint8Array;
  /** Opaque version token of this root in this store (an ETag, a counter). */
  etag: string;
}

export type CasResult =
  | { ok: true; etag: string }
  | { ok: false; current: RootRecord | null };

export interface StoreUsage {
  /** Bytes of objects held for this drive. */
  usedBytes: number;
  /** Number of objects held for this drive. */
  objectCount: number;
  /** Quota in bytes, or null when the store sets none. */
  quotaBytes: number | null;
}

/** One object as scan() reports it. */
export interface ObjectInfo {
  id: ObjectId;
  /** Bytes held. */
  size: number;
  /** When the object was last put, in whole milliseconds since the epoch by the store's
   *  clock (a server's, not this machine's): a put of an object that exists refreshes it.
   *  A collector's grace period counts from here. */
  mtimeMs: number;
}

export interface Store {
  /** Human-readable name for logs and `megafs status` (no secrets). */
  readonly name: string;

  /** Store an object. Refuses (E_HASH_MISMATCH) a body whose SHA-256 is not `id`.
   *  Idempotent: putting an object that exists succeeds, and refreshes its mtime (scan),
   *  so an object a writer is about to name again is not collected as old garbage; if it
   *  was deleted meanwhile it is stored anew. Acknowledged means durable. */
  put(id: ObjectId, body: Uint8Array): Promise<void>;
  /** Optional (local stores): store the object held in the local file `path`, a file this
   *  process wrote and whose SHA-256 it computed as `id` (not hashed again). The store may
   *  hard-link the file instead of copying it, so the file must never change afterwards
   *  (replace it, never rewrite it). The object's mtime (scan) becomes the time of the put
   *  (a hard-linked file's own mtime with it).
   *  Same guarantees as put: acknowledged means durable,
   *  unless `deferSync` is set: then the object is visible at once but durable (survives a
   *  power cut) only once a later syncDeferred() has resolved. */
  putFile?(id: ObjectId, path: string, opts?: { deferSync?: boolean }): Promise<void>;
  /** Optional, with putFile: make every object put so far with `deferSync` durable (many
   *  fsyncs at once, which the file system commits together, instead of three per object). */
  syncDeferred?(): Promise<void>;
  /** The object's bytes, or a byte range of them. E_NOT_FOUND when absent. */
  get(id: ObjectId, range?: ByteRange): Promise<Uint8Array>;
  has(id: ObjectId): Promise<boolean>;
  /** Delete an object; deleting an absent object succeeds. */
  delete(id: ObjectId): Promise<void>;
  /** Every object id the store holds for this drive, in no particular order. */
  list(): AsyncIterable<ObjectId>;
  /** Every object the store holds for this drive with its size and the time it was last
   *  put, in no particular order (what a garbage collector sweeps). An object deleted or
   *  put during the scan may or may not appear. */
  scan(): AsyncIterable<ObjectInfo>;
  /** Optional (a store made of others: ReplicatedStore): the stores it writes every object
   *  to. Each holds its own copies with its own times, so a collector scans and deletes on
   *  each member, not on the union. */
  members?(): readonly Store[];

  /** The drive's current sealed root, or null when none was ever written. */
  getRoot(): Promise<RootRecord | null>;
  /** Optional (stores that keep them: a directory store keeps its last 32): the sealed
   *  roots still held, newest first, the current one included. `megafs serve` and S3 keep
   *  only the current root; fsck then falls back on what this machine saw (seen-root.ts). */
  rootHistory?(): Promise<RootRecord[]>;
  /** Replace the root only if its etag is still `expected` (null: only if there is none).
   *  Exactly one of several racing writers wins. */
  casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult>;

  /** The drive header (docs/format.md, "Drive header"), or null when there is no drive. */
  getHeader(): Promise<Uint8Array | null>;
  /** Write the drive header (init, passwd). */
  putHeader(bytes: Uint8Array): Promise<void>;

  usage(): Promise<StoreUsage>;
  /** Release connections and handles. */
  close(): Promise<void>;
}

const ID_RE = /^[0-9a-f]{64}$/;

/** True when `id` is a well-formed object id. Backends validate ids; they never join
 *  an unvalidated id into a path or URL. */
export function isObjectId(id: string): boolean {
  return ID_RE.test(id);
}
