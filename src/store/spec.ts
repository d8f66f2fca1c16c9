// openStore: a store SPEC string (what `--store` takes) to a Store. A directory path is
// the local FsStore (attached when `belongs` is given: never created, see fs-presence.ts), http(s)://HOST:PORT a `megafs serve` account (HttpStore), and
// s3://BUCKET/PREFIX?endpoint=URL&region=R an S3 bucket (credentials from AWS_* env).
// openStores: several specs at once, replicated (`--store A --store B`).
import { StoreError } from '../errors.js';
import { FsStore, type HeaderCheck } from './fs.js';
import { HttpStore } from './http.js';
import { LimitStore } from './limit.js';
import { ReplicatedStore, type RootVersionFn } from './replicate.js';
import { S3Store, parseS3Spec } from './s3.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** For http(s): the account name and the authentication secret derived from the password. */
  user?: string;
  authSecret?: Uint8Array;
  /** For http(s): extra CA certificates (PEM) to trust. */
  ca?: string | Buffer;
  /** Create what is missing (the S3 bucket) - init and tests. */
  create?: boolean;
  /** For a directory: open it as a drive's store that holds a header this accepts
   *  (FsStore.attach: a missing or foreign directory is unavailable, never created). */
  belongs?: HeaderCheck;
  /** Environment for S3 credentials (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Object requests in flight per remote store (default 16; 0 = unlimited). */
  concurrency?: number;
}

export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const limit = (s: Store): Store => (opts.concurrency === 0 ? s : new LimitStore(s, opts.concurrency ?? 16));
  if (/^s3:\/\//i.test(spec)) {
    return limit(await S3Store.open({ ...parseS3Spec(spec, opts.env ?? process.env), create: opts.create }));
  }
  if (/^https?:\/\//i.test(spec)) {
    if (!opts.user || !opts.authSecret) throw new StoreError('E_AUTH', `store ${spec} needs a user and the password`);
    return limit(new HttpStore({ url: spec, user: opts.user, authSecret: opts.authSecret, ...(opts.ca ? { ca: opts.ca } : {}) }));
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new StoreError('E_USAGE', `unknown store scheme: ${spec}`);
  return opts.belongs ? FsStore.attach(spec, opts.belongs) : FsStore.open(spec);
}

/** One store, or several replicated with `writeQuorum` (default: all). */
export async function openStores(
  specs: readonly string[],
  opts: OpenStoreOptions & { rootVersion: RootVersionFn; writeQuorum?: number },
): Promise<Store> {
  if (specs.length === 0) throw new StoreError('E_USAGE', 'no store given');
  const stores: Store[] = [];
  try {
    for (const spec of specs) stores.push(await openStore(spec, opts));
  } catch (e) {
    await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
    throw e;
  }
  if (stores.length === 1) return stores[0];
  return new ReplicatedStore(stores, { rootVersion: opts.rootVersion, writeQuorum: opts.writeQuorum });
}
