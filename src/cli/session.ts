// What commands that work without a mount share: the configuration, the password, the
// unlocked drive, and the vfs opened in this process (closed, with its uploads done, at
// the end).
import { homePaths, loadConfig, type DriveConfig, type HomePaths } from '../drive/config.js';
import { unlockDrive, unlockDriveWithRecoveryKey, type Drive } from '../drive/open.js';
import { getPassword } from '../drive/password.js';
import { openDriveVfs } from '../drive/vfs.js';
import { MegafsError } from '../errors.js';
import type { Vfs } from '../vfs/types.js';

export const log = (line: string): void => { process.stderr.write(`${line}\n`); };

export async function requireConfig(paths: HomePaths): Promise<DriveConfig> {
  const cfg = await loadConfig(paths);
  if (!cfg) throw new MegafsError('E_NO_DRIVE', `no drive on this machine (${paths.home}): run megafs init, megafs login or megafs mount`);
  return cfg;
}

/** How to unlock: a password file (or MEGAFS_PASSWORD, or a prompt), or a recovery key. */
export type Unlock = string | undefined | { passwordFile?: string; recoveryKey?: string };

export async function withDrive<T>(unlock: Unlock, work: (d: Drive, cfg: DriveConfig, paths: HomePaths) => Promise<T>): Promise<T> {
  const paths = homePaths();
  const cfg = await requireConfig(paths);
  const how = typeof unlock === 'object' ? unlock : { passwordFile: unlock };
  const drive = how.recoveryKey !== undefined
    ? await unlockDriveWithRecoveryKey(cfg, how.recoveryKey, { log, paths })
    : await unlockDrive(cfg, await getPassword({ passwordFile: how.passwordFile }), { log, paths });
  try {
    return await work(drive, cfg, paths);
  } finally {
    await drive.close();
  }
}

export async function withVfs<T>(passwordFile: string | undefined, work: (vfs: Vfs) => Promise<T>): Promise<T> {
  return withDrive(passwordFile, async (drive, cfg, paths) => {
    const vfs = await openDriveVfs(drive, cfg, paths, { role: 'cli', log });
    let ok = false;
    try {
      const r = await work(vfs);
      ok = true;
      return r;
    } finally {
      // close() uploads what is pending; its failure matters only if the work succeeded.
      const closing = vfs.close();
      if (ok) await closing;
      else await closing.catch(() => {});
    }
  });
}
