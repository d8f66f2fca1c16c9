// Store SPECs -> Store objects. A directory is an FsStore; http(s):// a `megafs serve`
// account (needs the user and the auth secret derived from the password), s3:// a bucket
// (src/store/spec.ts opens each). Several SPECs become one ReplicatedStore.
import { UsageError } from '../errors.js';
import type { KdfParams } from '../format/header.js';
import { openStore as openSpec } from '../store/spec.js';
import { fetchKdfParams } from '../store/http-account.js';
import { ReplicatedStore, type RootVersionFn } from '../store/replicate.js';
import type { Store } from '../store/store.js';

export type SpecKind = 'dir' | 'http' | 's3';

export function specKind(spec: string): SpecKind {
  if (/^https?:\/\//i.test(spec)) return 'http';
  if (/^s3:\/\//i.test(spec)) return 's3';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new UsageError(`unknown store '${spec}': use a directory, http(s)://HOST:PORT or s3://BUCKET/PREFIX?endpoint=URL`);
  return 'dir';
}

export interface Credentials {
  user?: string;
  /** From the password and the account's KDF parameters (http stores only). */
  authSecret?: Uint8Array;
}

/** The KDF parameters of the http account (the first http SPEC), or null when none. */
export async function accountKdf(specs: string[], user: string | undefined): Promise<KdfParams | null> {
  const url = specs.find((s) => specKind(s) === 'http');
  if (!url) return null;
  if (!user) throw new UsageError(`the store ${url} needs a user name: pass --user NAME`);
  return fetchKdfParams(url, user);
}

export async function openStore(spec: string, creds: Credentials): Promise<Store> {
  specKind(spec); // a one-line error for an unknown scheme
  return openSpec(spec, { ...creds, create: true });
}

/** Several stores behave as one: writes reach all, reads take the first good copy. */
export function combineStores(stores: Store[], rootVersion: RootVersionFn, log: (line: string) => void): Store {
  if (stores.length === 1) return stores[0];
  return new ReplicatedStore(stores, {
    rootVersion,
    onBackgroundError: (what, err) => log(`store: ${what}: ${(err as Error)?.message ?? String(err)}`),
  });
}
