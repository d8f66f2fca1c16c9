// The collector (src/drive/gc.ts, what `megafs gc` runs) on a directory store: a drive of
// BENCH_GC_FILES small files (default 5,000, 1-4 KiB, 100 to a directory) and one file of
// BENCH_GC_MIB MiB (default 200) that was then removed (and the bin emptied). This process writes the drive
// through the vfs (in os.tmpdir() or BENCH_DIR); the collection runs in a child process of
// its own, so its peak RSS is the collector's alone (start, open the store, collect), with
// every version but the newest forgotten and no clock allowance (one machine), as
// `megafs gc --forget-older-than 0 --clock-allowance 0`. The steps are timed through the
// collector's test hooks. The store's files are in the page cache (just written).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsc, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveDriveKeys } from '../src/crypto/keys.js';
import { collect } from '../src/drive/gc.js';
import { fromHex, toHex } from '../src/format/bytes.js';
import { FsStore } from '../src/store/fs.js';
import { openVfs } from '../src/vfs/index.js';
import { keepFreedHeap } from '../src/platform/heap.js';

keepFreedHeap();

const MiB = 1 << 20;
const FILES = Number(process.env.BENCH_GC_FILES ?? 5000);
const BIG_MIB = Number(process.env.BENCH_GC_MIB ?? 200);
const PER_DIR = 100;
const BASE = process.env.BENCH_DIR ?? tmpdir();

interface ChildResult {
  objects: number; bytes: number; deleted: number; deletedBytes: number; marked: number;
  lockMs: number; listMs: number; markMs: number; deleteMs: number; totalMs: number; maxRssMiB: number; startRssMiB: number;
}

/** This process's peak RSS: VmHWM, which starts afresh at exec (getrusage's maxRSS
 *  keeps the parent's high-water mark from before the exec). */
function peakRssMiB(): number {
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return kib ? Number(kib[1]) / 1024 : NaN;
}

/** In the child: collect the store in `dir` and print one JSON line. */
async function child(dir: string, masterHex: string, driveIdHex: string): Promise<void> {
  const startRssMiB = process.memoryUsage().rss / MiB;
  const store = await FsStore.open(dir);
  const keys = deriveDriveKeys(fromHex(masterHex), fromHex(driveIdHex));
  const t: number[] = [performance.now()];
  const mark = async (): Promise<void> => { t.push(performance.now()); };
  const r = await collect({ store, stores: [store], keys }, {
    dryRun: false, deviceIdHex: 'b'.repeat(32), cacheDir: null, forgetOlderThanMs: 0, clockAllowanceMs: 0,
    hooks: { afterLock: mark, afterList: mark, afterMark: mark },
  });
  t.push(performance.now());
  await store.close();
  const s = r.stores[0];
  const out: ChildResult = {
    objects: s.objects, bytes: s.bytes, deleted: s.deleted, deletedBytes: s.deletedBytes, marked: r.live.objects,
    lockMs: t[1] - t[0], listMs: t[2] - t[1], markMs: t[3] - t[2], deleteMs: t[4] - t[3], totalMs: t[4] - t[0],
    maxRssMiB: peakRssMiB(), startRssMiB,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function writeDrive(work: string): Promise<{ master: Uint8Array; driveId: Uint8Array; storeDir: string }> {
  const storeDir = join(work, 'store');
  const store = await FsStore.open(storeDir);
  const master = randomBytes(32);
  const driveId = randomBytes(16);
  const v = await openVfs({
    store, keys: deriveDriveKeys(master, driveId), stateDir: join(work, 'state'), cacheDir: join(work, 'cache'),
    cacheSizeBytes: 4 * 1024 * MiB, deviceId: 'bench', log: () => undefined,
  });
  for (let d = 0; d * PER_DIR < FILES; d++) {
    await v.mkdir(`/d${d}`, 0o755);
    for (let i = d * PER_DIR; i < Math.min(FILES, (d + 1) * PER_DIR); i++) {
      const fh = await v.create(`/d${d}/f${i}`, 0o644, fsc.O_WRONLY | fsc.O_CREAT);
      await v.write(fh, randomBytes(1024 + (i % 4) * 1024), 0);
      await v.release(fh);
    }
  }
  const fh = await v.create('/big.bin', 0o644, fsc.O_WRONLY | fsc.O_CREAT);
  const block = randomBytes(8 * MiB);
  for (let at = 0; at < BIG_MIB * MiB; at += block.length) await v.write(fh, block.subarray(0, Math.min(block.length, BIG_MIB * MiB - at)), at);
  await v.release(fh);
  await v.sync();
  await v.unlink('/big.bin');
  await v.binEmpty!(() => true); // `megafs trash empty`: only old versions name it now
  await v.close();
  await store.close();
  return { master, driveId, storeDir };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(BASE, 'megafs-bench-gc-'));
  try {
    const made = Date.now();
    const { master, driveId, storeDir } = await writeDrive(work);
    console.log(`drive: ${FILES} small files + a removed ${BIG_MIB} MiB file, written in ${((Date.now() - made) / 1000).toFixed(1)} s`);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--collect', storeDir, toHex(master), toHex(driveId)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`the collector failed: ${r.stderr}`);
    const c = JSON.parse(r.stdout) as ChildResult;
    console.log(`objects listed: ${c.objects} (${(c.bytes / MiB).toFixed(1)} MiB); named: ${c.marked}`);
    console.log(`gc total: ${(c.totalMs / 1000).toFixed(2)} s (lock ${c.lockMs.toFixed(0)} ms, list ${c.listMs.toFixed(0)} ms, mark ${c.markMs.toFixed(0)} ms, delete ${c.deleteMs.toFixed(0)} ms)`);
    console.log(`listing: ${Math.round(c.objects / (c.listMs / 1000))} objects/s`);
    console.log(`freed: ${c.deleted} objects, ${(c.deletedBytes / MiB).toFixed(1)} MiB`);
    console.log(`collector process RSS: peak ${c.maxRssMiB.toFixed(0)} MiB (${c.startRssMiB.toFixed(0)} MiB at start)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--collect') await child(process.argv[3], process.argv[4], process.argv[5]);
else await main();
