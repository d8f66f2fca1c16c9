// megafs unmount MOUNTPOINT: ask the daemon to upload what is pending and unmount; a
// stale mount (its daemon died) is cleared with fusermount -uz.
import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { homePaths } from '../drive/config.js';
import { askDaemon, socketPath } from '../drive/control.js';
import { forceUnmount } from '../fuse/mount.js';
import { MegafsError } from '../errors.js';
import { parse } from './args.js';

const USAGE = 'megafs unmount MOUNTPOINT';

/** True when /proc/self/mountinfo lists `dir` as a mount point. */
export async function isMounted(dir: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  // Field 5 is the mount point, with space, tab, newline and backslash as octal escapes.
  const esc = dir.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((line) => line.split(' ')[4] === esc);
}

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
