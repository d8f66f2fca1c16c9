// megafs status [--json]: for each running daemon, whether the drive is offline, dirty
// bytes, upload queue, cache use, each store's health (naming the ones that are down) and
// the last background collection (what it freed, or why it failed) and the next.
import { rm } from 'node:fs/promises';
import { homePaths, loadConfig } from '../drive/config.js';
import { askDaemon, listSockets } from '../drive/control.js';
import type { GcScheduleStatus } from '../drive/gc-schedule.js';
import type { Health } from '../drive/health.js';
import type { VfsStatus } from '../vfs/types.js';
import { parse } from './args.js';
import { humanBytes } from './progress.js';
import { formatAgo, formatDuration, formatInstant } from './when.js';

interface MountStatus {
  mountpoint: string;
  pid: number;
  driveId: string;
  vfs: VfsStatus;
  stores: Health[];
  /** No store answers: the drive runs from this machine's cache and journal. */
  offline: boolean;
  /** Background collection; null when it is off (or absent: a daemon from before it). */
  gc?: GcScheduleStatus | null;
}

/** One line on background collection: the last outcome and the next run. */
export function gcLine(gc: GcScheduleStatus | null | undefined, now: number): string {
  if (!gc) return 'background gc: off';
  const next = gc.running ? 'running now' : gc.nextMs !== null ? `next ${formatInstant(gc.nextMs)} (${formatAgo(gc.nextMs, now)})` : 'none planned';
  const every = gc.intervalMs !== null ? `every ${formatDuration(gc.intervalMs)}` : 'off';
  const l = gc.last;
  if (!l) return `background gc (${every}): none yet; ${next}`;
  const when = `${formatInstant(l.finishedMs)} (${formatAgo(l.finishedMs, now)})`;
  const what = l.error
    ? `${l.error.code === 'E_LOCKED' ? 'skipped' : 'FAILED'} (${l.error.code}): ${l.error.message}`
    : `freed ${l.freedObjects} objects (${humanBytes(l.freedBytes)})${l.failedDeletes ? `, ${l.failedDeletes} deletes failed` : ''}`;
  return `background gc (${every}): last ${when}: ${what}; ${next}`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse<{ json?: boolean }>(argv, 'megafs status [--json]', { json: { type: 'boolean' } });
  const paths = homePaths();
  const cfg = await loadConfig(paths);
  const mounts: MountStatus[] = [];
  for (const sock of await listSockets(paths)) {
    const reply = await askDaemon(sock, { cmd: 'status' }, 30_000).catch(() => null);
    if (reply?.ok) mounts.push(reply.value as MountStatus);
    else if (!reply) await rm(sock, { force: true }); // left by a daemon that died
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ home: paths.home, stores: cfg?.stores ?? [], mounts })}\n`);
    return 0;
  }
  if (!cfg) process.stdout.write(`No drive on this machine (${paths.home}).\n`);
  else process.stdout.write(`Drive stores: ${cfg.stores.join(', ')}\n`);
  if (mounts.length === 0) process.stdout.write('Not mounted.\n');
  for (const m of mounts) {
    const v = m.vfs;
    process.stdout.write(`\n${m.mountpoint} (pid ${m.pid}, drive ${m.driveId})\n`);
    const down = m.stores.filter((s) => !s.ok).length;
    if (m.offline) process.stdout.write('  OFFLINE: no store answers; cached files read, changes wait in the journal and go up once a store is back\n');
    else if (down > 0) process.stdout.write(`  degraded: ${down} of ${m.stores.length} stores unavailable\n`);
    process.stdout.write(`  not yet uploaded: ${humanBytes(v.dirtyBytes)}, uploads queued: ${v.queuedUploads}\n`);
    process.stdout.write(`  cache: ${humanBytes(v.cacheBytes)} of ${humanBytes(v.cacheLimitBytes)}\n`);
    for (const s of m.stores) process.stdout.write(`  store ${s.name}: ${s.ok ? 'ok' : `UNREACHABLE (${s.error})`}\n`);
    process.stdout.write(`  ${gcLine(m.gc, Date.now())}\n`);
    for (const e of v.errors) process.stdout.write(`  error: ${e}\n`);
  }
  return 0;
}
