// megafs ls [PATH] [--json] [--password-file F]: list a drive directory without a mount,
// in name-byte order. Names are bytes: each line (and --json "name") is the escaped form
// of src/format/names.ts (\xHH for a byte that is not UTF-8 or a control character, \\
// for a backslash), which PATH arguments accept back; --json adds "nameBytes" (base64 of
// the exact bytes) for a name that is not plain printable UTF-8.
import { constants as fsc } from 'node:fs';
import { toBase64 } from '../format/bytes.js';
import { compareNames, encodeName, escapeName } from '../format/names.js';
import type { Attr } from '../vfs/types.js';
import { drivePath, parse } from './args.js';
import { withVfs } from './session.js';

const USAGE = 'megafs ls [PATH] [--json] [--password-file F]';

function kind(a: Attr): 'dir' | 'file' | 'symlink' {
  const t = a.mode & fsc.S_IFMT;
  return t === fsc.S_IFDIR ? 'dir' : t === fsc.S_IFLNK ? 'symlink' : 'file';
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ json?: boolean; 'password-file'?: string }>(argv, USAGE, {
    json: { type: 'boolean' }, 'password-file': { type: 'string' },
  }, 0, 1);
  const path = drivePath(positionals[0] ?? '/');
  const entries = await withVfs(values['password-file'], async (vfs) => {
    const attr = await vfs.getattr(path);
    if (kind(attr) !== 'dir') return [{ name: path.split('/').pop()!, attr }];
    return (await vfs.readdir(path)).sort((a, b) => compareNames(a.name, b.name));
  });
  const rows = entries.map((e) => {
    const shown = escapeName(e.name);
    return {
      name: shown, ...(shown === e.name ? {} : { nameBytes: toBase64(encodeName(e.name)) }),
      type: kind(e.attr), size: e.attr.size, mtimeMs: e.attr.mtimeMs,
    };
  });
  if (values.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
  else for (const r of rows) process.stdout.write(`${r.name}${r.type === 'dir' ? '/' : ''}\n`);
  return 0;
}
