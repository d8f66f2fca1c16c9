// PUT and GET throughput of 1 MiB objects, 8 in flight: plain files (writeFile + fsync,
// readFile) beside FsStore and HttpStore -> `megafs serve` (a child process on loopback),
// all on the same disk (os.tmpdir() or BENCH_DIR) in the same run. Prints MB/s and the
// share of the plain-file rate. GET runs twice: warm (the objects in the page cache, so
// memory and the HTTP path are measured) and, as root, cold (page cache dropped first,
// so what the disk does is measured). BENCH_STORE_COUNT sets the object count (default 256).
// Each backend first moves WARMUP other objects (not timed), so a just-started server's
// JIT warm-up is not what is measured (a server runs for days). Then, with wrk installed,
// megafs serve alone (bench/wrk.ts: no client hashing in the way), and PUT and cold GET of
// plain files and megafs serve in turns (BENCH_STORE_ROUNDS rounds, default 3): the
// median ratio is steadier than one pair on a machine whose runs swing.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../src/store/fs.js';
import { signup } from '../src/store/http-account.js';
import { bearer } from '../src/store/http-client.js';
import { HttpStore } from '../src/store/http.js';
import type { Store } from '../src/store/store.js';
import { startServe } from './serve-child.js';
import { median, pairInTurns } from './turns.js';
import { haveWrk, wrkGet, type WrkResult } from './wrk.js';
import { keepFreedHeap } from '../src/platform/heap.js';

// The heap setting every megafs process makes (src/cli/main.ts); the plain-file baseline
// runs in this same process, so it gets it too.
keepFreedHeap();

const MiB = 1024 * 1024;
const COUNT = Number(process.env.BENCH_STORE_COUNT ?? 256);
const IN_FLIGHT = 8;
const WARMUP = 32;
/** Rounds of plain files and megafs serve in turns (see inTurns). */
const ROUNDS = Number(process.env.BENCH_STORE_ROUNDS ?? 3);
const BASE = process.env.BENCH_DIR ?? tmpdir();

/** Objects the server-alone cold GET spreads over: enough that wrk's shortest run (1 s)
 *  never asks for one twice (~1.3 GB/s measured here). */
const WRK_COLD_COUNT = Number(process.env.BENCH_WRK_COUNT ?? 2048);

interface Obj { id: string; body: Uint8Array }
interface Rate { mbps: number; cpuMsPerMB: number }
interface Row { name: string; put: Rate; get: Rate; cold: Rate | null; serverPid?: number; serverPut?: number; serverGet?: number }

/** utime + stime of process `pid` in ms (USER_HZ = 100). */
function cpuMsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Empties the page cache (root only): the next reads come from the disk. False when not allowed. */
function dropCaches(): boolean {
  try {
    spawnSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

async function pool(work: (i: number) => Promise<void>, count = COUNT): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < count) await work(next++);
  }));
}

/** MB/s and this process's CPU ms per MB; `serverCpu` adds a server's CPU ms per MB. */
async function rate(work: (i: number) => Promise<void>, serverPid?: number): Promise<Rate & { serverMsPerMB?: number }> {
  const mb = (COUNT * MiB) / 1e6;
  const c0 = process.cpuUsage();
  const s0 = serverPid ? cpuMsOf(serverPid) : 0;
  const t0 = performance.now();
  await pool(work);
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return {
    mbps: mb / seconds,
    cpuMsPerMB: (c.user + c.system) / 1000 / mb,
    ...(serverPid ? { serverMsPerMB: (cpuMsOf(serverPid) - s0) / mb } : {}),
  };
}

/** The plain-file baseline's PUT: write and fsync `o` as DIR/<id>. */
async function plainPut(dir: string, o: Obj): Promise<void> {
  const fh = await open(join(dir, o.id), 'w');
  await fh.writeFile(o.body);
  await fh.sync();
  await fh.close();
}

/** The plain-file baseline's GET: read DIR/<id> whole. */
async function plainGet(dir: string, o: Obj): Promise<void> {
  await readFile(join(dir, o.id));
}

async function plainFiles(objs: Obj[], warm: Obj[]): Promise<Row> {
  const dir = await mkdtemp(join(BASE, 'megafs-bench-plain-'));
  try {
    const putOne = (o: Obj): Promise<void> => plainPut(dir, o);
    const getOne = (o: Obj): Promise<void> => plainGet(dir, o);
    await pool((i) => putOne(warm[i]), warm.length);
    await pool((i) => getOne(warm[i]), warm.length);
    const put = await rate((i) => putOne(objs[i]));
    const get = await rate((i) => getOne(objs[i]));
    const cold = dropCaches() ? await rate((i) => getOne(objs[i])) : null;
    return { name: 'plain files (writeFile+fsync / readFile)', put, get, cold };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function throughStore(name: string, store: Store, objs: Obj[], warm: Obj[], serverPid?: number): Promise<Row> {
  await pool((i) => store.put(warm[i].id, warm[i].body), warm.length);
  await pool(async (i) => void (await store.get(warm[i].id)), warm.length);
  const put = await rate((i) => store.put(objs[i].id, objs[i].body), serverPid);
  const get = await rate(async (i) => void (await store.get(objs[i].id)), serverPid);
  const cold = dropCaches() ? await rate(async (i) => void (await store.get(objs[i].id)), serverPid) : null;
  return { name, put, get, cold, serverPut: put.serverMsPerMB, serverGet: get.serverMsPerMB };
}

const make = (n: number): Obj[] => Array.from({ length: n }, () => {
  const body = new Uint8Array(randomBytes(MiB));
  return { id: createHash('sha256').update(body).digest('hex'), body };
});

interface Alone { warm: number; cold: number | null; note: string }

/** megafs serve alone, measured by wrk (bench/wrk.ts): warm GETs of the bench's objects,
 *  then cold GETs of WRK_COLD_COUNT objects (the rest uploaded here first, 64 at a time). */
async function serverAlone(url: string, auth: string, store: Store, objs: Obj[]): Promise<Alone> {
  const ids = objs.map((o) => o.id);
  for (let left = WRK_COLD_COUNT - ids.length; left > 0; left -= 64) {
    const batch = make(Math.min(64, left));
    await Promise.all(batch.map((o) => store.put(o.id, o.body)));
    ids.push(...batch.map((o) => o.id));
  }
  const mbps = (r: WrkResult): number => (r.requests * MiB) / 1e6 / r.seconds;
  const warmIds = ids.slice(0, objs.length);
  for (const id of warmIds) await store.get(id); // in the server's page cache
  wrkGet(url, auth, warmIds, 1); // the server's JIT warmed up, not timed
  const warm = wrkGet(url, auth, warmIds, 3);
  if (!dropCaches()) return { warm: mbps(warm), cold: null, note: '' };
  const cold = wrkGet(url, auth, ids, 1);
  const note = cold.wrapped ? ` (cold GET ran out of objects and repeated some: raise BENCH_WRK_COUNT above ${ids.length})` : '';
  return { warm: mbps(warm), cold: mbps(cold), note };
}

interface Turns { put: [number, number][]; cold: [number, number][] }

/** Plain files and `store` in turns (who goes first alternates), ROUNDS times, each round
 *  on fresh objects: PUT, then cold GET. On this VM the same plain write ranges 2x within
 *  minutes (fresh host memory), so one pair can mislead; the median ratio of several
 *  pairs is the figure to quote. Pairs are [plain, store] MB/s. */
async function inTurns(store: Store): Promise<Turns> {
  const out: Turns = { put: [], cold: [] };
  const mbps = async (work: (i: number) => Promise<void>): Promise<number> => (await rate(work)).mbps;
  const canDrop = dropCaches();
  for (let r = 0; r < ROUNDS; r++) {
    const objs = make(COUNT);
    const dir = await mkdtemp(join(BASE, 'megafs-bench-turns-'));
    try {
      const plainPuts = (): Promise<number> => mbps((i) => plainPut(dir, objs[i]));
      const storePuts = (): Promise<number> => mbps((i) => store.put(objs[i].id, objs[i].body));
      const plainCold = (): Promise<number> => (dropCaches(), mbps((i) => plainGet(dir, objs[i])));
      const storeCold = (): Promise<number> => (dropCaches(), mbps(async (i) => void (await store.get(objs[i].id))));
      out.put.push(await pairInTurns(r, plainPuts, storePuts));
      if (canDrop) out.cold.push(await pairInTurns(r, plainCold, storeCold));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const objs = make(COUNT);
  const warm = make(WARMUP);
  const rows: Row[] = [await plainFiles(objs, warm)];

  const fsDir = await mkdtemp(join(BASE, 'megafs-bench-fs-'));
  try {
    rows.push(await throughStore('FsStore', await FsStore.open(fsDir), objs, warm));
  } finally {
    await rm(fsDir, { recursive: true, force: true });
  }

  const serveDir = await mkdtemp(join(BASE, 'megafs-bench-serve-'));
  let server: Awaited<ReturnType<typeof startServe>> | null = null;
  let alone: Alone | null = null;
  let turns: Turns | null = null;
  try {
    server = await startServe(serveDir);
    const authSecret = new Uint8Array(randomBytes(32));
    await signup(server.url, 'bench', authSecret, null);
    const store = new HttpStore({ url: server.url, user: 'bench', authSecret });
    rows.push(await throughStore('HttpStore -> megafs serve (loopback)', store, objs, warm, server.pid));
    if (haveWrk()) alone = await serverAlone(server.url, bearer('bench', authSecret), store, objs);
    if (ROUNDS > 0) turns = await inTurns(store);
    await store.close();
  } finally {
    server?.stop();
    await rm(serveDir, { recursive: true, force: true });
  }

  const base = rows[0];
  const pct = (v: number, b: number): string => `${Math.round((100 * v) / b)}%`;
  const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2));
  console.log(`\nstore throughput: ${COUNT} x 1 MiB objects, ${IN_FLIGHT} in flight, in ${BASE}`);
  const coldOf = (r: Row): string => (r.cold && base.cold ? `${r.cold.mbps.toFixed(0)} (${pct(r.cold.mbps, base.cold.mbps)})` : '-');
  console.log('| backend | PUT MB/s | GET MB/s warm | PUT vs plain | GET warm vs plain | GET MB/s cold (vs plain) | client CPU ms/MB put/get | server CPU ms/MB put/get |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.put.mbps.toFixed(0)} | ${r.get.mbps.toFixed(0)} | ${pct(r.put.mbps, base.put.mbps)} | ` +
      `${pct(r.get.mbps, base.get.mbps)} | ${coldOf(r)} | ${ms(r.put.cpuMsPerMB)} / ${ms(r.get.cpuMsPerMB)} | ${ms(r.serverPut)} / ${ms(r.serverGet)} |`);
  }
  if (alone) {
    const cold = alone.cold !== null && base.cold ? `${alone.cold.toFixed(0)} (${pct(alone.cold, base.cold.mbps)})` : '-';
    console.log(`| megafs serve alone (wrk: 2 threads, 8 connections, GET only) | - | ${alone.warm.toFixed(0)} | - | ${pct(alone.warm, base.get.mbps)} | ${cold} | - | - |`);
    if (alone.note) console.log(alone.note.trim());
  } else {
    console.log('megafs serve alone not measured: wrk is not installed (apt-get install wrk)');
  }
  if (turns) {
    const show = (what: string, pairs: [number, number][]): void => {
      if (pairs.length === 0) return;
      const each = pairs.map(([p, v]) => `${v.toFixed(0)}/${p.toFixed(0)}`).join(', ');
      console.log(`${what} in turns with plain files (megafs serve / plain MB/s): ${each}; median ${pct(median(pairs.map(([p, v]) => v / p)), 1)} of plain`);
    };
    show('PUT', turns.put);
    show('cold GET', turns.cold);
  }
  if (!base.cold) console.log('cold GET not measured: dropping the page cache needs root');
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
}

await main();
