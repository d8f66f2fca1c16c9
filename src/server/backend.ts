// Where the server keeps each account's objects: the seam between the HTTP API and the
// storage. Default: a directory per account, DIR/accounts/<account-id>/objects/ab/cd/<id>
// (FsObjects' layout, written by fs-backend.ts). With `--s3 URL`, any Store (an S3Store whose
// prefix is the account id) through storeBackend().
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { fsBackend } from './fs-backend.js';
import { parseS3Spec, S3Store } from '../store/s3.js';
import type { ByteRange, ObjectId, ObjectInfo, Store } from '../store/store.js';

export interface ObjectBackend {
  /** Store a body whose SHA-256 the server has checked against `id`; true when this call
   *  created the object, false when it was already there. `body` may come in chunks. */
  putChecked(id: ObjectId, body: Uint8Array | Uint8Array[]): Promise<boolean>;
  /** E_NOT_FOUND when absent. */
  get(id: ObjectId, range?: ByteRange): Promise<Uint8Array>;
  /** Size in bytes, or null when absent. */
  size(id: ObjectId): Promise<number | null>;
  /** Mark an object that exists as put now (its mtime, what a scan reports); false when
   *  it is absent (the caller then stores it). `body` is its bytes, checked: a backend
   *  that cannot set a time writes them again (S3: a PUT refreshes LastModified). */
  refresh(id: ObjectId, body: Uint8Array | Uint8Array[]): Promise<boolean>;
  /** Returns the freed size, or null when absent. */
  delete(id: ObjectId): Promise<number | null>;
  /** Up to `limit` ids greater than `after`, ascending. */
  listPage(after: ObjectId | null, limit: number): Promise<ObjectId[]>;
  /** The same page with sizes and mtimes; `next`: the `after` of the next page, or null. */
  scanPage(after: ObjectId | null, limit: number): Promise<ScanPage>;
  /** The whole object in one buffer, or null when absent: the GET fast path (one request
   *  to the backend instead of size() then get()). Call `done` once the bytes are sent:
   *  the buffer may be reused (fresh memory costs a page fault per 4 KiB). */
  readWhole(id: ObjectId): Promise<WholeObject | null>;
}

export interface ScanPage {
  objects: ObjectInfo[];
  next: ObjectId | null;
}

export interface WholeObject {
  body: Buffer;
  done?: () => void;
}

/** Opens (and caches) the backend of one account, by account id (32 hex chars). */
export type BackendFactory = (accountId: string) => Promise<ObjectBackend>;

export function fsBackends(dataDir: string): BackendFactory {
  const open = new Map<string, Promise<ObjectBackend>>();
  return (accountId) => {
    if (!/^[0-9a-f]{32}$/.test(accountId)) throw new Error('BUG: bad account id');
    let p = open.get(accountId);
    if (!p) {
      p = fsBackend(join(dataDir, 'accounts', accountId));
      p.catch(() => open.delete(accountId));
      open.set(accountId, p);
    }
    return p;
  };
}

/** A store that scans in ascending id order from a point (S3Store: ListObjectsV2
 *  start-after), so a page costs one listing from there instead of the whole list. */
interface OrderedStore extends Store {
  scanFrom(after: ObjectId | null): AsyncIterable<ObjectInfo>;
}

/** A store that tells an object's size without reading it (S3Store: HEAD). */
interface SizingStore extends Store {
  sizeOf(id: ObjectId): Promise<number | null>;
}

const isOrdered = (s: Store): s is OrderedStore => typeof (s as Partial<OrderedStore>).scanFrom === 'function';
const isSizing = (s: Store): s is SizingStore => typeof (s as Partial<SizingStore>).sizeOf === 'function';

/** Up to `limit` entries of `store` with ids greater than `after`, ascending. */
async function storePage(store: Store, after: ObjectId | null, limit: number): Promise<ScanPage> {
  let objects: ObjectInfo[] = [];
  if (isOrdered(store)) {
    for await (const o of store.scanFrom(after)) {
      objects.push(o);
      if (objects.length === limit) break;
    }
  } else {
    for await (const o of store.scan()) if (after === null || o.id > after) objects.push(o);
    objects = objects.sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, limit);
  }
  return { objects, next: objects.length === limit ? objects[limit - 1].id : null };
}

/** Any Store as an account backend (the S3 seam). Puts and deletes of one id are
 *  serialized by the API (api-objects.ts), which keeps the has-then-put and
 *  size-then-delete steps here, and so usage, exact. */
export function storeBackend(store: Store): ObjectBackend {
  return {
    async putChecked(id, body) {
      if (await store.has(id)) return false;
      await store.put(id, Array.isArray(body) ? Buffer.concat(body) : body);
      return true;
    },
    async refresh(id, body) {
      if (!(await store.has(id))) return false;
      await store.put(id, Array.isArray(body) ? Buffer.concat(body) : body);
      return true;
    },
    get: (id, range) => store.get(id, range),
    async size(id) {
      if (isSizing(store)) return store.sizeOf(id);
      if (!(await store.has(id))) return null;
      return (await store.get(id)).length;
    },
    async delete(id) {
      const size = await this.size(id);
      if (size === null) return null;
      await store.delete(id);
      return size;
    },
    async listPage(after, limit) {
      return (await storePage(store, after, limit)).objects.map((o) => o.id);
    },
    scanPage: (after, limit) => storePage(store, after, limit),
    async readWhole(id) {
      try {
        const bytes = await store.get(id);
        return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) };
      } catch (e) {
        if (e instanceof StoreError && e.code === 'E_NOT_FOUND') return null;
        throw e;
      }
    },
  };
}

/** Backends from a Store per account, e.g. `(id) => S3Store.open(`${url}/${id}`)`. */
export function storeBackends(openStore: (accountId: string) => Promise<Store>): BackendFactory {
  const open = new Map<string, Promise<ObjectBackend>>();
  return (accountId) => {
    let p = open.get(accountId);
    if (!p) {
      p = openStore(accountId).then(storeBackend);
      p.catch(() => open.delete(accountId));
      open.set(accountId, p);
    }
    return p;
  };
}

/** `--s3 s3://BUCKET/PREFIX?endpoint=URL&region=R`: each account's objects under
 *  PREFIX/<account-id>/ in one bucket (credentials from the AWS environment variables). */
export function s3Backends(spec: string): BackendFactory {
  const base = parseS3Spec(spec);
  return storeBackends((accountId) =>
    S3Store.open({ ...base, prefix: base.prefix ? `${base.prefix}/${accountId}` : accountId }),
  );
}
