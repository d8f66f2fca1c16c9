// megafs unmount MOUNTPOINT: ask the daemon to upload what is pending and unmount; a
// stale mount (its daemon died) is cleared with fusermount -uz.
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
  const reply = await askDaemon(socketPath(homePaths(), mountpoint), { cmd: 'unmount' });
  if (reply) {
    if (!reply.ok) throw new MegafsError('E_MOUNT', `unmount of ${mountpoint} failed: ${reply.message}`);
    process.stdout.write(`megafs: unmounted ${mountpoint}\n`);
    return 0;
  }
  if (!(await isMounted(mountpoint))) throw new MegafsError('E_MOUNT', `nothing is mounted on ${mountpoint}`);
  process.stderr.write(`megafs: no daemon answers for ${mountpoint}; clearing the stale mount\n`);
  await forceUnmount(mountpoint);
  return 0;
}
