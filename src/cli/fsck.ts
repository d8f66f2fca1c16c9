// megafs fsck [--repair [--rollback]] [--json]: what is damaged (the path of each file and
// directory whose objects are missing or fail their check, the object id, its state on
// each store and in the cache), what --repair put back, and what falling back to the
// newest earlier root whose objects are all present changes (written with --rollback).
// Exit 0 when clean (or mended), 6 when damage is left, 5 when a store did not answer.
// The work is src/drive/fsck.ts; docs/design.md "When objects are missing".
import { join } from 'node:path';
import { askDaemon, listSockets } from '../drive/control.js';
import type { HomePaths } from '../drive/config.js';
import { fsck, type DamageReport, type FsckReport } from '../drive/fsck.js';
import type { Change } from '../drive/fsck-rollback.js';
import { MegafsError, UsageError } from '../errors.js';
import { deviceHex } from '../vfs/index.js';
import { parse } from './args.js';
import { withDrive } from './session.js';

const USAGE = 'megafs fsck [--repair [--rollback]] [--json] [--cache-dir DIR] [--password-file F]';

interface Flags {
  repair?: boolean;
  rollback?: boolean;
  json?: boolean;
  'cache-dir'?: string;
  'password-file'?: string;
}

/** A running daemon of this drive on this machine (a fallback root under a mount would
 *  be merged with the mount's view of the damaged tree): its mount point, or null. */
async function mountedAt(paths: HomePaths, driveId: string): Promise<string | null> {
  for (const sock of await listSockets(paths)) {
    const r = await askDaemon(sock, { cmd: 'status' }, 10_000).catch(() => null);
    const v = r?.ok ? (r.value as { driveId?: string; mountpoint?: string }) : null;
    if (v?.driveId === driveId) return v.mountpoint ?? '?';
  }
  return null;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<Flags>(argv, USAGE, {
    repair: { type: 'boolean' }, rollback: { type: 'boolean' }, json: { type: 'boolean' },
    'cache-dir': { type: 'string' }, 'password-file': { type: 'string' },
  });
  if (values.rollback && !values.repair) throw new UsageError(`--rollback goes with --repair (usage: ${USAGE})`);
  const report = await withDrive(values['password-file'], async (drive, cfg, paths) => {
    if (values.rollback) {
      const at = await mountedAt(paths, drive.header.driveId);
      if (at) throw new MegafsError('E_MOUNT', `the drive is mounted on ${at}: unmount it before fsck --rollback`);
    }
    return fsck(drive, {
      repair: values.repair === true, rollback: values.rollback === true,
      cacheDir: values['cache-dir'] ?? join(paths.cache, drive.header.driveId), deviceIdHex: deviceHex(cfg.deviceId),
    });
  });
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : text(report, values.repair === true));
  if (report.clean && !report.incomplete) return 0;
  if (report.clean) throw new MegafsError('E_UNAVAILABLE', `not every store answered (${report.stores.filter((s) => s.objects === null).map((s) => s.name).join(', ')}): their copies were not checked`);
  throw new MegafsError('E_INTEGRITY', `fsck: ${report.rootError ? 'the root does not open' : `${new Set(report.damaged.filter((d) => !d.repaired).map((d) => d.path)).size} damaged path(s)`}${report.fallback && !report.fallback.written ? `; megafs fsck --repair --rollback falls back to root version ${report.fallback.root.version}` : ''}`);
}

function where(d: DamageReport): string {
  const bad = d.stores.filter((s) => s.state !== 'ok').map((s) => `${s.state} on ${s.name}`);
  const good = d.stores.filter((s) => s.state === 'ok').map((s) => s.name);
  return [...bad, ...(good.length ? [`intact on ${good.join(', ')}`] : []), `cache: ${d.cache === 'ok' ? 'holds it' : d.cache}`].join('; ');
}

function objectName(d: DamageReport): string {
  if (d.kind === 'chunk') return `chunk ${d.chunkIndex}`;
  return d.kind === 'tree' ? 'directory tree object' : 'chunk list';
}

function verdict(d: DamageReport, repairing: boolean): string {
  if (d.repaired) return 'repaired';
  if (d.recoverable) return repairing ? 'NOT repaired (a store refused it)' : 'recoverable: megafs fsck --repair puts it back';
  return `cannot be recovered: no store and no cache holds it intact${d.error ? ` (${d.error})` : ''}`;
}

const CHANGE_WORDS: Record<Change['change'], string> = {
  removed: 'goes away (not in that root)', restored: 'comes back', reverted: 'goes back to that version', unreadable: 'damaged now: that version comes back',
};

function text(r: FsckReport, repairing: boolean): string {
  const lines: string[] = [];
  if (r.root) lines.push(`root version ${r.root.version} (${r.root.time}, device ${r.root.device})`);
  else if (r.rootError) lines.push(`root: DAMAGED (${r.rootError})`);
  else lines.push('no root yet: nothing to check');
  for (const s of r.stores) lines.push(`store ${s.name}: ${s.objects === null ? `UNAVAILABLE (${s.error}): not checked` : `${s.objects} objects`}`);
  lines.push(`checked ${r.checked.directories} directories, ${r.checked.files} files, ${r.checked.objects} objects`);
  for (const d of r.damaged) lines.push(`DAMAGED ${d.what} ${d.path}: ${objectName(d)} ${d.id}: ${where(d)}: ${verdict(d, repairing)}`);
  if (r.repair) lines.push(`repair: ${r.repair.copied} copies put back, ${r.repair.failed} failed${r.repair.cacheCleared ? `, ${r.repair.cacheCleared} damaged cache copies removed` : ''}; ${r.unrecoverable} object(s) cannot be recovered`);
  const f = r.fallback;
  if (r.unrecoverable > 0 || r.rootError) {
    if (!f) lines.push('no earlier root on any store or on this machine has all its objects: nothing to fall back to');
    else {
      const head = f.written
        ? `ROLLED BACK: wrote root version ${f.written.version} with the tree of version ${f.root.version} (${f.root.time}, device ${f.root.device}); against version ${r.root?.version ?? '?'}:`
        : `the newest earlier root whose objects are all present is version ${f.root.version} (${f.root.time}, device ${f.root.device}); falling back to it (megafs fsck --repair --rollback) changes:`;
      lines.push(head);
      for (const c of f.changes) lines.push(`  ${c.type} ${c.path} ${CHANGE_WORDS[c.change]}`);
      if (f.changes.length === 0) lines.push('  nothing (the same tree)');
      if (f.refused) lines.push(`not rolled back: ${f.refused}`);
    }
  }
  lines.push(r.clean ? (r.damaged.length || f?.written ? 'fsck: clean now' : 'fsck: clean') : 'fsck: DAMAGED');
  return `${lines.join('\n')}\n`;
}
