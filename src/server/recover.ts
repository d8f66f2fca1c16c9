// What `megafs serve` does with its data directory before it answers a request: take the
// directory's lock, remove every temp file (writes that a kill interrupted), and recount
// each account's usage from the objects it holds. Usage is counted as requests go
// (reserve, then write; delete, then release), so a kill between the two steps, or a
// power loss that drops the last NORMAL-synced counter updates, leaves it off; the
// objects on disk are the truth (docs/protocol.md "Start-up").
// Safe because nothing else writes the directory: the lock (an exclusively held SQLite
// lock on DIR/serve.lock, dropped by the kernel when the process dies) keeps a second
// server out, and no request is served until the recount is done.
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { eachLimited } from '../store/limit.js';
import { isObjectId } from '../store/store.js';
import type { AccountDb } from './accounts.js';
import { openDatabase, type Database } from './sqlite.js';

/** Directories read (and their files stat'ed) at once: a cold disk serves several together. */
const PARALLEL_DIRS = 16;

/** Hold the data directory for this process until release() (or its death). E_CONFLICT
 *  when another process holds it. */
export function lockDataDir(dataDir: string): { release(): void } {
  const path = join(dataDir, 'serve.lock');
  const db: Database = openDatabase(path);
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; EXCLUSIVE mode never gives it back.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, since_ms INTEGER)');
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('DELETE FROM holder').run();
    db.prepare('INSERT INTO holder (pid, since_ms) VALUES (?, ?)').run(process.pid, Date.now());
    db.exec('COMMIT');
  } catch (e) {
    db.close();
    if (/^SQLITE_BUSY/.test((e as { code?: string }).code ?? '')) {
      throw new StoreError('E_CONFLICT', `another megafs serve is using ${dataDir}`);
    }
    throw e;
  }
  return { release: () => db.close() };
}

export interface RecoveryReport {
  accounts: number;
  objects: number;
  tempsRemoved: number;
  /** Accounts whose stored usage differed from the count and was corrected. */
  corrected: number;
  ms: number;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Remove everything in `tmpDir`; returns how many entries went. */
async function emptyTemps(tmpDir: string): Promise<number> {
  const names = await entries(tmpDir);
  await eachLimited(names, PARALLEL_DIRS, (n) => rm(join(tmpDir, n), { force: true, recursive: true }));
  return names.length;
}

/** Bytes and count of the objects under `objectsDir` (objects/ab/cd/<id>, regular files). */
async function countObjects(objectsDir: string): Promise<{ usedBytes: number; objectCount: number }> {
  const leaves: string[] = [];
  for (const l1 of await entries(objectsDir)) {
    for (const l2 of await entries(join(objectsDir, l1))) leaves.push(join(objectsDir, l1, l2));
  }
  let usedBytes = 0;
  let objectCount = 0;
  await eachLimited(leaves, PARALLEL_DIRS, async (leaf) => {
    for (const name of await entries(leaf)) {
      if (!isObjectId(name)) continue;
      const st = await lstat(join(leaf, name)).catch(() => null);
      if (!st?.isFile()) continue;
      usedBytes += st.size;
      objectCount++;
    }
  });
  return { usedBytes, objectCount };
}

/** Clean temps and recount usage of every account in `db` whose objects live under
 *  DIR/accounts/<id> (the directory backend). Call before serving. */
export async function recoverAccounts(dataDir: string, db: AccountDb): Promise<RecoveryReport> {
  const t0 = performance.now();
  const report: RecoveryReport = { accounts: 0, objects: 0, tempsRemoved: 0, corrected: 0, ms: 0 };
  for (const id of db.ids()) {
    const dir = join(dataDir, 'accounts', id);
    report.tempsRemoved += await emptyTemps(join(dir, 'tmp'));
    const counted = await countObjects(join(dir, 'objects'));
    const stored = db.usage(id);
    if (stored.usedBytes !== counted.usedBytes || stored.objectCount !== counted.objectCount) {
      db.setUsage(id, counted.usedBytes, counted.objectCount);
      report.corrected++;
    }
    report.accounts++;
    report.objects += counted.objectCount;
  }
  report.ms = Math.round(performance.now() - t0);
  return report;
}
