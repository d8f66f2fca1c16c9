// megafs ls [PATH] [--at TIME] [--json] [--password-file F]: list a drive directory
// without a mount, in name-byte order; --at lists it as it was at TIME (the version that
// stood then: src/cli/history-session.ts), read from that version's tree, not the vfs. Names are bytes: each line (and --json "name") is the escaped form
// of src/format/names.ts (\xHH for a byte that is not UTF-8 or a control character, \\
// for a backslash), which PATH arguments accept back; --json adds "nameBytes" (base64 of
// the exact bytes) for a name that is not plain printable UTF-8.
import { constants as fsc } from 'node:fs';
import { toBase64 } from '../format/bytes.js';
import { compareNames, encodeName, escapeName } from '../format/names.js';
import { fsError } from '../errors.js';
import { ENTRY_DIR, type TreeEntry } from '../format/tree.js';
import { PathResolver } from '../drive/history.js';
import type { Attr } from '../vfs/types.js';
import { drivePath, parse } from './args.js';
import { versionAtText, withHistory } from './history-session.js';
import { withVfs } from './session.js';
import { entryKind } from './versions.js';
import { formatInstant } from './when.js';

const USAGE = 'megafs ls [PATH] [--at TIME] [--json] [--password-file F]';

interface Listed { name: string; type: 'dir' | 'file' | 'symlink'; size: number; mtimeMs: number }

function kind(a: Attr): 'dir' | 'file' | 'symlink' {
  const t = a.mode & fsc.S_IFMT;
  return t === fsc.S_IFDIR ? 'dir' : t === fsc.S_IFLNK ? 'symlink' : 'file';
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ json?: boolean; at?: string; 'password-file'?: string }>(argv, USAGE, {
    json: { type: 'boolean' }, at: { type: 'string' }, 'password-file': { type: 'string' },
  }, 0, 1);
  const path = drivePath(positionals[0] ?? '/');
  const entries = values.at !== undefined ? await listAt(values['password-file'], path, values.at) : await withVfs(values['password-file'], async (vfs) => {
    const attr = await vfs.getattr(path);
    const one = (name: string, a: Attr): Listed => ({ name, type: kind(a), size: a.size, mtimeMs: a.mtimeMs });
    if (kind(attr) !== 'dir') return [one(path.split('/').pop()!, attr)];
    return (await vfs.readdir(path)).map((e) => one(e.name, e.attr));
  });
  const rows = entries.sort((a, b) => compareNames(a.name, b.name)).map((e) => {
    const shown = escapeName(e.name);
    return { name: shown, ...(shown === e.name ? {} : { nameBytes: toBase64(encodeName(e.name)) }), type: e.type, size: e.size, mtimeMs: e.mtimeMs };
  });
  if (values.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
  else for (const r of rows) process.stdout.write(`${r.name}${r.type === 'dir' ? '/' : ''}\n`);
  return 0;
}

/** `path` in the version that stood at `at`. */
async function listAt(passwordFile: string | undefined, path: string, at: string): Promise<Listed[]> {
  return withHistory(passwordFile, async (h) => {
    const v = versionAtText(h.now.versions, at);
    const resolver = new PathResolver(h.io);
    const e = await resolver.resolve(v.topDir, path);
    if (!e) throw fsError('ENOENT', `${escapeName(path)} did not exist at ${formatInstant(v.timeMs)} (version ${v.rootVersion})`);
    const one = (x: TreeEntry): Listed => ({ name: x.name, type: entryKind(x), size: x.size, mtimeMs: x.mtimeMs });
    if (e.type !== ENTRY_DIR) return [one(e)];
    return [...(await resolver.entries(e.dirId!)).values()].map(one);
  });
}
