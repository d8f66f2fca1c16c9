// The mount benchmark (issue 5): the same workloads through megafs (local directory
// store), through gocryptfs (set up here with -init/-extpass) and through the do-nothing
// in-memory Vfs (the ceiling of the FUSE binding), all under os.tmpdir() (or BENCH_DIR)
// in one run. Workloads run in child processes, never in a process serving a mount.
//   seq write   fio, 1 MiB writes of fresh random data + fsync at the end, MB/s
//   cold read   after a remount and dropping the page cache (root only), dd bs=1M, MB/s
//   rand 4k     fio psync randread, 1 job (QD1) and 16 jobs (QD16), IOPS
//   small files 5,000 x 1 KiB: create, list (stat all), read back, seconds
//   tar x       a tar of node_modules/typescript, extracted, seconds
// Environment: BENCH_MOUNT_MIB (default 1024), BENCH_BINDINGS (default
// "fuse-native,native"), BENCH_DIR. memfs cannot be remounted (it forgets): its cold
// read only drops the page cache.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { megafs, tempHome } from '../test/helpers/cli.js';

const sh = promisify(execFile);
const SIZE_MIB = Number(process.env.BENCH_MOUNT_MIB ?? 1024);
const BINDINGS = (process.env.BENCH_BINDINGS ?? 'fuse-native,native').split(',').filter(Boolean);
const BASE = process.env.BENCH_DIR ?? tmpdir();
const MEMFS = fileURLToPath(new URL('../test/helpers/mount-memfs.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Target {
  name: string;
  dir: string;
  /** Unmount and mount again (empties every cache but the disk's). */
  remount(): Promise<void>;
  stop(): Promise<void>;
}

async function dropCaches(): Promise<void> {
  await sh('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    // not root: the kernel page cache stays warm (said in the output)
  }
}

async function megafsTarget(binding: string): Promise<Target> {
  const home = await tempHome();
  home.env.MEGAFS_FUSE = binding;
  const dir = join(home.dir, 'mnt');
  await mkdir(dir);
  const mount = async (): Promise<void> => {
    const r = await megafs(['mount', dir], home.env);
    if (r.code !== 0) throw new Error(`megafs mount: ${r.stderr}`);
  };
  const unmount = async (): Promise<void> => { await megafs(['unmount', dir], home.env); };
  await mount();
  return { name: `megafs ${binding}`, dir, remount: async () => { await unmount(); await mount(); }, stop: async () => { await unmount(); await home.cleanup(); } };
}

async function gocryptfsTarget(): Promise<Target> {
  const base = await mkdtemp(join(BASE, 'bench-gocryptfs-'));
  const cipher = join(base, 'cipher');
  const dir = join(base, 'mnt');
  await mkdir(cipher);
  await mkdir(dir);
  const pass = ['-extpass', 'echo benchmark-password'];
  await sh('gocryptfs', ['-init', '-q', ...pass, cipher]);
  const mount = async (): Promise<void> => { await sh('gocryptfs', ['-q', ...pass, cipher, dir]); };
  const unmount = async (): Promise<void> => { await sh('fusermount', ['-u', dir]); };
  await mount();
  return { name: 'gocryptfs', dir, remount: async () => { await unmount(); await mount(); }, stop: async () => { await unmount(); await rm(base, { recursive: true, force: true }); } };
}

async function memfsTarget(binding: string): Promise<Target> {
  const base = await mkdtemp(join(BASE, 'bench-memfs-'));
  const dir = join(base, 'mnt');
  await mkdir(dir);
  const child: ChildProcess = spawn(process.execPath, [MEMFS, dir, 'auto'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MEGAFS_FUSE: binding } });
  await new Promise<void>((ok, fail) => {
    child.stdout!.once('data', () => ok());
    child.once('exit', (code) => fail(new Error(`memfs exited ${code}`)));
  });
  return {
    name: `memfs ${binding}`, dir, remount: async () => {},
    stop: async () => {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
      await rm(base, { recursive: true, force: true });
    },
  };
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

async function fioIops(file: string, jobs: number): Promise<number> {
  const { stdout } = await sh('fio', [
    '--name=rand', `--filename=${file}`, `--size=${SIZE_MIB}M`, '--bs=4k', '--rw=randread', '--ioengine=psync',
    `--numjobs=${jobs}`, '--runtime=8', '--time_based', '--group_reporting', '--output-format=json',
  ], { maxBuffer: 16 << 20 });
  return (JSON.parse(stdout) as { jobs: Array<{ read: { iops: number } }> }).jobs[0].read.iops;
}

const SMALL_FILES = `
import os, sys, time
root = sys.argv[1]
t0 = time.time()
for d in range(50):
    os.mkdir(os.path.join(root, 'd%d' % d))
    for f in range(100):
        with open(os.path.join(root, 'd%d' % d, 'f%d' % f), 'wb') as fh:
            fh.write(os.urandom(1024))
n = 0
for dirpath, dirs, files in os.walk(root):
    for name in files:
        os.stat(os.path.join(dirpath, name)); n += 1
for dirpath, dirs, files in os.walk(root):
    for name in files:
        with open(os.path.join(dirpath, name), 'rb') as fh:
            assert len(fh.read()) == 1024
assert n == 5000
print(time.time() - t0)
`;

type Results = Record<string, string>;

async function runAll(t: Target, tarball: string): Promise<Results> {
  const file = join(t.dir, 'seq.bin');
  const mb = (SIZE_MIB * 1024 * 1024) / 1e6;
  const write = await timed(() => sh('fio', [
    '--name=seq', `--filename=${file}`, `--size=${SIZE_MIB}M`, '--bs=1M', '--rw=write', '--refill_buffers',
    '--end_fsync=1', '--ioengine=psync', '--output-format=terse',
  ]));
  await t.remount();
  await dropCaches();
  const read = await timed(() => sh('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', 'status=none']));
  await dropCaches();
  const qd1 = await fioIops(file, 1);
  const qd16 = await fioIops(file, 16);
  await sh('rm', ['-f', file]);
  await mkdir(join(t.dir, 'small'));
  const small = Number((await sh('python3', ['-c', SMALL_FILES, join(t.dir, 'small')])).stdout);
  await mkdir(join(t.dir, 'tar'));
  const tar = await timed(() => sh('tar', ['xf', tarball, '-C', join(t.dir, 'tar')]));
  return {
    [`seq write ${SIZE_MIB} MiB + fsync (MB/s)`]: (mb / write).toFixed(0),
    'cold seq read (MB/s)': (mb / read).toFixed(0),
    'rand 4k read QD1 (IOPS)': qd1.toFixed(0),
    'rand 4k read QD16 (IOPS)': qd16.toFixed(0),
    '5,000 files create+list+read (s)': small.toFixed(2),
    'tar x typescript (s)': tar.toFixed(2),
  };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(BASE, 'bench-mount-'));
  const tarball = join(work, 'typescript.tar');
  await sh('tar', ['cf', tarball, '-C', join(ROOT, 'node_modules'), 'typescript']);
  const makers: Array<() => Promise<Target>> = [];
  for (const b of BINDINGS) makers.push(() => megafsTarget(b));
  if (existsSync('/usr/bin/gocryptfs')) makers.push(gocryptfsTarget);
  for (const b of BINDINGS) makers.push(() => memfsTarget(b));
  const columns: Array<{ name: string; r: Results }> = [];
  for (const make of makers) {
    const t = await make();
    try {
      columns.push({ name: t.name, r: await runAll(t, tarball) });
    } finally {
      await t.stop();
    }
  }
  await rm(work, { recursive: true, force: true });
  const rows = Object.keys(columns[0].r);
  const w0 = Math.max(...rows.map((r) => r.length));
  const widths = columns.map((c) => Math.max(c.name.length, 8));
  console.log(`mount benchmark, ${SIZE_MIB} MiB files, ${process.getuid?.() === 0 ? 'page cache dropped for cold reads' : 'not root: page cache NOT dropped'}`);
  console.log(`${''.padEnd(w0)}  ${columns.map((c, i) => c.name.padStart(widths[i])).join('  ')}`);
  for (const row of rows) console.log(`${row.padEnd(w0)}  ${columns.map((c, i) => c.r[row].padStart(widths[i])).join('  ')}`);
}

await main();
