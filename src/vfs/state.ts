// What this machine remembers between runs (stateDir/state.json): the last root it saw
// on the store (version, hash: rollback detection) and the first journal file not yet
// covered by a committed root. Written atomically (temp file + rename).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LocalState {
  /** Decimal string of the root version (a u64). */
  seenVersion: string | null;
  seenHash: string | null;
  journalFrom: number;
  /** The last root seen, sealed (base64), and its store etag: lets a start work offline. */
  rootBytes?: string;
  rootEtag?: string;
  /** Set just before a compare-and-swap: if the store's root turns out to be this one,
   *  the swap landed and journal files before pendingJournalFrom are covered. */
  pendingHash?: string;
  pendingVersion?: string;
  pendingJournalFrom?: number;
}

export async function loadState(stateDir: string): Promise<LocalState> {
  try {
    return JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as LocalState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { seenVersion: null, seenHash: null, journalFrom: 0 };
    throw e;
  }
}

export async function saveState(stateDir: string, s: LocalState): Promise<void> {
  const tmp = join(stateDir, `state.json.tmp${process.pid}`);
  await writeFile(tmp, JSON.stringify(s));
  await rename(tmp, join(stateDir, 'state.json'));
}
