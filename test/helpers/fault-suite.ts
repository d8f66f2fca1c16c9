// The fault-injection suite: fast-check sequences of file operations run against a model
// while the store fails the Nth operation (EIO, quota, a stalled request, a crash of the
// process at that point), the cache disk (a real tmpfs) fills up and frees, and the vfs
// is restarted (closed, or killed: abandoned mid-flight). After every restart and at the
// end: the drive opens, every file whose last write was acknowledged by close() reads back
// exactly, and a fresh machine with an empty cache reads every file from the store alone
// (so the root names only stored objects). Run for every kind of store.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsc, mkdirSync, statfsSync, writeFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { deriveDriveKeys, type DriveKeys } from '../../src/crypto/keys.js';
import type { Store } from '../../src/store/store.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { FaultStore, type Fault } from './fault-store.js';

const KiB = 1024;
const MiB = 1 << 20;
const NAMES = ['/a', '/b', '/d/c', '/d/e'];
/** Size of the tmpfs the cache lives on (small: filling it is part of the game). */
const CACHE_FS_BYTES = 24 * MiB;

type Action =
  | { k: 'write'; file: number; offset: number; length: number; seed: number }
  | { k: 'truncate'; file: number; size: number }
  | { k: 'fsync'; file: number }
  | { k: 'unlink'; file: number }
  | { k: 'rename'; from: number; to: number }
  | { k: 'fault'; n: number; fault: Fault }
  | { k: 'down' }
  | { k: 'heal' }
  | { k: 'fill' }
  | { k: 'free' }
  | { k: 'restart'; kill: boolean };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('write' as const), file: fc.nat(3), offset: fc.oneof(fc.nat(64 * KiB), fc.nat(3 * MiB)), length: fc.oneof(fc.integer({ min: 1, max: 8 * KiB }), fc.integer({ min: 1, max: 2 * MiB })), seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('truncate' as const), file: fc.nat(3), size: fc.oneof(fc.nat(4 * KiB), fc.nat(3 * MiB)) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('fsync' as const), file: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('unlink' as const), file: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rename' as const), from: fc.nat(3), to: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('fault' as const), n: fc.integer({ min: 1, max: 6 }), fault: fc.constantFrom<Fault>('eio', 'quota', 'stall', 'crash') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('down' as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('heal' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('fill' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('free' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('restart' as const), kill: fc.boolean() }) },
);

/** A file in the model: the contents it may have (null: absent). One entry: certain. */
type Versions = (Buffer | null)[];

/** `length` bytes that depend on `seed` (xorshift32, one word at a time). */
function pattern(seed: number, length: number): Buffer {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = (seed | 0) || 1;
  for (let i = 0; i < words.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; words[i] = x >>> 0; }
  return Buffer.from(words.buffer, 0, length);
}

function code(e: unknown): string {
  return (e as { code?: string }).code ?? String(e);
}

/** A real tmpfs for the cache (root can mount one); null when this machine cannot. */
function mountTmpfs(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${CACHE_FS_BYTES}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface FaultWorld {
  /** A fresh, empty store of the kind under test. */
  store: Store;
  cleanup(): Promise<void>;
}

export async function runFaultSuite(t: ExecutionContext, open: () => Promise<FaultWorld>, runs: number): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'megafs-faults-'));
  const cacheFs = join(base, 'cachefs');
  mkdirSync(cacheFs);
  const tmpfs = mountTmpfs(cacheFs);
  if (!tmpfs) t.log('no tmpfs (not root?): the cache disk cannot fill up in this run');
  t.teardown(async () => {
    if (tmpfs) execFileSync('umount', ['-l', cacheFs], { stdio: 'ignore' });
    await rm(base, { recursive: true, force: true });
  });
  if (process.env.MEGAFS_FAULT_RUNS) t.timeout(Number(process.env.MEGAFS_FAULT_RUNS) * 3000 + 60_000);
  let run = 0;
  const stats = { actions: 0, restarts: 0, enospc: 0, edquot: 0, eio: 0 };
  const runOne = async (actions: Action[]): Promise<void> => {
    run++;
    const world = await open();
    const faulty = new FaultStore(world.store);
    const keys: DriveKeys = deriveDriveKeys(randomBytes(32), randomBytes(16));
    const dir = join(base, `run${run}`);
    const cacheDir = join(cacheFs, `run${run}`);
    const filler = join(cacheFs, 'filler');
    const opened: VfsHandle[] = [];
    const start = async (machine: string, store: Store, cache = cacheDir): Promise<VfsHandle> => {
      const v = await openVfs({
        store, keys, stateDir: join(dir, machine), cacheDir: cache, cacheSizeBytes: 64 * MiB,
        deviceId: machine, log: () => undefined, commitDelayMs: 20, memCacheBytes: 1, fsyncWaitMs: 500,
      });
      opened.push(v);
      return v;
    };
    const model = new Map<string, Versions>();
    for (const n of NAMES) model.set(n, [null]);
    const uncertain = (path: string, next: Buffer | null): void => {
      const v = model.get(path)!;
      if (v[v.length - 1] !== next) v.push(next);
    };
    const current = (path: string): Buffer | null => { const v = model.get(path)!; return v[v.length - 1]; };
    // An operation that returned after the process "died" (a crash fault fired while it
    // ran) was never acknowledged: a real process would not have answered.
    const settle = (path: string, next: Buffer | null): void => {
      if (crashed) uncertain(path, next);
      else model.set(path, [next]);
    };
    let v: VfsHandle;
    let crashed = false;
    /** The store failed or may fail since the last heal. */
    let troubled = false;
    faulty.onCrash = () => { crashed = true; v.abandon(); };

    const readBack = async (h: VfsHandle, path: string): Promise<Buffer | null> => {
      const attr = await h.getattr(path).catch((e) => { if (code(e) === 'ENOENT') return null; throw e; });
      if (!attr) return null;
      const fh = await h.open(path, fsc.O_RDONLY);
      const buf = Buffer.alloc(attr.size);
      let at = 0;
      while (at < attr.size) { const n = await h.read(fh, buf.subarray(at), attr.size - at, at); if (n === 0) break; at += n; }
      await h.release(fh);
      return buf;
    };
    const check = async (h: VfsHandle, when: string): Promise<void> => {
      for (const [path, versions] of model) {
        const got = await readBack(h, path);
        const ok = versions.some((x) => (x === null ? got === null : got !== null && x.equals(got)));
        if (!ok) {
          throw new Error(`${when}: ${path} reads back ${got === null ? 'absent' : `${got.length} bytes`}; expected ${versions.map((x) => (x === null ? 'absent' : `${x.length} bytes`)).join(' or ')} (actions: ${JSON.stringify(actions)})`);
        }
      }
    };
    const restart = async (kill: boolean): Promise<void> => {
      stats.restarts++;
      faulty.releaseStalls();
      if (kill || crashed) v.abandon();
      else await v.close().catch(() => undefined); // a store that is down: it stays journaled
      faulty.heal();
      troubled = false;
      rmSync(filler, { force: true });
      crashed = false;
      v = await start('a', faulty);
      await check(v, 'after restart');
      // What survived is certain from here on.
      for (const [path] of model) model.set(path, [await readBack(v, path)]);
    };

    // A run that hangs says where (the suite's own timeout would say nothing useful).
    let at = 'start';
    const watchdog = setInterval(() => console.error(`fault suite run ${run} still at ${at} after ${actions.length} actions: ${JSON.stringify(actions)}`), 60_000);
    try {
      v = await start('a', faulty);
      await v.mkdir('/d', 0o755);
      for (const [i, a] of actions.entries()) {
        at = `action ${i} (${a.k})`;
        stats.actions++;
        if (crashed) await restart(true);
        switch (a.k) {
          case 'write': {
            const path = NAMES[a.file];
            const before = current(path);
            let fh: number;
            try {
              fh = await v.open(path, fsc.O_RDWR).catch(async (e) => {
                if (code(e) !== 'ENOENT') throw e;
                return v.create(path, 0o644, fsc.O_RDWR);
              });
            } catch (e) {
              if (crashed) break;
              throw e;
            }
            if (before === null) settle(path, Buffer.alloc(0));
            const base0 = current(path) ?? Buffer.alloc(0);
            const data = pattern(a.seed, a.length);
            const next = Buffer.alloc(Math.max(base0.length, a.offset + a.length));
            base0.copy(next);
            data.copy(next, a.offset);
            let wrote = false;
            try {
              await v.write(fh, data, a.offset);
              wrote = true;
            } catch (e) {
              if (crashed) break;
              // EIO: a partial chunk had to be read back, and it is neither cached (the full
              // disk made room) nor reachable (the store is failing). The write took nothing.
              if (code(e) !== 'ENOSPC' && !(code(e) === 'EIO' && troubled)) throw e;
              stats.enospc++;
            }
            try {
              await v.flush(fh);
              if (wrote) settle(path, next);
            } catch (e) {
              if (crashed) break;
              // EIO only while the store is failing or down and a chunk to seal again (the old
              // last one) is neither cached (the full disk made room) nor reachable.
              if (!['ENOSPC', 'EDQUOT', 'EFBIG'].includes(code(e)) && !(code(e) === 'EIO' && troubled)) {
                throw new Error(`close gave ${code(e)}: ${(e as Error).message}`);
              }
              if (code(e) === 'EDQUOT') stats.edquot++; else stats.enospc++;
              uncertain(path, wrote ? next : current(path));
            } finally {
              await v.release(fh).catch(() => undefined);
            }
            break;
          }
          case 'truncate': {
            const path = NAMES[a.file];
            const cur = current(path);
            if (cur === null) break;
            const fh = await v.open(path, fsc.O_RDWR);
            const next = Buffer.alloc(a.size);
            cur.copy(next, 0, 0, Math.min(cur.length, a.size));
            try {
              await v.ftruncate(fh, a.size);
              await v.flush(fh);
              settle(path, next);
            } catch (e) {
              if (crashed) break;
              if (!['ENOSPC', 'EDQUOT'].includes(code(e)) && !(code(e) === 'EIO' && troubled)) throw e;
              uncertain(path, next);
            } finally {
              await v.release(fh).catch(() => undefined);
            }
            break;
          }
          case 'fsync': {
            const path = NAMES[a.file];
            if (current(path) === null) break;
            const fh = await v.open(path, fsc.O_RDWR);
            try {
              await v.fsync(fh, false);
            } catch (e) {
              if (crashed) break;
              if (!['EIO', 'EDQUOT', 'ENOSPC', 'EFBIG'].includes(code(e))) throw e;
              if (code(e) === 'EIO') stats.eio++;
            } finally {
              await v.release(fh).catch(() => undefined);
            }
            break;
          }
          case 'unlink': {
            const path = NAMES[a.file];
            try {
              await v.unlink(path);
              settle(path, null);
            } catch (e) {
              if (crashed) break;
              if (code(e) !== 'ENOENT' || current(path) !== null) throw e;
            }
            break;
          }
          case 'rename': {
            const from = NAMES[a.from];
            const to = NAMES[a.to];
            if (from === to || current(from) === null) break;
            try {
              await v.rename(from, to);
              if (crashed) {
                model.set(to, [...model.get(to)!, ...model.get(from)!]);
                model.get(from)!.push(null);
              } else {
                model.set(to, model.get(from)!);
                model.set(from, [null]);
              }
            } catch (e) {
              if (crashed) break;
              throw e;
            }
            break;
          }
          case 'fault': faulty.arm(a.n, a.fault); troubled = true; break;
          case 'down': faulty.down = true; troubled = true; break;
          case 'heal': faulty.heal(); troubled = false; break;
          case 'fill':
            if (tmpfs) {
              const free = Number(statfsSync(cacheFs).bavail) * Number(statfsSync(cacheFs).bsize);
              try { writeFileSync(filler, Buffer.alloc(Math.max(0, free))); } catch { /* full */ }
            }
            break;
          case 'free': rmSync(filler, { force: true }); break;
          case 'restart': await restart(a.kill); break;
        }
      }
      at = 'the end';
      if (crashed) await restart(true);
      // The end: store and disk back; everything must go up and read back everywhere.
      faulty.heal();
      rmSync(filler, { force: true });
      at = 'the final sync';
      await v.sync();
      at = 'the final check';
      await check(v, 'at the end');
      at = 'the final close';
      await v.close();
      at = 'the fresh machine';
      const fresh = await start('check', world.store, join(dir, 'check-cache'));
      await check(fresh, 'on a fresh machine (store only)');
      await fresh.close();
    } finally {
      clearInterval(watchdog);
      for (const h of opened) h.abandon();
      faulty.heal();
      rmSync(filler, { force: true });
      await rm(cacheDir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
      await world.cleanup();
    }
  };
  await fc.assert(fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 28 }), (actions) => runOne(actions).catch((e: unknown) => {
    console.error(`fault suite run ${run} failed: ${(e as Error).stack ?? String(e)}`);
    throw e;
  })), {
    // MEGAFS_FAULT_RUNS=N: a longer soak than the default of each test.
    numRuns: Number(process.env.MEGAFS_FAULT_RUNS ?? runs), endOnFailure: true,
    // Replay a failure: MEGAFS_FAULT_SEED=<seed> MEGAFS_FAULT_PATH=<path> from its report.
    ...(process.env.MEGAFS_FAULT_SEED ? { seed: Number(process.env.MEGAFS_FAULT_SEED), path: process.env.MEGAFS_FAULT_PATH } : {}),
    // Or the actions a "still at" line printed: MEGAFS_FAULT_ACTIONS='[...]' (run first).
    ...(process.env.MEGAFS_FAULT_ACTIONS ? { examples: [[JSON.parse(process.env.MEGAFS_FAULT_ACTIONS) as Action[]]] } : {}),
  });
  t.log(`${run} runs, ${stats.actions} actions, ${stats.restarts} restarts; ENOSPC ${stats.enospc}, EDQUOT ${stats.edquot}, fsync EIO ${stats.eio}`);
  t.pass();
}
