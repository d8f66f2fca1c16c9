// What this machine knows about its drive, under MEGAFS_HOME (default ~/.megafs):
//   config.json   which stores (SPECs), the user name on `megafs serve`, this device's id,
//                 the drive's id once opened here
//   store/        the embedded default store (a local directory store)
//   cache/        disk cache of ciphertext chunks
//   state/<drive id>/  drive.json (copy of the header), seen/ (highest root seen here),
//                 daemon/ and cli/ (each one's vfs journal and state)
//   run/          control sockets of running daemons; log/ daemon logs
// Nothing here is secret: no password, key or plaintext is ever written.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { MegafsError } from '../errors.js';

export interface DriveConfig {
  /** Store SPECs: a directory, http(s)://HOST:PORT, or s3://BUCKET/PREFIX?endpoint=URL. */
  stores: string[];
  /** Account name on `megafs serve` stores. */
  user?: string;
  /** Random id of this machine (16 bytes hex), for the vfs journal and logs. */
  deviceId: string;
  /** The drive these stores hold, once this machine has opened it (its local copy of the
   *  header is MEGAFS_HOME/state/<driveId>/drive.json: local-drive.ts). */
  driveId?: string;
}

export interface HomePaths {
  home: string;
  config: string;
  defaultStore: string;
  cache: string;
  state: string;
  run: string;
  log: string;
}

export function homePaths(home = process.env.MEGAFS_HOME || join(homedir(), '.megafs')): HomePaths {
  const abs = resolve(home);
  return {
    home: abs, config: join(abs, 'config.json'), defaultStore: join(abs, 'store'), cache: join(abs, 'cache'),
    state: join(abs, 'state'), run: join(abs, 'run'), log: join(abs, 'log'),
  };
}

/** The configuration, or null when this machine has none yet. */
export async function loadConfig(p: HomePaths): Promise<DriveConfig | null> {
  let text: string;
  try {
    text = await readFile(p.config, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const c = JSON.parse(text) as DriveConfig;
    if (!Array.isArray(c.stores) || typeof c.deviceId !== 'string') throw new Error('missing fields');
    return c;
  } catch (cause) {
    throw new MegafsError('E_FORMAT', `${p.config} is not a valid megafs configuration`, { cause });
  }
}

export async function saveConfig(p: HomePaths, c: DriveConfig): Promise<void> {
  await mkdir(p.home, { recursive: true, mode: 0o700 });
  const tmp = `${p.config}.tmp${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, p.config);
}

export function newConfig(stores: string[], user?: string): DriveConfig {
  return { stores, ...(user ? { user } : {}), deviceId: randomBytes(16).toString('hex') };
}
