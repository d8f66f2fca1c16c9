// The rubbish bin on a memory store with real drive sessions: unlink, a rename over a
// file and an overwrite (O_TRUNC) put the old content in the bin; a restore brings it
// back byte-exact and drops the record; two devices' removals both reach the bin (the
// merge keeps both lists); the collector keeps what the bin names until it is emptied.
import test, { type ExecutionContext } from 'ava';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { fsck } from '../../src/drive/fsck.js';
import { collect } from '../../src/drive/gc.js';
import { binPath } from '../../src/vfs/bin.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { readWhole } from '../helpers/vfs-read.js';

const MiB = 1 << 20;

async function world(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-bin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mem = new MemoryStore();
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  const open = (machine: string): Promise<VfsHandle> => openVfs({
    store: mem, keys, stateDir: join(dir, machine, 'state'), cacheDir: join(dir, machine, 'cache'), cacheSizeBytes: 1 << 30,
    deviceId: machine, log: () => undefined, commitDelayMs: 10,
  });
  return { mem, keys, open };
}

async function write(v: VfsHandle, path: string, data: Uint8Array, flags = fsc.O_RDWR | fsc.O_CREAT): Promise<void> {
  const fh = (await v.lookup!(path)) ? await v.open(path, flags) : await v.create(path, 0o644, flags);
  await v.write(fh, data, 0);
  await v.release(fh);
}

test('bin: unlink, rename over and O_TRUNC put the old content in the bin; a restore brings it back and drops the record', async (t) => {
  const w = await world(t);
  const a = randomBytes(2 * MiB + 5);
  const b = randomBytes(300_000);
  const c = randomBytes(40_000);
  let v = await w.open('one');
  await write(v, '/a.bin', a);
  await write(v, '/b.bin', b);
  await v.mkdir('/d', 0o755);
  await write(v, '/d/c.txt', c);
  await write(v, '/tmp', randomBytes(10));
  await v.close();

  v = await w.open('one');
  await v.unlink('/a.bin');
  await write(v, '/b.bin', randomBytes(1000), fsc.O_WRONLY | fsc.O_TRUNC); // overwritten
  await v.rename('/tmp', '/d/c.txt'); // replaced
  t.deepEqual((await v.readdir('/')).map((e) => e.name).sort(), ['b.bin', 'd'], 'POSIX semantics in the tree: no bin folder');
  const recs = await v.binRecords!();
  t.deepEqual(recs.map(binPath).sort(), ['/a.bin', '/b.bin', '/d/c.txt']);
  t.is(recs.find((r) => binPath(r) === '/a.bin')!.entry.size, a.length);
  await v.close();

  // Another machine sees the bin and restores from it.
  v = await w.open('two');
  const seen = await v.binRecords!();
  t.is(seen.length, 3);
  await v.binRestore!(seen.find((r) => binPath(r) === '/a.bin')!, '/a.bin');
  await v.binRestore!(seen.find((r) => binPath(r) === '/b.bin')!, '/b-old.bin');
  await t.throwsAsync(v.binRestore!(seen.find((r) => binPath(r) === '/d/c.txt')!, '/d/c.txt'), { code: 'EEXIST' });
  await v.close();
  v = await w.open('three');
  t.true((await readWhole(v, '/a.bin')).equals(a));
  t.true((await readWhole(v, '/b-old.bin')).equals(b));
  t.is((await readWhole(v, '/b.bin')).length, 1000);
  t.deepEqual((await v.binRecords!()).map(binPath), ['/d/c.txt']);
  await v.binEmpty!(() => true);
  t.deepEqual(await v.binRecords!(), []);
  await v.close();
});

test('bin: two devices remove files at once: both removals reach the bin', async (t) => {
  const w = await world(t);
  let v = await w.open('one');
  await write(v, '/x', randomBytes(5000));
  await write(v, '/y', randomBytes(5000));
  await v.close();
  const one = await w.open('one');
  const two = await w.open('two');
  await one.readdir('/');
  await two.readdir('/');
  await one.unlink('/x');
  await two.unlink('/y');
  await Promise.all([one.sync(), two.sync()]);
  await one.close();
  await two.close();
  v = await w.open('three');
  t.deepEqual((await v.binRecords!()).map(binPath).sort(), ['/x', '/y']);
  t.deepEqual(await v.readdir('/'), []);
  await v.close();
});

test('bin: emptied, an entry is gone from every version too: the collector frees it under the default policy, fsck stays clean', async (t) => {
  const w = await world(t);
  const big = randomBytes(3 * MiB);
  let v = await w.open('one');
  await write(v, '/big.bin', big);
  await write(v, '/keep.txt', randomBytes(100));
  await v.close();
  v = await w.open('one');
  await v.unlink('/big.bin');
  await v.binEmpty!(() => true);
  await v.close();
  for (const [id, ms] of w.mem.mtimes) w.mem.mtimes.set(id, ms - 7_200_000);
  const drive = { store: w.mem, stores: [w.mem], keys: w.keys };
  // The default policy keeps every version of the last day, and they name big.bin.
  const r = await collect(drive, { dryRun: false, deviceIdHex: '1'.repeat(32), cacheDir: null });
  t.true(r.versions.kept >= 3, JSON.stringify(r));
  t.true(r.stores[0].deletedBytes >= 3 * MiB, `emptied from the bin, it goes: ${JSON.stringify(r)}`);
  const report = await fsck({ store: w.mem, stores: [w.mem], keys: w.keys } as unknown as Parameters<typeof fsck>[0], {
    repair: false, rollback: false, cacheDir: join(tmpdir(), 'megafs-bin-no-cache'), deviceIdHex: '1'.repeat(32),
  });
  t.deepEqual(report.damaged, [], 'purged objects are not damage in old versions');
  v = await w.open('two');
  t.deepEqual((await v.readdir('/')).map((e) => e.name), ['keep.txt']);
  await v.close();
});

test('bin: the collector keeps what the bin names, whatever the versions; emptied, it frees it', async (t) => {
  const w = await world(t);
  const big = randomBytes(3 * MiB);
  let v = await w.open('one');
  await write(v, '/big.bin', big);
  await v.close();
  v = await w.open('one');
  await v.unlink('/big.bin');
  await v.close();
  const age = (): void => { for (const [id, ms] of w.mem.mtimes) w.mem.mtimes.set(id, ms - 7_200_000); };
  const drive = { store: w.mem, stores: [w.mem], keys: w.keys };
  age();
  const kept = await collect(drive, { dryRun: false, deviceIdHex: '1'.repeat(32), cacheDir: null, forgetOlderThanMs: 0 });
  t.true(kept.stores[0].deletedBytes < MiB, JSON.stringify(kept));
  t.is(kept.trash.kept, 1);
  v = await w.open('two');
  const [rec] = await v.binRecords!();
  await v.binRestore!(rec, '/back.bin');
  t.true((await readWhole(v, '/back.bin')).equals(big), 'the bin entry reads after a collection');
  await v.unlink('/back.bin');
  await v.binEmpty!(() => true);
  await v.close();
  age();
  const freed = await collect(drive, { dryRun: false, deviceIdHex: '1'.repeat(32), cacheDir: null, forgetOlderThanMs: 0 });
  t.true(freed.stores[0].deletedBytes >= 3 * MiB, JSON.stringify(freed));
});
