// Background collection (src/drive/gc-schedule.ts) with the real collector on a memory
// store: the mark gives the event loop a turn before each directory (a mount's FUSE
// callbacks run between them), a lock held by another collector is logged once, another
// failure is one line (no stack) and tried again within GC_RETRY_MS, stop() during a mark
// deletes nothing and releases the lock, and the timer runs collections on its own.
import test, { type ExecutionContext } from 'ava';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { collect, type GcDrive, type GcOptions } from '../../src/drive/gc.js';
import { GC_RETRY_MS, GcSchedule, gcTestEnv, parseGcInterval, type GcScheduleOptions } from '../../src/drive/gc-schedule.js';
import { gcLine } from '../../src/cli/status.js';
import { openVfs } from '../../src/vfs/index.js';
import { FaultStore } from '../helpers/fault-store.js';
import { MemoryStore } from '../helpers/memory-store.js';

const HOUR = 3600_000;
const DIRS = 40;

/** A drive of DIRS directories with a file each, and a 2 MiB file removed and emptied
 *  from the bin, all aged past the grace. */
async function world(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-gc-schedule-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mem = new MemoryStore();
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  const v = await openVfs({
    store: mem, keys, stateDir: join(dir, 'state'), cacheDir: join(dir, 'cache'), cacheSizeBytes: 1 << 30, deviceId: 'a', log: () => undefined, commitDelayMs: 10,
  });
  for (let i = 0; i < DIRS; i++) {
    await v.mkdir(`/d${i}`, 0o755);
    const fh = await v.create(`/d${i}/f`, 0o644, fsc.O_RDWR);
    await v.write(fh, randomBytes(100), 0);
    await v.release(fh);
  }
  const fh = await v.create('/gone.bin', 0o644, fsc.O_RDWR);
  await v.write(fh, randomBytes(2 << 20), 0);
  await v.release(fh);
  await v.sync();
  await v.unlink('/gone.bin');
  await v.binEmpty!(() => true); // out of the bin too: nothing but old versions names it
  await v.close();
  for (const [id, ms] of mem.mtimes) mem.mtimes.set(id, ms - 2 * HOUR);
  const drive: GcDrive = { store: mem, stores: [mem], keys };
  const lines: string[] = [];
  const schedule = (o: Partial<GcScheduleOptions> & { gc?: Partial<GcOptions>; on?: GcDrive } = {}): GcSchedule => new GcSchedule({
    intervalMs: HOUR, firstMs: HOUR, log: (l) => lines.push(l),
    collect: (pause) => collect(o.on ?? drive, { dryRun: false, deviceIdHex: 'b'.repeat(32), cacheDir: null, forgetOlderThanMs: 0, pause, ...o.gc }),
    ...o,
  });
  return { mem, drive, lines, schedule };
}

test('a background collection gives the event loop a turn before each directory it marks', async (t) => {
  const w = await world(t);
  const s = w.schedule();
  // A timer-phase callback stands for a FUSE request: count how often it gets to run.
  let ticks = 0;
  let ticking = true;
  const tick = (): void => { ticks++; if (ticking) setImmediate(tick); };
  setImmediate(tick);
  await s.runNow();
  ticking = false;
  t.is(s.status().last?.error, undefined);
  t.true(s.status().last!.freedBytes >= 2 << 20, JSON.stringify(s.status()));
  // The memory store answers in microtasks: without the pause the mark never yields.
  t.true(ticks >= DIRS, `${ticks} turns of the loop for ${DIRS + 1} directories`);
  t.is(w.lines.length, 1);
  t.regex(w.lines[0], /^megafs: background gc freed \d+ objects \(\d+\.\d MiB\) in \d+\.\d s$/);
});

test('a lock held by another collector is logged once and tried again each interval', async (t) => {
  const w = await world(t);
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => { locked = r; });
  const other = collect(w.drive, { dryRun: false, deviceIdHex: 'c'.repeat(32), cacheDir: null, hooks: { afterLock: async () => { locked(); await held; } } });
  await isLocked;
  const s = w.schedule();
  await s.runNow();
  await s.runNow();
  const st = s.status();
  t.is(st.last?.error?.code, 'E_LOCKED');
  t.is(w.lines.length, 1, w.lines.join('\n'));
  t.regex(w.lines[0], /^megafs: background gc skipped: another megafs gc/);
  // E_LOCKED waits the whole interval, not the retry time.
  t.true(st.nextMs! - st.last!.finishedMs >= HOUR - 1000);
  t.regex(gcLine(st, Date.now()), /^background gc \(every 1h\): last .*: skipped \(E_LOCKED\)/);
  release();
  await other;
  await s.runNow();
  t.is(s.status().last?.error, undefined);
  t.is(w.lines.length, 2);
  await s.stop();
});

test('another failure is one line without a stack, shown by status, and tried again within the hour', async (t) => {
  const w = await world(t);
  const faulty = new FaultStore(w.mem);
  faulty.down = true;
  const s = w.schedule({ intervalMs: 24 * HOUR, on: { ...w.drive, store: faulty, stores: [faulty] } });
  await s.runNow();
  const st = s.status();
  t.is(st.last?.error?.code, 'E_UNAVAILABLE');
  t.is(w.lines.length, 1);
  t.notRegex(w.lines[0], /\n|\bat \S+:\d+/);
  t.regex(w.lines[0], /^megafs: background gc failed \(E_UNAVAILABLE\): .*; trying again in 1h$/);
  t.true(st.nextMs! - st.last!.finishedMs <= GC_RETRY_MS + 1000, `next in ${st.nextMs! - st.last!.finishedMs} ms`);
  t.regex(gcLine(st, Date.now()), /FAILED \(E_UNAVAILABLE\)/);
  t.false(gcLine(st, Date.now()).includes('\n'));
  // A second failure is logged again (only E_LOCKED is said once).
  await s.runNow();
  t.is(w.lines.length, 2);
  await s.stop();
});

test('stop() during the mark deletes nothing and releases the lock', async (t) => {
  const w = await world(t);
  const before = [...w.mem.objects.keys()];
  let listed!: () => void;
  const isListed = new Promise<void>((r) => { listed = r; });
  const s = w.schedule({ gc: { hooks: { afterList: async () => { listed(); } } } });
  const run = s.runNow();
  await isListed;
  for (let i = 0; i < 5; i++) await turn(); // a few directories into the mark
  await s.stop();
  await run;
  t.is(s.status().last, null, 'a stopped collection is no outcome');
  t.is(w.lines.length, 0);
  t.deepEqual(before.filter((id) => !w.mem.objects.has(id)), [], 'nothing was deleted');
  // The lock is gone: another collector runs at once.
  const r = await collect(w.drive, { dryRun: false, deviceIdHex: 'c'.repeat(32), cacheDir: null, forgetOlderThanMs: 0 });
  t.true(r.stores[0].deletedBytes >= 2 << 20);
});

test('the timer runs the first collection after firstMs and then every interval', async (t) => {
  const w = await world(t);
  const s = w.schedule({ firstMs: 20, intervalMs: 50 });
  t.is(gcLine(s.status(), Date.now()), 'background gc (every 50ms): none yet; none planned');
  s.start();
  t.regex(gcLine(s.status(), Date.now()), /none yet; next /);
  for (let i = 0; i < 500 && w.lines.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  await s.stop();
  t.true(w.lines.length >= 2, w.lines.join('\n'));
  t.is(s.status().nextMs, null);
  const n = w.lines.length;
  await new Promise((r) => setTimeout(r, 120));
  t.is(w.lines.length, n, 'nothing runs after stop()');
  t.regex(gcLine(s.status(), Date.now()), /^background gc \(every 50ms\): last .*: freed \d+ objects/);
  t.is(gcLine(null, Date.now()), 'background gc: off');
});

test('--gc-interval and the test-only environment: off, a duration, or one clear error', (t) => {
  t.is(parseGcInterval('off'), null);
  t.is(parseGcInterval('12h'), 12 * HOUR);
  t.is(t.throws(() => parseGcInterval('0'))?.['code' as keyof Error], 'E_USAGE');
  t.is(t.throws(() => parseGcInterval('soon'))?.['code' as keyof Error], 'E_USAGE');
  t.deepEqual(gcTestEnv({}), {});
  t.deepEqual(gcTestEnv({ MEGAFS_GC_FIRST_MS: '500', MEGAFS_GC_CLOCK_ALLOWANCE_MS: '0' }), { firstMs: 500, clockAllowanceMs: 0 });
  t.is(t.throws(() => gcTestEnv({ MEGAFS_GC_FIRST_MS: '1s' }))?.['code' as keyof Error], 'E_USAGE');
});
