// What this machine keeps to open its drive while every store is down: a copy of the
// drive header (KDF parameters, the wrapped master key: nothing opens without the
// password) and, for a `megafs serve` account, the account's KDF parameters (the auth
// secret is stretched from the password with them). MEGAFS_HOME/state/<drive id>/drive.json,
// written after every successful unlock. The copy is used only for the stores it was
// saved with: `--store` naming other stores opens whatever they hold, online.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromBase64, toBase64 } from '../format/bytes.js';
import { validateKdfParams, type KdfParams } from '../format/header.js';
import type { DriveConfig, HomePaths } from './config.js';

export interface LocalDrive {
  driveId: string;
  /** The drive header's bytes, as the stores hold them. */
  header: Uint8Array;
  /** KDF parameters of the `megafs serve` account (http stores only). */
  accountKdf?: KdfParams;
}

interface FileBody {
  stores: string[];
  user?: string;
  header: string;
  accountKdf?: KdfParams;
}

export function driveStateDir(paths: HomePaths, driveId: string): string {
  return join(paths.state, driveId);
}

const fileOf = (paths: HomePaths, driveId: string): string => join(driveStateDir(paths, driveId), 'drive.json');

const sameStores = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((s, i) => s === b[i]);

/** The local copy for `cfg` (its drive id, the same stores and user), or null. */
export async function loadLocalDrive(paths: HomePaths, cfg: DriveConfig): Promise<LocalDrive | null> {
  if (!cfg.driveId || !/^[0-9a-f]{32}$/.test(cfg.driveId)) return null;
  let body: FileBody;
  try {
    body = JSON.parse(await readFile(fileOf(paths, cfg.driveId), 'utf8')) as FileBody;
  } catch {
    return null; // none yet, or unreadable: the stores must answer
  }
  if (!Array.isArray(body.stores) || !sameStores(body.stores, cfg.stores) || body.user !== cfg.user || typeof body.header !== 'string') return null;
  if (body.accountKdf !== undefined) validateKdfParams(body.accountKdf);
  return { driveId: cfg.driveId, header: fromBase64(body.header), ...(body.accountKdf ? { accountKdf: body.accountKdf } : {}) };
}

export async function saveLocalDrive(paths: HomePaths, cfg: DriveConfig, d: LocalDrive): Promise<void> {
  const dir = driveStateDir(paths, d.driveId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const body: FileBody = {
    stores: cfg.stores, ...(cfg.user ? { user: cfg.user } : {}), header: toBase64(d.header), ...(d.accountKdf ? { accountKdf: d.accountKdf } : {}),
  };
  const tmp = `${fileOf(paths, d.driveId)}.tmp${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
  await rename(tmp, fileOf(paths, d.driveId));
}
