// Where the server keeps each account's objects: the seam between the HTTP API and the
// storage. Default: a directory per account, DIR/accounts/<account-id>/objects/ab/cd/<id>
// (FsObjects' layout, written by fs-backend.ts). With `--s3 URL`, any Store (an S3Store whose
// prefix is the account id) through storeBackend().
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { fsBackend } from './fs-backend.js';
import { parseS3Spec, S3Store } from '../store/s3.js';
import type { ByteRange, ObjectId, Store } from '../store/store.js';

export interface ObjectBackend {
  /** Store a body whose SHA-256 the server has checked against `id`; true when this call
   *  created the object, false when it was already there. `body` may come in chunks. */
  putChecked(id: ObjectId, body: Uint8Array | Uint8Array[]): Promise<boolean>;
  /** E_NOT_FOUND when absent. */
  get(id: ObjectId, range?: ByteRange): Promise<Uint8Array>;
  /** Size in bytes, or null when absent. */
  size(id: ObjectId): Promise<number | null>;
  /** Returns the freed size, or null when absent. */
  delete(id: ObjectId): Promise<number | null>;
  /** Up to `limit` ids greater than `after`, ascending. */
  listPage(after: ObjectId | null, limit: number): Promise<ObjectId[]>;
  /** The whole object in one buffer, or null when absent: the GET fast path (one request
   *  to the backend instead of size() then get()). Call `done` once the bytes are sent:
   *  the buffer may be reused (fresh memory costs a page fault per 4 KiB). */
  readWhole(id: ObjectId): Promise<WholeObject | null>;
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

/** Any Store as an account backend (the S3 seam). A Store does not report sizes, so
 *  size() reads the object; puts racing on one id may count it twice in usage. Listing
 *  pages walk the whole list (fine for the S3 store's own paginated LIST). */
export function storeBackend(store: Store): ObjectBackend {
  return {
    async putChecked(id, body) {
      if (await store.has(id)) return false;
      await store.put(id, Array.isArray(body) ? Buffer.concat(body) : body);
      return true;
    },
    get: (id, range) => store.get(id, range),
    async size(id) {
      if (!(await store.has(id))) return null;
      return (await store.get(id)).length;
    },
    async delete(id) {
      const size = await this.size(id).catch(() => null);
      await store.delete(id);
      return size;
    },
    async listPage(after, limit) {
      const ids: ObjectId[] = [];
      for await (const id of store.list()) if (after === null || id > after) ids.push(id);
      return ids.sort().slice(0, limit);
    },
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
