// Each store's health for `megafs status`: a cheap read (the header) under a deadline.
import type { Store } from '../store/store.js';

export interface Health {
  name: string;
  ok: boolean;
  error?: string;
}

const DEADLINE_MS = 5000;

export async function storeHealth(stores: Store[]): Promise<Health[]> {
  return Promise.all(stores.map(async (s) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, fail) => { timer = setTimeout(() => fail(new Error(`no answer within ${DEADLINE_MS / 1000} s`)), DEADLINE_MS); });
    try {
      await Promise.race([s.getHeader(), deadline]);
      return { name: s.name, ok: true };
    } catch (e) {
      return { name: s.name, ok: false, error: (e as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }));
}
