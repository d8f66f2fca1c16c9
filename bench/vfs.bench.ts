// The vfs data path against plain file I/O on the same disk, same run: sequential write
// (then fsync) and read of BENCH_VFS_MB (default 1024) in 1 MiB calls, and random 4 KiB
// reads, through the Vfs API with an FsStore (local directory). "warm" reads come from
// the same mount (disk cache + memory cache), "cold" from a fresh mount with an empty
// cache (store -> cache -> decrypt), from the FsStore and from `megafs serve` on loopback
// (BENCH_VFS_SERVE=0 skips that). Also prints peak RSS (sampled every 50 ms) against
// the configured caches. BENCH_DIR picks the disk (default os.tmpdir()). The memory cache
// is the product default (defaultMemCacheBytes(): from the RAM; MEGAFS_MEM_CACHE_MB
// overrides it), printed with the results. Writes are also measured alone, plain and vfs
// in turns, BENCH_VFS_ROUNDS times (default 3): on a virtual machine whose freed memory
// goes back to the host (virtio-balloon free page reporting, as on the build machine),
// one write's speed depends on what ran just before it (plain writes of 1 GiB measured
// 300-1,185 MB/s within minutes), so one pair can be off by 2x either way.
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkKeyFor, sealChunk } from '../src/crypto/chunk.js';
import { sealedSize } from '../src/crypto/object.js';
import { deriveDriveKeys } from '../src/crypto/keys.js';
import { nodePlatform } from '../src/platform/node.js';
import { FsStore } from '../src/store/fs.js';
import { signup } from '../src/store/http-account.js';
import { HttpStore } from '../src/store/http.js';
import type { Store } from '../src/store/store.js';
import { startServe } from './serve-child.js';
import { median, pairInTurns } from './turns.js';
import { keepFreedHeap } from '../src/platform/heap.js';
import { defaultMemCacheBytes, openVfs, type VfsHandle } from '../src/vfs/index.js';

// The heap setting every megafs process makes (src/cli/main.ts); the plain-file baseline
// runs in this same process, so it gets it too.
keepFreedHeap();

const MiB = 1 << 20;
const TOTAL_MB = Number(process.env.BENCH_VFS_MB ?? 1024);
const RANDOM_READS = 2000;
const BASE = process.env.BENCH_DIR ?? tmpdir();
const MEM_CACHE = defaultMemCacheBytes();
const DISK_CACHE = 4 * TOTAL_MB * MiB;
const ROUNDS = Number(process.env.BENCH_VFS_ROUNDS ?? 3);

/** Copy every object and the root of `from` into `to` (not timed). */
async function copyStore(from: Store, to: Store): Promise<void> {
  const ids: string[] = [];
  for await (const id of from.list()) ids.push(id);
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < ids.length) { const id = ids[next++]; await to.put(id, await from.get(id)); }
  }));
  const root = await from.getRoot();
  if (root) await to.casRoot(null, root.bytes);
}

let peakRss = 0;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 50);

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (TOTAL_MB * MiB) / 1e6 / ((performance.now() - t0) / 1000);
}

async function plain(dir: string, block: Uint8Array) {
  const path = join(dir, 'plain.bin');
  const write = await timed(async () => {
    const fh = await open(path, 'w');
    for (let i = 0; i < TOTAL_MB; i++) await fh.write(block, 0, MiB, i * MiB);
    await fh.sync();
    await fh.close();
  });
  const buf = new Uint8Array(MiB);
  const read = await timed(async () => {
    const fh = await open(path, 'r');
    for (let i = 0; i < TOTAL_MB; i++) await fh.read(buf, 0, MiB, i * MiB);
    await fh.close();
  });
  const fh = await open(path, 'r');
  const t0 = performance.now();
  for (let i = 0; i < RANDOM_READS; i++) await fh.read(buf, 0, 4096, Math.floor(Math.random() * (TOTAL_MB * MiB - 4096)));
  const iops = RANDOM_READS / ((performance.now() - t0) / 1000);
  await fh.close();
  return { write, read, iops };
}

async function readVfs(v: VfsHandle, buf: Uint8Array): Promise<void> {
  const fh = await v.open('/big.bin', fsc.O_RDONLY);
  for (let i = 0; i < TOTAL_MB; i++) await v.read(fh, buf, MiB, i * MiB);
  await v.release(fh);
}

async function vfs(dir: string, block: Uint8Array) {
  const store = await FsStore.open(join(dir, 'store'));
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  const mount = (name: string): Promise<VfsHandle> => openVfs({
    store, keys, stateDir: join(dir, name, 'state'), cacheDir: join(dir, name, 'cache'), cacheSizeBytes: DISK_CACHE,
    deviceId: name, log: () => undefined,
  });
  const v = await mount('a');
  const write = await timed(async () => {
    const fh = await v.create('/big.bin', 0o644, fsc.O_WRONLY);
    for (let i = 0; i < TOTAL_MB; i++) await v.write(fh, block, i * MiB);
    await v.fsync(fh, false);
    await v.release(fh);
  });
  const buf = new Uint8Array(MiB);
  const warm = await timed(() => readVfs(v, buf));
  const fh = await v.open('/big.bin', fsc.O_RDONLY);
  const t0 = performance.now();
  for (let i = 0; i < RANDOM_READS; i++) await v.read(fh, buf, 4096, Math.floor(Math.random() * (TOTAL_MB * MiB - 4096)));
  const iops = RANDOM_READS / ((performance.now() - t0) / 1000);
  await v.release(fh);
  await v.close();
  const w = await mount('b');
  const cold = await timed(() => readVfs(w, buf));
  await w.close();
  let serveCold = NaN;
  if (process.env.BENCH_VFS_SERVE !== '0') {
    const server = await startServe(join(dir, 'serve'));
    try {
      const authSecret = new Uint8Array(randomBytes(32));
      await signup(server.url, 'bench', authSecret, null);
      const http = new HttpStore({ url: server.url, user: 'bench', authSecret });
      await copyStore(store, http);
      const s = await openVfs({
        store: http, keys, stateDir: join(dir, 'c', 'state'), cacheDir: join(dir, 'c', 'cache'), cacheSizeBytes: DISK_CACHE,
        deviceId: 'c', log: () => undefined,
      });
      serveCold = await timed(() => readVfs(s, buf));
      await s.close();
      await http.close();
    } finally {
      server.stop();
    }
  }
  return { write, warm, cold, serveCold, iops };
}

/** Write + fsync of TOTAL_MB to a fresh plain file, then delete it: MB/s. */
async function plainWrite(dir: string, block: Uint8Array): Promise<number> {
  const path = join(dir, 'round.bin');
  try {
    return await timed(async () => {
      const fh = await open(path, 'w');
      for (let i = 0; i < TOTAL_MB; i++) await fh.write(block, 0, MiB, i * MiB);
      await fh.sync();
      await fh.close();
    });
  } finally {
    await rm(path, { force: true });
  }
}

/** Write + fsync of TOTAL_MB through a fresh drive (FsStore), then delete it: MB/s. */
async function vfsWrite(dir: string, block: Uint8Array): Promise<number> {
  const root = await mkdtemp(join(dir, 'round-'));
  try {
    const v = await openVfs({
      store: await FsStore.open(join(root, 'store')), keys: deriveDriveKeys(randomBytes(32), randomBytes(16)),
      stateDir: join(root, 'state'), cacheDir: join(root, 'cache'), cacheSizeBytes: DISK_CACHE, deviceId: 'r', log: () => undefined,
    });
    const rate = await timed(async () => {
      const fh = await v.create('/big.bin', 0o644, fsc.O_WRONLY);
      for (let i = 0; i < TOTAL_MB; i++) await v.write(fh, block, i * MiB);
      await v.fsync(fh, false);
      await v.release(fh);
    });
    await v.close();
    return rate;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The ceiling: sealing 1 MiB chunks (XChaCha20-Poly1305 + SHA-256 id) on this machine, now,
 *  on one thread (the write path seals on the thread pool, so it can use more than one core). */
function sealRate(block: Uint8Array): number {
  const key = chunkKeyFor(randomBytes(32));
  const fileId = randomBytes(16);
  const n = 64;
  const out = new Uint8Array(sealedSize(MiB)); // reused, as the write path reuses its buffers
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sealChunk(nodePlatform, key, { fileId, chunkIndex: i, isLast: false }, block, undefined, out);
  return (n * MiB) / 1e6 / ((performance.now() - t0) / 1000);
}

const dir = await mkdtemp(join(BASE, 'megafs-bench-vfs-'));
try {
  const block = randomBytes(MiB);
  console.log(`${TOTAL_MB} MiB in 1 MiB calls; ${cpus().length} CPUs, load ${loadavg()[0].toFixed(1)}; dir ${BASE}`);
  const p = await plain(dir, block);
  const v = await vfs(dir, block);
  const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(0)}%`;
  console.log('                         plain file      vfs (FsStore)   vfs/plain');
  console.log(`seq write + fsync MB/s   ${p.write.toFixed(0).padStart(10)}  ${v.write.toFixed(0).padStart(14)}   ${pct(v.write, p.write)}`);
  console.log(`seq read (warm) MB/s     ${p.read.toFixed(0).padStart(10)}  ${v.warm.toFixed(0).padStart(14)}   ${pct(v.warm, p.read)}`);
  console.log(`seq read (cold) MB/s     ${'-'.padStart(10)}  ${v.cold.toFixed(0).padStart(14)}`);
  console.log(`cold read, serve MB/s    ${'-'.padStart(10)}  ${v.serveCold.toFixed(0).padStart(14)}   (megafs serve on loopback)`);
  console.log(`random 4 KiB reads/s     ${p.iops.toFixed(0).padStart(10)}  ${v.iops.toFixed(0).padStart(14)}   ${pct(v.iops, p.iops)}`);
  console.log(`sealChunk alone MB/s      ${sealRate(block).toFixed(0).padStart(10)}   (the crypto ceiling for writes)`);
  if (ROUNDS > 0) {
    const plains: number[] = [];
    const vfss: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first, so neither always inherits the other's freed memory.
      const [plainRate, vfsRate] = await pairInTurns(r, () => plainWrite(dir, block), () => vfsWrite(dir, block));
      plains.push(plainRate);
      vfss.push(vfsRate);
    }
    const list = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
    console.log(`seq write + fsync alone, ${ROUNDS} rounds in turns: plain ${list(plains)} MB/s; vfs ${list(vfss)} MB/s; ` +
      `median ratio ${pct(median(vfss.map((v, i) => v / plains[i])), 1)}`);
  }
  console.log(`peak RSS ${(peakRss / MiB).toFixed(0)} MiB (memory cache ${MEM_CACHE / MiB} MiB: the default; crypto workers ${process.env.MEGAFS_CRYPTO_WORKERS ?? 'default'})`);
} finally {
  clearInterval(sampler);
  await rm(dir, { recursive: true, force: true });
}
