// Store SPECs -> Store objects. A directory is an FsStore; http(s):// a `megafs serve`
// account (needs the user and the auth secret derived from the password); s3:// through
// src/store/spec.ts. Several SPECs become one ReplicatedStore.
import { MegafsError, UsageError } from '../errors.js';
import type { KdfParams } from '../format/header.js';
import { FsStore } from '../store/fs.js';
import { HttpStore } from '../store/http.js';
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
  switch (specKind(spec)) {
    case 'dir':
      return FsStore.open(spec);
    case 'http':
      if (!creds.user || !creds.authSecret) throw new UsageError(`the store ${spec} needs a user name and password`);
      return new HttpStore({ url: spec, user: creds.user, authSecret: creds.authSecret });
    case 's3': {
      const mod = (await import(/* the s3 SPEC parser */ '../store/spec.js' as string).catch(() => null)) as
        { openStore?: (spec: string, opts: object) => Promise<Store> } | null;
      if (!mod?.openStore) throw new MegafsError('E_USAGE', 's3:// stores are not supported by this build');
      return mod.openStore(spec, creds);
    }
  }
}

/** Several stores behave as one: writes reach all, reads take the first good copy. */
export function combineStores(stores: Store[], rootVersion: RootVersionFn, log: (line: string) => void): Store {
  if (stores.length === 1) return stores[0];
  return new ReplicatedStore(stores, {
    rootVersion,
    onBackgroundError: (what, err) => log(`store: ${what}: ${(err as Error)?.message ?? String(err)}`),
  });
}
