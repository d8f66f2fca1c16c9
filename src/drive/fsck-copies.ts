// Where an object of the drive is (megafs fsck): on which configured store and in this
// machine's disk cache, and whether each copy is intact (its SHA-256 is its id). Every
// store is listed once; each copy a store lists is read and hashed, and so is the cache's
// copy when there is one. The first intact copy is what the walk opens and what --repair
// puts back on the stores that miss it or hold it wrong (docs/design.md "When objects
// are missing").
import { readFile, rm } from 'node:fs/promises';
import { isMegafsError } from '../errors.js';
import { bodyMatches } from '../store/body-hash.js';
import type { ObjectId, Store } from '../store/store.js';
import { cachedObjectPath } from '../vfs/disk-cache.js';

/** One copy: intact, absent, there with wrong bytes, or on a store that did not answer. */
export type CopyState = 'ok' | 'missing' | 'corrupt' | 'unavailable';

export interface Copies {
  id: ObjectId;
  /** Per configured store, in the configuration's order. */
  stores: CopyState[];
  /** This machine's disk cache ('unavailable' is not used here). */
  cache: Exclude<CopyState, 'unavailable'>;
}

export interface Located {
  copies: Copies;
  /** The first intact copy (a store's, else the cache's), or null when none is. */
  bytes: Uint8Array | null;
}

export interface StoreListing {
  name: string;
  /** Objects listed, or null when the store did not answer. */
  objects: number | null;
  error?: string;
}

export interface CopyRepair {
  /** Stores (by index) that now hold an intact copy put there by this repair. */
  copiedTo: number[];
  /** Stores whose put failed, with the error. */
  failed: { store: number; error: string }[];
  /** A corrupt cache copy was deleted (the next read fetches the store's). */
  cacheCleared: boolean;
}

function stateOfError(e: unknown): CopyState {
  if (isMegafsError(e, 'E_NOT_FOUND')) return 'missing';
  if (isMegafsError(e, 'E_HASH_MISMATCH') || isMegafsError(e, 'E_INTEGRITY')) return 'corrupt';
  return 'unavailable';
}

export class ObjectCopies {
  private constructor(
    readonly stores: readonly Store[],
    private readonly cacheDir: string,
    private readonly listed: Array<Set<ObjectId> | Error>,
  ) {}

  /** List every store once (a store that does not answer is 'unavailable' throughout). */
  static async open(stores: readonly Store[], cacheDir: string): Promise<ObjectCopies> {
    const listed = await Promise.all(stores.map(async (s) => {
      try {
        const ids = new Set<ObjectId>();
        for await (const id of s.list()) ids.add(id);
        return ids;
      } catch (e) {
        return e instanceof Error ? e : new Error(String(e));
      }
    }));
    return new ObjectCopies(stores, cacheDir, listed);
  }

  listings(): StoreListing[] {
    return this.stores.map((s, i) => {
      const l = this.listed[i];
      return l instanceof Error ? { name: s.name, objects: null, error: l.message } : { name: s.name, objects: l.size };
    });
  }

  /** Every copy of `id`, read and hashed. */
  async locate(id: ObjectId): Promise<Located> {
    let bytes: Uint8Array | null = null;
    const stores = await Promise.all(this.stores.map(async (s, i): Promise<CopyState> => {
      const l = this.listed[i];
      if (l instanceof Error) return 'unavailable';
      if (!l.has(id)) return 'missing';
      try {
        const b = await s.get(id);
        if (!(await bodyMatches(b, id))) return 'corrupt';
        bytes ??= b;
        return 'ok';
      } catch (e) {
        return stateOfError(e);
      }
    }));
    let cache: Copies['cache'] = 'missing';
    try {
      const b = new Uint8Array(await readFile(cachedObjectPath(this.cacheDir, id)));
      if (await bodyMatches(b, id)) {
        cache = 'ok';
        bytes ??= b;
      } else cache = 'corrupt';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') cache = 'corrupt';
    }
    return { copies: { id, stores, cache }, bytes };
  }

  /** Put the intact `bytes` of `c.id` on every store that misses it or holds it wrong (a
   *  wrong copy is deleted first: a put of an existing id is a no-op), and delete a wrong
   *  cache copy. `c` is updated to what now holds. */
  async repair(c: Copies, bytes: Uint8Array): Promise<CopyRepair> {
    const out: CopyRepair = { copiedTo: [], failed: [], cacheCleared: false };
    for (let i = 0; i < this.stores.length; i++) {
      const state = c.stores[i];
      if (state !== 'missing' && state !== 'corrupt') continue;
      try {
        if (state === 'corrupt') await this.stores[i].delete(c.id);
        await this.stores[i].put(c.id, bytes);
        c.stores[i] = 'ok';
        const l = this.listed[i];
        if (!(l instanceof Error)) l.add(c.id);
        out.copiedTo.push(i);
      } catch (e) {
        out.failed.push({ store: i, error: (e as Error).message });
      }
    }
    if (c.cache === 'corrupt') {
      await rm(cachedObjectPath(this.cacheDir, c.id), { force: true });
      c.cache = 'missing';
      out.cacheCleared = true;
    }
    return out;
  }
}

/** Something is wrong with this object's copies (an unavailable store is not damage: it
 *  could not be checked). */
export function isDamaged(c: Copies): boolean {
  return c.stores.some((s) => s === 'missing' || s === 'corrupt') || c.cache === 'corrupt';
}
