// megafs trash ls [--json] | restore PATH [--to DEST] | empty [--older-than D]: the
// rubbish bin. What is deleted or overwritten through the mount or the CLI stays in the
// bin for the drive's bin time (default 30 days; docs/design.md "The rubbish bin");
// `megafs gc` frees what an emptied or expired entry held.
import { MegafsError, UsageError } from '../errors.js';
import type { TrashRecord } from '../format/drive-object.js';
import { escapeName } from '../format/names.js';
import { binPath } from '../vfs/bin.js';
import type { Vfs } from '../vfs/types.js';
import { drivePath, parse } from './args.js';
import { humanBytes } from './progress.js';
import { withVfs } from './session.js';
import { makeParents, statOrNull } from './vfs-paths.js';
import { formatAgo, formatInstant, parseDuration } from './when.js';

const USAGE = 'megafs trash ls [--json] | trash restore PATH [--to DEST] | trash empty [--older-than DURATION]  [--password-file F]';

interface Flags {
  json?: boolean;
  to?: string;
  'older-than'?: string;
  'password-file'?: string;
}



function records(vfs: Vfs): Promise<TrashRecord[]> {
  if (!vfs.binRecords) throw new MegafsError('E_USAGE', 'this drive has no rubbish bin');
  return vfs.binRecords();
}

async function list(vfs: Vfs, json: boolean): Promise<string> {
  const rs = await records(vfs);
  if (json) {
    return `${JSON.stringify(rs.map((r) => ({
      path: binPath(r), deleted: formatInstant(r.deletedMs), deletedMs: r.deletedMs, size: r.entry.size,
      type: r.entry.type === 3 ? 'symlink' : 'file', device: r.deviceId.slice(0, 8),
    })))}\n`;
  }
  if (rs.length === 0) return 'the bin is empty\n';
  const now = Date.now();
  return rs.map((r) => `${formatInstant(r.deletedMs)}  ${formatAgo(r.deletedMs, now).padEnd(12)}  ${humanBytes(r.entry.size).padStart(10)}  ${escapeName(binPath(r))}`).join('\n') + '\n';
}


async function restore(vfs: Vfs, from: string, to: string | undefined): Promise<string> {
  const rs = await records(vfs);
  // The newest record of that path; or, for a folder, the newest of each path under it.
  const exact = rs.find((r) => binPath(r) === from);
  const picked = new Map<string, TrashRecord>();
  if (exact) picked.set(from, exact);
  else for (const r of rs) if (binPath(r).startsWith(`${from === '/' ? '' : from}/`) && !picked.has(binPath(r))) picked.set(binPath(r), r);
  if (picked.size === 0) throw new MegafsError('E_NOT_FOUND', `nothing in the bin was at ${escapeName(from)} (megafs trash ls lists it)`);
  const lines: string[] = [];
  for (const [path, r] of picked) {
    const dest = to === undefined ? path : exact ? to : `${to}${path.slice(from.length)}`;
    await makeParents(vfs, dest);
    if (await statOrNull(vfs, dest)) throw new MegafsError('EEXIST', `${escapeName(dest)} exists: restore it elsewhere with --to DEST`);
    await vfs.binRestore!(r, dest);
    lines.push(`restored ${escapeName(dest)} (${humanBytes(r.entry.size)}, removed ${formatInstant(r.deletedMs)})`);
  }
  return `${lines.join('\n')}\n`;
}

async function empty(vfs: Vfs, olderThanMs: number | undefined): Promise<string> {
  const rs = await records(vfs);
  const cut = olderThanMs === undefined ? Infinity : Date.now() - olderThanMs;
  const gone = rs.filter((r) => r.deletedMs < cut);
  await vfs.binEmpty!((r) => r.deletedMs < cut);
  const bytes = gone.reduce((n, r) => n + r.entry.size, 0);
  return `emptied ${gone.length} entries (${humanBytes(bytes)}); megafs gc frees what no kept version still names\n`;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(`usage: ${USAGE}\n`);
    return 0;
  }
  const { values, positionals } = parse<Flags>(rest, USAGE, {
    json: { type: 'boolean' }, to: { type: 'string' }, 'older-than': { type: 'string' }, 'password-file': { type: 'string' },
  }, sub === 'restore' ? 1 : 0, sub === 'restore' ? 1 : 0);
  let out: (vfs: Vfs) => Promise<string>;
  if (sub === 'ls') out = (vfs) => list(vfs, values.json === true);
  else if (sub === 'restore') {
    const from = drivePath(positionals[0]);
    const to = values.to === undefined ? undefined : drivePath(values.to);
    out = (vfs) => restore(vfs, from, to);
  } else if (sub === 'empty') {
    const older = values['older-than'] === undefined ? undefined : parseDuration(values['older-than']);
    out = (vfs) => empty(vfs, older);
  } else throw new UsageError(`usage: ${USAGE}`);
  const text = await withVfs(values['password-file'], out);
  process.stdout.write(text);
  return 0;
}
