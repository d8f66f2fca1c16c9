// megafs rm [-r] PATH: remove a file, an empty directory, or (-r) a whole tree, without a mount.
import { constants as fsc } from 'node:fs';
import type { Vfs } from '../vfs/types.js';
import { UsageError } from '../errors.js';
import { drivePath, parse } from './args.js';
import { withVfs } from './session.js';

const USAGE = 'megafs rm [-r] PATH [--password-file F]';

async function remove(vfs: Vfs, path: string, recursive: boolean): Promise<void> {
  const a = await vfs.getattr(path);
  if ((a.mode & fsc.S_IFMT) !== fsc.S_IFDIR) return vfs.unlink(path);
  if (recursive) for (const e of await vfs.readdir(path)) await remove(vfs, `${path}/${e.name}`, true);
  await vfs.rmdir(path);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ recursive?: boolean; 'password-file'?: string }>(argv, USAGE, {
    recursive: { type: 'boolean', short: 'r' }, 'password-file': { type: 'string' },
  }, 1, 1);
  const path = drivePath(positionals[0]);
  if (path === '/') throw new UsageError('refusing to remove the top directory of the drive');
  await withVfs(values['password-file'], (vfs) => remove(vfs, path, values.recursive ?? false));
  return 0;
}
