// Store SPECs -> Store objects. A directory is an FsStore, attached to the drive by the
// header it holds (never created outside init); http(s):// a `megafs serve` account
// (needs the user and the auth secret derived from the password), s3:// a bucket, opened
// on first use so that a known drive starts while S3 is down (src/store/spec.ts opens
// each). Several SPECs become one ReplicatedStore.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { KdfParams } from '../format/header.js';
import type { HeaderCheck } from '../store/fs.js';
import { HEADER_FILE } from '../store/fs-presence.js';
import { openStore as openSpec } from '../store/spec.js';
import { fetchKdfParams } from '../store/http-account.js';
import { ReplicatedStore, type RootVersionFn } from '../store/replicate.js';
import type { Store } from '../store/store.js';
import { LateStore } from './late-store.js';

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
  /** Open the stores of an existing drive: a directory must hold a header this accepts
   *  (else it is unavailable), nothing is created. Unset: init, which creates them. */
  belongs?: HeaderCheck;
}

/** The KDF parameters of the http account (the first http SPEC), or null when none. */
export async function accountKdf(specs: string[], user: string | undefined): Promise<KdfParams | null> {
  const url = specs.find((s) => specKind(s) === 'http');
  if (!url) return null;
  if (!user) throw new UsageError(`the store ${url} needs a user name: pass --user NAME`);
  return fetchKdfParams(url, user);
}

export async function openStore(spec: string, creds: Credentials): Promise<Store> {
  const kind = specKind(spec); // a one-line error for an unknown scheme
  if (!creds.belongs) return openSpec(spec, { ...creds, create: true });
  if (kind === 's3') return new LateStore(spec, () => openSpec(spec, creds));
  return openSpec(spec, creds);
}

/** A directory store's header, read without creating anything; null when absent. */
export async function probeDirHeader(dir: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await readFile(join(dir, HEADER_FILE)));
  } catch {
    return null;
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
