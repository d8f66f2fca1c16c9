// megafs mkdir [-p] PATH: create a drive directory (-p: and its parents) without a mount.
import { isMegafsError } from '../errors.js';
import { drivePath, parse } from './args.js';
import { withVfs } from './session.js';

const USAGE = 'megafs mkdir [-p] PATH [--password-file F]';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ parents?: boolean; 'password-file'?: string }>(argv, USAGE, {
    parents: { type: 'boolean', short: 'p' }, 'password-file': { type: 'string' },
  }, 1, 1);
  const path = drivePath(positionals[0]);
  await withVfs(values['password-file'], async (vfs) => {
    if (!values.parents) return vfs.mkdir(path, 0o755);
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      await vfs.mkdir(`/${parts.slice(0, i).join('/')}`, 0o755).catch((e: unknown) => {
        if (!isMegafsError(e, 'EEXIST')) throw e;
      });
    }
  });
  return 0;
}
