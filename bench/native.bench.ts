// The two FUSE bindings side by side: the do-nothing in-memory Vfs (the ceiling of each
// binding) and megafs itself (local directory store), each on native (libfuse3,
// src/fuse/lowlevel) and on fuse-native. Workloads run in child processes (never in the
// process serving the mount). Wall-clock figures: on a busy machine, compare columns of
// one run only. Usage: npm run bench -- native
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadNative } from '../src/fuse/lowlevel/binding.js';
import { megafs, tempHome } from '../test/helpers/cli.js';

const sh = promisify(execFile);
const MiB = 1 << 20;
const SEQ_MIB = Number(process.env.BENCH_SEQ_MIB ?? 256);
const SMALL_MIB = Number(process.env.BENCH_SMALL_MIB ?? 16);
const FILES = 1000;
const isRoot = process.getuid?.() === 0;
const dist = (p: string): string => pathToFileURL(join(import.meta.dirname, '..', p)).href;

/** The in-memory Vfs in a child, on `binding`, attribute cache of 1 us (every stat
 *  reaches the binding; fuse-native treats 0 as "default"). SIGUSR2 prints its CPU use. */
const MEMFS_CHILD = `
import { MemVfs } from '${dist('src/fuse/memfs.js')}';
import { mountVfs } from '${dist('src/fuse/mount.js')}';
const m = await mountVfs(new MemVfs(), process.argv[1], { binding: process.argv[2], attrTimeoutS: 0.000001 });
process.stdout.write('ready\\n');
process.on('SIGUSR2', () => { const u = process.cpuUsage(); process.stdout.write('cpu ' + (u.user + u.system) + '\\n'); });
process.on('SIGTERM', () => m.unmount().then(() => process.exit(0)));
`;

/** One workload, timed inside a child process; prints seconds and bytes as JSON. */
const WORKLOAD = `
import fs from 'node:fs';
const [op, path, a, b] = process.argv.slice(1);
const t0 = performance.now();
let bytes = 0, ops = 0;
if (op === 'write' || op === 'overwrite') {
  const bs = Number(a), total = Number(b), buf = Buffer.alloc(bs, 0x5a);
  const fd = fs.openSync(path, op === 'write' ? 'w' : 'r+');
  for (; bytes < total; bytes += bs) fs.writeSync(fd, buf);
  fs.fsyncSync(fd); fs.closeSync(fd);
} else if (op === 'read') {
  const buf = Buffer.alloc(Number(a)), fd = fs.openSync(path, 'r');
  for (let n; (n = fs.readSync(fd, buf)) > 0;) bytes += n;
  fs.closeSync(fd);
} else if (op === 'lookup') {
  // Names that do not exist: every stat is one LOOKUP round trip (no cache can answer).
  for (const end = t0 + Number(a); performance.now() < end; ops++) fs.statSync(path + ops, { throwIfNoEntry: false });
} else if (op === 'files') {
  const dir = path, buf = Buffer.alloc(4096, 1);
  fs.mkdirSync(dir);
  for (let i = 0; i < Number(a); i++) fs.writeFileSync(dir + '/f' + i, buf);
  for (const name of fs.readdirSync(dir)) { fs.statSync(dir + '/' + name); bytes += fs.readFileSync(dir + '/' + name).length; ops++; }
}
process.stdout.write(JSON.stringify({ s: (performance.now() - t0) / 1000, bytes, ops }));
`;

interface Run { s: number; bytes: number; ops: number }

async function workload(args: string[]): Promise<Run> {
  const r = await sh(process.execPath, ['--input-type=module', '-e', WORKLOAD, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(r.stdout) as Run;
}

async function dropCaches(): Promise<void> {
  if (isRoot) await sh('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']);
}

type Row = Record<string, string>;
const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** The workloads on a mounted directory: a column of figures. `serverCpuUs` reads the
 *  serving process's CPU microseconds, when it can. */
async function measure(dir: string, serverCpuUs?: () => Promise<number>): Promise<Row> {
  const row: Row = {};
  const cpu = serverCpuUs ?? (async () => 0);
  if (serverCpuUs) {
    const cpu0 = await cpu();
    const s = await workload(['lookup', join(dir, 'missing-'), '2000']);
    row['lookup round trips (/s)'] = fmt(s.ops / s.s);
    row['  server CPU per request (us)'] = fmt(((await cpu()) - cpu0) / s.ops);
  }
  // The in-memory Vfs allocates its blocks on first write (page faults that are not the
  // binding's): its column overwrites a file written once before.
  if (serverCpuUs) await workload(['write', join(dir, 'seq'), String(MiB), String(SEQ_MIB * MiB)]);
  const cpu1 = await cpu();
  const w = await workload([serverCpuUs ? 'overwrite' : 'write', join(dir, 'seq'), String(MiB), String(SEQ_MIB * MiB)]);
  row[`seq write 1 MiB + fsync (MB/s, ${SEQ_MIB} MiB)`] = fmt(w.bytes / 1e6 / w.s);
  if (serverCpuUs) row['  server CPU per MiB written (ms)'] = fmt(((await cpu()) - cpu1) / 1000 / SEQ_MIB);
  await dropCaches();
  const cpu2 = await cpu();
  const r = await workload(['read', join(dir, 'seq'), String(MiB)]);
  row[`seq read 1 MiB${isRoot ? ', cold' : ''} (MB/s)`] = fmt(r.bytes / 1e6 / r.s);
  if (serverCpuUs) row['  server CPU per MiB read (ms)'] = fmt(((await cpu()) - cpu2) / 1000 / SEQ_MIB);
  const small = await workload(['write', join(dir, 'small'), '4096', String(SMALL_MIB * MiB)]);
  row[`4 KiB writes + fsync (MB/s, ${SMALL_MIB} MiB)`] = fmt(small.bytes / 1e6 / small.s);
  const f = await workload(['files', join(dir, 'many'), String(FILES)]);
  row[`create+stat+read ${FILES} x 4 KiB (files/s)`] = fmt(f.ops / f.s);
  return row;
}

async function memfsColumn(binding: string): Promise<Row> {
  const base = await mkdtemp(join(tmpdir(), 'megafs-bench-native-'));
  const dir = join(base, 'mnt');
  await mkdir(dir);
  const child = spawn(process.execPath, ['--input-type=module', '-e', MEMFS_CHILD, dir, binding], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((ok) => child.on('exit', ok));
  await new Promise<void>((ok, fail) => {
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) ok(); });
    child.on('exit', () => fail(new Error('the in-memory mount did not start')));
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const cpuUs = async (): Promise<number> => {
    out = '';
    child.kill('SIGUSR2');
    for (let waited = 0; !/cpu \d+\n/.test(out); waited += 5) {
      if (waited > 10_000 || child.exitCode !== null) throw new Error('the in-memory mount stopped answering');
      await new Promise((ok) => setTimeout(ok, 5));
    }
    return Number(/cpu (\d+)/.exec(out)![1]);
  };
  try {
    return await measure(dir, cpuUs);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await rm(base, { recursive: true, force: true });
  }
}

async function megafsColumn(binding: string): Promise<Row> {
  const home = await tempHome();
  home.env.MEGAFS_FUSE = binding;
  const dir = join(home.dir, 'mnt');
  await mkdir(dir);
  const up = await megafs(['mount', dir], home.env);
  if (up.code !== 0) throw new Error(`megafs mount: ${up.stderr}`);
  try {
    return await measure(dir);
  } finally {
    await megafs(['unmount', dir], home.env);
    await home.cleanup();
  }
}

const columns: Array<[string, () => Promise<Row>]> = [];
const nativeOk = !('error' in loadNative());
for (const b of nativeOk ? ['native', 'fuse-native'] : ['fuse-native']) {
  columns.push([`in-memory on ${b}`, () => memfsColumn(b)]);
}
for (const b of nativeOk ? ['native', 'fuse-native'] : ['fuse-native']) {
  columns.push([`megafs on ${b}`, () => megafsColumn(b)]);
}
if (!nativeOk) console.log(`native binding not available here: ${(loadNative() as { error: string }).error}`);

const results: Array<[string, Row]> = [];
for (const [name, run] of columns) {
  try {
    results.push([name, await run()]);
  } catch (err) {
    console.log(`${name}: failed: ${(err as Error).message.split('\n')[0]}`);
  }
}
const rowNames = [...new Set(results.flatMap(([, r]) => Object.keys(r)))];
const width = Math.max(...rowNames.map((n) => n.length));
console.log(`${''.padEnd(width)}  ${results.map(([n]) => n.padStart(22)).join('')}`);
for (const row of rowNames) {
  console.log(`${row.padEnd(width)}  ${results.map(([, r]) => (r[row] ?? '-').padStart(22)).join('')}`);
}
