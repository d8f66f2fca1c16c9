// megafs unmount MOUNTPOINT: ask the daemon to upload what is pending and unmount; a
// stale mount (its daemon died) is cleared with fusermount -uz; a live mount that no
// daemon of this MEGAFS_HOME serves is left alone.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { homePaths } from '../drive/config.js';
import { askDaemon, socketPath } from '../drive/control.js';
import { forceUnmount, isMounted } from '../fuse/mount.js';
import { MegafsError } from '../errors.js';
import { parse } from './args.js';

const USAGE = 'megafs unmount MOUNTPOINT';

export async function run(argv: string[]): Promise<number> {
  const { positionals } = parse(argv, USAGE, {}, 1, 1);
  const mountpoint = resolve(positionals[0]);
  const paths = homePaths();
  const reply = await askDaemon(socketPath(paths, mountpoint), { cmd: 'unmount' });
  if (reply) {
    if (!reply.ok) throw new MegafsError('E_MOUNT', `unmount of ${mountpoint} failed: ${reply.message}`);
    process.stdout.write(`megafs: unmounted ${mountpoint}\n`);
    return 0;
  }
  if (!(await isMounted(mountpoint))) throw new MegafsError('E_MOUNT', `nothing is mounted on ${mountpoint}`);
  const stale = await stat(mountpoint).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ENOTCONN');
  if (!stale) {
    // Alive but not ours: another MEGAFS_HOME's daemon, or another program. Pulling it
    // away lazily could cut that daemon's uploads short.
    throw new MegafsError('E_MOUNT', `${mountpoint} is mounted, but no megafs daemon of ${paths.home} serves it (another MEGAFS_HOME?)`);
  }
  process.stderr.write(`megafs: ${mountpoint} is a stale mount (its daemon died); clearing it\n`);
  await forceUnmount(mountpoint);
  return 0;
}
