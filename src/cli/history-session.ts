// What the history commands share (log, versions, ls --at, get --at, du): the unlocked
// drive read through this machine's cache, its current root and versions, and --at TIME
// turned into the version that stood then. Nothing here writes the root.
import { join } from 'node:path';
import { cacheFirstFetch, driveTreeIo, readNow, versionAt, type DriveNow, type Fetch } from '../drive/history.js';
import type { Drive } from '../drive/open.js';
import type { DriveConfig, HomePaths } from '../drive/config.js';
import { MegafsError } from '../errors.js';
import type { VersionRecord } from '../format/drive-object.js';
import type { TreeIo } from '../vfs/tree-io.js';
import { withDrive } from './session.js';
import { formatAgo, formatInstant, parseInstant } from './when.js';

export interface History {
  drive: Drive;
  cfg: DriveConfig;
  paths: HomePaths;
  io: TreeIo;
  /** Cache first, then the store. */
  fetch: Fetch;
  /** The store only (a cached copy that fails its check is read again from here). */
  storeFetch: Fetch;
  now: DriveNow;
}

export async function withHistory<T>(passwordFile: string | undefined, work: (h: History) => Promise<T>): Promise<T> {
  return withDrive(passwordFile, async (drive, cfg, paths) => {
    const fetch = cacheFirstFetch(drive.store, join(paths.cache, drive.header.driveId));
    const io = driveTreeIo(drive, fetch);
    const now = await readNow(drive, io);
    if (!now) throw new MegafsError('E_NOT_FOUND', 'the drive has no versions yet: nothing was ever written to it');
    return work({ drive, cfg, paths, io, fetch, storeFetch: (id) => drive.store.get(id), now });
  });
}

/** The version that stood at `text` (parseInstant's forms); one line and exit 1 when the
 *  drive has none that old. */
export function versionAtText(versions: VersionRecord[], text: string, nowMs = Date.now()): VersionRecord {
  const atMs = parseInstant(text, nowMs);
  const v = versionAt(versions, atMs);
  if (!v) {
    const oldest = versions[versions.length - 1];
    throw new MegafsError('E_NOT_FOUND', `no version of the drive at ${formatInstant(atMs)}: the oldest it keeps is from ${formatInstant(oldest.timeMs)}`);
  }
  return v;
}

/** `log` and `versions` print the same way: --json one array of the rows; else a line a
 *  row: the root version (aligned), the time, how long ago, then `rest`. */
export function writeVersionRows<R extends { version: number; time: string; timeMs: number }>(rows: R[], json: boolean, rest: (r: R) => string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  const now = Date.now();
  const width = Math.max(...rows.map((r) => String(r.version).length));
  for (const r of rows) process.stdout.write(`${String(r.version).padStart(width)}  ${r.time}  ${formatAgo(r.timeMs, now).padEnd(12)}  ${rest(r)}\n`);
}
