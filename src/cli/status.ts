// megafs status [--json]: for each running daemon, whether the drive is offline, dirty
// bytes, upload queue, cache use and each store's health (naming the ones that are down).
import { rm } from 'node:fs/promises';
import { homePaths, loadConfig } from '../drive/config.js';
import { askDaemon, listSockets } from '../drive/control.js';
import type { Health } from '../drive/health.js';
import type { VfsStatus } from '../vfs/types.js';
import { parse } from './args.js';
import { human } from './progress.js';

interface MountStatus {
  mountpoint: string;
  pid: number;
  driveId: string;
  vfs: VfsStatus;
  stores: Health[];
  /** No store answers: the drive runs from this machine's cache and journal. */
  offline: boolean;
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
    process.stdout.write(`  not yet uploaded: ${human(v.dirtyBytes)}, uploads queued: ${v.queuedUploads}\n`);
    process.stdout.write(`  cache: ${human(v.cacheBytes)} of ${human(v.cacheLimitBytes)}\n`);
    for (const s of m.stores) process.stdout.write(`  store ${s.name}: ${s.ok ? 'ok' : `UNREACHABLE (${s.error})`}\n`);
    for (const e of v.errors) process.stdout.write(`  error: ${e}\n`);
  }
  return 0;
}
