// The mount daemon: unlock (or create) the drive, open the vfs, mount it, serve the
// control socket, and on SIGINT, SIGTERM or `megafs unmount`: upload what is pending,
// unmount, close. Runs in the foreground; background.ts starts it detached. It also
// collects the drive's garbage in the background (gc-schedule.ts).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkMountpoint, isMounted, mountVfs } from '../fuse/mount.js';
import type { Vfs } from '../vfs/types.js';
import { homePaths, loadConfig, newConfig, saveConfig, type DriveConfig, type HomePaths } from './config.js';
import { askDaemon, listSockets, serveControl, socketPath, type ControlRequest } from './control.js';
import { MegafsError } from '../errors.js';
import { createNewDrive, driveExists, unlockDrive, type Drive } from './open.js';
import { storeHealth } from './health.js';
import { openDriveVfs } from './vfs.js';
import { collect } from './gc.js';
import { GC_FIRST_MS, GC_INTERVAL_MS, GcSchedule, gcTestEnv } from './gc-schedule.js';
import { deviceHex } from '../vfs/index.js';

/** How long SIGINT/SIGTERM wait for pending uploads before unmounting anyway (ms). */
const SIGNAL_SYNC_LIMIT_MS = 30_000;
/** How often the daemon checks that its mount is still there (ms). */
const WATCH_MS = 2000;
/** How long stopping waits for a background collection to reach a point where it can stop
 *  (its mark stops at the next directory; its listing and deletes run to their end) (ms).
 *  A collection left running past it fails on the closed drive; its lock lapses. */
const GC_STOP_LIMIT_MS = 10_000;

export interface DaemonOptions {
  mountpoint: string;
  password: string;
  /** Store SPECs overriding the configuration's for this run. */
  stores?: string[];
  cacheDir?: string;
  cacheBytes?: number;
  /** Between background collections (default GC_INTERVAL_MS); null: none. */
  gcIntervalMs?: number | null;
  log: (line: string) => void;
}

export interface ReadyInfo {
  mountpoint: string;
  /** Set when this run created the drive: shown once to the person. */
  recoveryKey?: string;
}

/** The configuration, created for the embedded default store when there is none. */
export async function configOrDefault(paths: HomePaths, stores?: string[]): Promise<{ cfg: DriveConfig; isNew: boolean }> {
  const saved = await loadConfig(paths);
  if (saved) return { cfg: stores ? { ...saved, stores } : saved, isNew: false };
  return { cfg: newConfig(stores ?? [paths.defaultStore]), isNew: true };
}

/** A drive is created only where none is configured (the first mount on a machine) or
 *  where `--store` names stores that hold none; a configured drive whose stores are away
 *  is opened from this machine's copy, never made anew. */
async function openOrCreate(paths: HomePaths, o: DaemonOptions): Promise<{ drive: Drive; cfg: DriveConfig; recoveryKey?: string }> {
  const { cfg, isNew } = await configOrDefault(paths, o.stores);
  // A --store override is for this run: this machine's configuration stays as it is.
  const opts = { log: o.log, paths, remember: isNew || !o.stores };
  if (mayCreate(isNew, o.stores) && !(await driveExists(cfg, paths))) {
    const { drive, recoveryKey } = await createNewDrive(cfg, o.password, opts);
    if (isNew) await saveConfig(paths, cfg);
    return { drive, cfg, recoveryKey };
  }
  const drive = await unlockDrive(cfg, o.password, opts);
  if (isNew) await saveConfig(paths, cfg);
  return { drive, cfg };
}

/** May this mount create a drive: no configuration yet, or stores named for this run. */
export function mayCreate(isNew: boolean, stores: string[] | undefined): boolean {
  return isNew || (stores?.length ?? 0) > 0;
}

/** One daemon per drive on a machine: they would share the journal and state. */
async function refuseSecondMount(paths: HomePaths, driveId: string): Promise<void> {
  for (const sock of await listSockets(paths)) {
    const r = await askDaemon(sock, { cmd: 'status' }, 10_000).catch(() => null);
    const v = r?.ok ? (r.value as { driveId?: string; mountpoint?: string }) : null;
    if (v?.driveId === driveId) throw new MegafsError('E_MOUNT', `this drive is already mounted on ${v.mountpoint}`);
  }
}

/** Mount and serve until stopped; `onReady` fires once the mount is usable. */
export async function runDaemon(o: DaemonOptions, onReady: (info: ReadyInfo) => void): Promise<void> {
  const paths = homePaths();
  const mountpoint = await checkMountpoint(o.mountpoint, o.log);
  const { drive, cfg, recoveryKey } = await openOrCreate(paths, o);
  let vfs: Vfs | null = null;
  let gc: GcSchedule | null = null;
  let closing: Promise<void> | null = null;
  // Once: after the unmount on the way out, and in `finally` for every other way out.
  const closeDrive = (): Promise<void> => (closing ??= (async () => {
    await stopGc(gc);
    await vfs?.close().catch((e: Error) => o.log(`megafs: closing the drive failed: ${e.message}`));
    await drive.close().catch(() => {});
  })());
  try {
    await refuseSecondMount(paths, drive.header.driveId);
    vfs = await openDriveVfs(drive, cfg, paths, { cacheDir: o.cacheDir, cacheBytes: o.cacheBytes, role: 'daemon', log: o.log });
    gc = backgroundGc(drive, cfg, o.cacheDir ?? join(paths.cache, drive.header.driveId), o);
    const mounted = await mountVfs(vfs, mountpoint, { log: o.log });
    const sock = socketPath(paths, mountpoint);
    const v = vfs;
    let stopping: Promise<void> | null = null;
    let stopped!: () => void;
    const finished = new Promise<void>((r) => { stopped = r; });
    const stop = (why: string, syncLimitMs = Infinity): Promise<void> => (stopping ??= (async () => {
      o.log(`megafs: ${why}: uploading pending data and unmounting ${mountpoint}`);
      const gcStopped = stopGc(gc);
      const synced = v.sync().then(() => true, (e: Error) => { o.log(`megafs: sync before unmount failed: ${e.message}`); return false; });
      const limit = Number.isFinite(syncLimitMs) ? sleep(syncLimitMs, false, { ref: false }) : new Promise<false>(() => {});
      if (!(await Promise.race([synced, limit]))) o.log('megafs: not everything is uploaded; the journal keeps it for the next mount');
      await mounted.unmount().catch((e: Error) => o.log(`megafs: unmount failed: ${e.message}`));
      await gcStopped;
      // Closed before `megafs unmount` hears back: nothing of this daemon writes to the
      // state directory once it has returned (a script may move or delete it next).
      await closeDrive();
      server.close();
      await rm(sock, { force: true });
      stopped();
    })());
    const server = await serveControl(sock, async (req: ControlRequest) => {
      if (req.cmd === 'unmount') return stop('unmount requested');
      if (req.cmd === 'status') {
        const stores = await storeHealth(drive.stores);
        // Offline: no store answers; reads come from the cache, changes wait in the journal.
        return {
          mountpoint, pid: process.pid, driveId: drive.header.driveId, vfs: v.status(), stores, offline: stores.every((s) => !s.ok),
          gc: gc?.status() ?? null,
        };
      }
      throw new Error(`unknown request ${JSON.stringify(req)}`);
    });
    // Someone ran fusermount -u (or umount) on us: finish the uploads and exit.
    const watch = setInterval(() => {
      void isMounted(mountpoint).then((still) => { if (!still) void stop('unmounted from outside'); }, () => {});
    }, WATCH_MS);
    watch.unref();
    void finished.then(() => clearInterval(watch));
    // A signal waits a while for the uploads (the journal keeps the rest); a second one
    // exits at once.
    const onSignal = (sig: string): void => {
      if (stopping) process.exit(1);
      void stop(sig, SIGNAL_SYNC_LIMIT_MS);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    o.log(`megafs: ${mountpoint} mounted (pid ${process.pid}, store ${drive.store.name})`);
    gc?.start();
    onReady({ mountpoint, ...(recoveryKey ? { recoveryKey } : {}) });
    await finished;
  } finally {
    await closeDrive();
  }
  o.log(`megafs: ${mountpoint} unmounted`);
}

/** The background collector of a mount (null when off, or without a store: MEGAFS_VFS=memory).
 *  It reads the mount's cache before the store, and runs with the drive's retention
 *  policy and the default grace (MEGAFS_GC_* in gcTestEnv change them for tests only). */
function backgroundGc(drive: Drive, cfg: DriveConfig, cacheDir: string, o: DaemonOptions): GcSchedule | null {
  const intervalMs = o.gcIntervalMs === undefined ? GC_INTERVAL_MS : o.gcIntervalMs;
  if (intervalMs === null || process.env.MEGAFS_VFS === 'memory') return null;
  const env = gcTestEnv();
  return new GcSchedule({
    intervalMs, firstMs: env.firstMs ?? GC_FIRST_MS, log: o.log,
    collect: (pause) => collect(drive, {
      dryRun: false, deviceIdHex: deviceHex(cfg.deviceId), cacheDir, pause,
      ...(env.clockAllowanceMs !== undefined ? { clockAllowanceMs: env.clockAllowanceMs } : {}),
    }),
  });
}

/** Stop background collection, waiting at most GC_STOP_LIMIT_MS for a running one. */
async function stopGc(gc: GcSchedule | null): Promise<void> {
  if (gc) await Promise.race([gc.stop(), sleep(GC_STOP_LIMIT_MS, undefined, { ref: false })]);
}
