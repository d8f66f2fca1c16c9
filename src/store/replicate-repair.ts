// The object half of ReplicatedStore.repair() (megafs fsck --repair): list every store,
// and give every store every object some store holds, replacing copies known to be bad
// (a failed push, wrong bytes; with `verify`, every copy is read and checked first).
// catchUpObjects: the same for one store that is behind, before its root moves on.
import { bodyMatches } from './body-hash.js';
import type { ObjectId, Store } from './store.js';

export interface RepairReport {
  /** Copies written to a store that lacked them or held them wrong. */
  copied: number;
  /** Copies that could not be written (no good source, or the store refused). */
  failed: number;
}

export interface RepairOps {
  /** A verified read from whichever store has a good copy. */
  get(id: ObjectId): Promise<Uint8Array>;
  /** Put on store i; `replace` deletes a bad copy first. Clears `missing` on success. */
  pushTo(i: number, id: ObjectId, bytes: Uint8Array, replace: boolean): Promise<void>;
  onError(what: string, e: unknown): void;
}

export async function repairObjects(
  stores: readonly Store[],
  missing: Array<Set<ObjectId>>,
  ops: RepairOps,
  verify: boolean,
): Promise<RepairReport> {
  const held = await Promise.all(stores.map(async (s) => {
    const ids = new Set<ObjectId>();
    for await (const id of s.list()) ids.add(id);
    return ids;
  }));
  const all = new Set(held.flatMap((h) => [...h]));
  if (verify) {
    for (const id of all) {
      await Promise.all(stores.map(async (s, i) => {
        if (!held[i].has(id)) return;
        const ok = await s.get(id).then((b) => bodyMatches(b, id), () => false);
        if (!ok) missing[i].add(id);
      }));
    }
  }
  const report: RepairReport = { copied: 0, failed: 0 };
  for (const id of all) {
    const lacking = held.flatMap((h, i) => (h.has(id) && !missing[i].has(id) ? [] : [i]));
    if (!lacking.length) continue;
    let bytes: Uint8Array;
    try {
      bytes = await ops.get(id);
    } catch (e) {
      report.failed += lacking.length;
      ops.onError(`repair ${id}`, e);
      continue;
    }
    for (const i of lacking) {
      try {
        // Known-bad there (a failed push, wrong bytes): replace rather than skip.
        await ops.pushTo(i, id, bytes, missing[i].has(id));
        report.copied++;
      } catch (e) {
        report.failed++;
        ops.onError(`repair ${id} on ${stores[i].name}`, e);
      }
    }
  }
  return report;
}

/** Bring store `target` up to the others (a disk plugged back in, a store that was down
 *  while writes went on with a smaller quorum): every object another store holds and
 *  `target` lacks is copied to it. Stores that do not answer are skipped as sources; a
 *  target that does not answer fails the catch-up (retried at the next root read). */
export async function catchUpObjects(stores: readonly Store[], target: number, ops: RepairOps): Promise<RepairReport> {
  const held = new Set<ObjectId>();
  for await (const id of stores[target].list()) held.add(id);
  const report: RepairReport = { copied: 0, failed: 0 };
  for (let i = 0; i < stores.length; i++) {
    if (i === target) continue;
    try {
      for await (const id of stores[i].list()) {
        if (held.has(id)) continue;
        held.add(id);
        try {
          await ops.pushTo(target, id, await ops.get(id), false);
          report.copied++;
        } catch (e) {
          report.failed++;
          ops.onError(`catch up ${id} on ${stores[target].name}`, e);
        }
      }
    } catch (e) {
      ops.onError(`catch up ${stores[target].name}: listing ${stores[i].name}`, e);
    }
  }
  return report;
}
