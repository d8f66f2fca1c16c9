// megafs versions PATH [--json]: the states one path went through over the drive's
// versions, newest first: each distinct state (content, size, mtime: src/drive/history.ts
// entryState) with the version and time where it first appeared; a removal shows as
// "(absent)". Any such time, given to ls --at or get --at, reads that state back. Read only.
import { ENTRY_DIR, ENTRY_SYMLINK, type TreeEntry } from '../format/tree.js';
import { escapeName } from '../format/names.js';
import { MegafsError } from '../errors.js';
import { PathResolver, pathStates } from '../drive/history.js';
import { drivePath, parse } from './args.js';
import { humanBytes } from './progress.js';
import { withHistory, writeVersionRows } from './history-session.js';
import { formatInstant } from './when.js';

const USAGE = 'megafs versions PATH [--json] [--password-file F]';

export type EntryKind = 'file' | 'dir' | 'symlink';
export const entryKind = (e: TreeEntry): EntryKind => (e.type === ENTRY_DIR ? 'dir' : e.type === ENTRY_SYMLINK ? 'symlink' : 'file');

interface Row { version: number; time: string; timeMs: number; device: string; state: 'present' | 'absent'; type?: EntryKind; size?: number; mtimeMs?: number }

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ json?: boolean; 'password-file'?: string }>(argv, USAGE, {
    json: { type: 'boolean' }, 'password-file': { type: 'string' },
  }, 1, 1);
  const path = drivePath(positionals[0]);
  const states = await withHistory(values['password-file'], (h) => pathStates(new PathResolver(h.io), h.now.versions, path));
  if (states.length === 0) throw new MegafsError('ENOENT', `${escapeName(path)} is in no version the drive keeps`);
  const rows: Row[] = states.map(({ version: v, entry: e }) => ({
    version: Number(v.rootVersion), time: formatInstant(v.timeMs), timeMs: v.timeMs, device: v.deviceId.slice(0, 8),
    ...(e ? { state: 'present' as const, type: entryKind(e), size: e.size, mtimeMs: e.mtimeMs } : { state: 'absent' as const }),
  }));
  writeVersionRows(rows, values.json === true, (r) => (r.state === 'absent' ? '(absent)'
    : `${r.type === 'file' ? humanBytes(r.size!) : r.type}  modified ${formatInstant(r.mtimeMs!)}`));
  return 0;
}
