// The vfs write path's helpers: the sealed-buffer pool, pre-faulted buffers, FsStore.putFile
// (a cache file hard-linked into the store), the default memory cache, and processes using
// the crypto worker pool exiting on their own (they once hung: an idle worker stayed ref'ed).
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHUNK_SIZE } from '../../src/format/constants.js';
import { FsStore } from '../../src/store/fs.js';
import { freeSealedBuffers, releaseSealed, SEALED_CHUNK_BYTES, takeSealedBuffer } from '../../src/vfs/buffer-pool.js';
import { copyOf, freshBuffer, recycleChunkBuffer, recycledChunkBuffers } from '../../src/vfs/fresh-buffers.js';
import { defaultMemCacheBytes, openVfs } from '../../src/vfs/index.js';
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { randomObject } from '../helpers/store-suite.js';

test('buffer pool: a released buffer comes back once; foreign buffers are ignored', (t) => {
  const a = takeSealedBuffer();
  t.is(a.length, SEALED_CHUNK_BYTES);
  const before = freeSealedBuffers();
  releaseSealed(a.subarray(0, 100));
  releaseSealed(a); // a second release of the same buffer must not list it twice
  t.is(freeSealedBuffers(), before + 1);
  releaseSealed(new Uint8Array(SEALED_CHUNK_BYTES)); // not made by the pool
  t.is(freeSealedBuffers(), before + 1);
  const b = takeSealedBuffer();
  const c = takeSealedBuffer();
  t.is(b.buffer, a.buffer);
  t.not(c.buffer, a.buffer);
});

test('fresh buffers: zeroed, the right size, and copies are private', async (t) => {
  for (let i = 0; i < 20; i++) {
    const b = freshBuffer(CHUNK_SIZE);
    t.is(b.length, CHUNK_SIZE);
    t.true(b.every((x) => x === 0));
    await new Promise((r) => setTimeout(r, 2)); // let the helper thread refill
  }
  const src = new Uint8Array(CHUNK_SIZE).fill(7);
  const copy = copyOf(src);
  src.fill(1);
  t.true(copy.every((x) => x === 7));
  t.is(copyOf(new Uint8Array(10)).length, 10);
});

// The recycled-buffer list is process-wide: the tests that count it run serially, before
// the concurrent ones that also write (and so take and give back buffers).
test.serial('recycled chunk buffers: whole chunk buffers only, once each, and zeroed when fresh', (t) => {
  const a = copyOf(new Uint8Array(CHUNK_SIZE).fill(9));
  const before = recycledChunkBuffers();
  recycleChunkBuffer(a.subarray(0, 100)); // a view: the whole buffer is taken
  recycleChunkBuffer(a);
  recycleChunkBuffer(new Uint8Array(CHUNK_SIZE * 2).subarray(0, CHUNK_SIZE)); // not a chunk buffer
  t.is(recycledChunkBuffers(), before + 1);
  const z = freshBuffer(CHUNK_SIZE);
  t.is(z.buffer, a.buffer);
  t.true(z.every((x) => x === 0), 'a recycled buffer handed out by freshBuffer is zeroed');
  recycleChunkBuffer(z);
  const src = new Uint8Array(CHUNK_SIZE).fill(3);
  const c = copyOf(src);
  t.is(c.buffer, a.buffer);
  t.true(c.every((x) => x === 3));
});

test.serial('keepWritten false: written chunks are not cached, their buffers serve later writes, every byte reads back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-recycle-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await FsStore.open(join(dir, 'store'));
  const v = await openVfs({
    store, keys: deriveDriveKeys(randomBytes(32), randomBytes(16)), stateDir: join(dir, 's'), cacheDir: join(dir, 'c'),
    cacheSizeBytes: 1 << 30, deviceId: 'a', log: () => undefined, keepWritten: false,
  });
  const files = [randomBytes(12 * CHUNK_SIZE + 777), randomBytes(12 * CHUNK_SIZE)];
  for (const [i, data] of files.entries()) {
    const fh = await v.create(`/f${i}`, 0o644, fsc.O_RDWR);
    for (let off = 0; off < data.length; off += CHUNK_SIZE) await v.write(fh, data.subarray(off, off + CHUNK_SIZE), off);
    await v.fsync(fh, false);
    await v.release(fh);
    t.true(recycledChunkBuffers() > 0);
  }
  for (const [i, data] of files.entries()) {
    const back = new Uint8Array(data.length);
    const fh = await v.open(`/f${i}`, fsc.O_RDONLY);
    for (let off = 0; off < data.length; off += CHUNK_SIZE) await v.read(fh, back.subarray(off), Math.min(CHUNK_SIZE, data.length - off), off);
    await v.release(fh);
    t.true(Buffer.from(back).equals(data), `file ${i}`);
  }
  await v.close();
});

for (const keepWritten of [false, true]) {
  test(`chunks sealed ahead on the pool while the writer goes on: every read and the stored file match a model (keepWritten ${keepWritten})`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'megafs-sealahead-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const store = await FsStore.open(join(dir, 'store'));
    const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
    const opts = { store, keys, cacheSizeBytes: 1 << 30, log: () => undefined, keepWritten };
    const v = await openVfs({ ...opts, stateDir: join(dir, 's'), cacheDir: join(dir, 'c'), deviceId: 'a' });
    let seed = 12345;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    let model = new Uint8Array(0);
    const fh = await v.create('/f', 0o644, fsc.O_RDWR);
    const write = async (at: number, len: number): Promise<void> => {
      const data = randomBytes(len);
      await v.write(fh, data, at);
      if (at + len > model.length) { const m = new Uint8Array(at + len); m.set(model); model = m; }
      model.set(data, at);
    };
    const check = async (at: number, len: number): Promise<void> => {
      const buf = new Uint8Array(len);
      const n = await v.read(fh, buf, len, at);
      const want = model.subarray(Math.min(at, model.length), Math.min(at + len, model.length));
      t.is(n, want.length);
      if (!Buffer.from(buf.subarray(0, n)).equals(want)) t.fail(`read of ${len} at ${at} differs`);
    };
    for (let round = 0; round < 3; round++) {
      // A sequential run of whole chunks (seals start ahead of the writer) ...
      for (let i = 0; i < 12; i++) {
        await write(i * CHUNK_SIZE, CHUNK_SIZE);
        // ... with reads and overwrites of chunks whose seal may be in flight.
        if (i > 5) await check(rand(i) * CHUNK_SIZE + rand(CHUNK_SIZE - 5000), 5000 + rand(2 * CHUNK_SIZE));
        if (i > 5 && rand(3) === 0) await write(rand(i) * CHUNK_SIZE + rand(CHUNK_SIZE), 1 + rand(CHUNK_SIZE));
        if (i > 5 && rand(4) === 0) await write(rand(i) * CHUNK_SIZE, CHUNK_SIZE);
      }
      if (round === 1) { await v.ftruncate(fh, 7 * CHUNK_SIZE + 333); model = model.slice(0, 7 * CHUNK_SIZE + 333); }
      await check(0, model.length + 10);
      if (round === 0) await v.fsync(fh, false);
    }
    await v.fsync(fh, false);
    await v.release(fh);
    await v.close();
    const w = await openVfs({ ...opts, stateDir: join(dir, 's2'), cacheDir: join(dir, 'c2'), deviceId: 'b' });
    const rh = await w.open('/f', fsc.O_RDONLY);
    const back = new Uint8Array(model.length);
    t.is(await w.read(rh, back, back.length, 0), model.length);
    t.true(Buffer.from(back).equals(model), 'the stored file is the model');
    await w.release(rh);
    await w.close();
  });
}

test('FsStore.putFile links the file in once, counted once, readable by id', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-putfile-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await FsStore.open(join(dir, 'store'));
  const o = randomObject(5000);
  const file = join(dir, 'cached');
  await writeFile(file, o.body);
  const before = await store.usage();
  await store.putFile(o.id, file);
  await store.putFile(o.id, file); // idempotent
  t.deepEqual(await store.get(o.id), o.body);
  const after = await store.usage();
  t.is(after.objectCount, before.objectCount + 1);
  t.is(after.usedBytes, before.usedBytes + o.body.length);
  const objectPath = join(dir, 'store', 'objects', o.id.slice(0, 2), o.id.slice(2, 4), o.id);
  t.is((await stat(objectPath)).ino, (await stat(file)).ino); // same file system: one inode
  await t.throwsAsync(store.putFile('zz', file), { code: 'E_BAD_ID' });
});

test('FsStore.putFile with deferSync: visible at once, every file and new directory synced by the next syncDeferred, once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-putfile-defer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await FsStore.open(join(dir, 'store'));
  const objects = [randomObject(3000), randomObject(4000), randomObject(5000)];
  for (const [i, o] of objects.entries()) {
    const file = join(dir, `cached-${i}`);
    await writeFile(file, o.body);
    await store.putFile(o.id, file, { deferSync: true });
    t.deepEqual(await store.get(o.id), o.body); // visible before it is durable
  }
  // each object: its file and its leaf directory; each new shard directory: its parent
  const synced = await store.syncDeferredCount();
  t.true(synced >= 2 * objects.length, `synced ${synced}`);
  t.is(await store.syncDeferredCount(), 0); // nothing owed twice
  const o = randomObject(6000);
  await writeFile(join(dir, 'now'), o.body);
  await store.putFile(o.id, join(dir, 'now')); // synced at once: owes nothing
  t.is(await store.syncDeferredCount(), 0);
  // an object deleted before the sync is not an error
  const gone = randomObject(7000);
  await writeFile(join(dir, 'gone'), gone.body);
  await store.putFile(gone.id, join(dir, 'gone'), { deferSync: true });
  await store.delete(gone.id);
  await rm(join(dir, 'gone'));
  t.true((await store.syncDeferredCount()) >= 1);
});

test('FsStore.syncDeferred with hundreds of paths owed: one syncfs of the store\'s file system, then nothing owed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-putfile-syncfs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await FsStore.open(join(dir, 'store'));
  const objects = Array.from({ length: 200 }, (_, i) => randomObject(100 + i));
  for (const [i, o] of objects.entries()) {
    const file = join(dir, `cached-${i}`);
    await writeFile(file, o.body);
    await store.putFile(o.id, file, { deferSync: true });
  }
  t.true((await store.syncDeferredCount()) >= 2 * objects.length); // over SYNCFS_FROM (256)
  t.is(await store.syncDeferredCount(), 0);
  for (const o of objects) t.deepEqual(await store.get(o.id), o.body);
});

test('default memory cache: an eighth of the RAM within bounds, MEGAFS_MEM_CACHE_MB overrides', (t) => {
  const saved = process.env.MEGAFS_MEM_CACHE_MB;
  t.teardown(() => {
    if (saved === undefined) delete process.env.MEGAFS_MEM_CACHE_MB;
    else process.env.MEGAFS_MEM_CACHE_MB = saved;
  });
  delete process.env.MEGAFS_MEM_CACHE_MB;
  const d = defaultMemCacheBytes();
  t.true(d >= 64 * 1024 * 1024 && d <= 2 * 1024 ** 3);
  process.env.MEGAFS_MEM_CACHE_MB = '100';
  t.is(defaultMemCacheBytes(), 100 * 1024 * 1024);
});

/** Run a script in a fresh node process; resolves with its exit code (null if killed). */
function runNode(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, timeout: 60_000 }, (_e, stdout, stderr) => {
      resolve({ code: child.exitCode, out: `${stdout}${stderr}` });
    });
  });
}

test('a vfs on crypto workers writes, reads back and its process exits by itself', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-workers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const src = (p: string): string => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));
  const script = `
    import { randomBytes } from 'node:crypto';
    import { constants as fsc } from 'node:fs';
    const { deriveDriveKeys } = await import(${src('crypto/keys.js')});
    const { FsStore } = await import(${src('store/fs.js')});
    const { openVfs } = await import(${src('vfs/index.js')});
    const dir = ${JSON.stringify(dir)};
    const store = await FsStore.open(dir + '/store');
    const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
    const opts = { store, keys, stateDir: dir + '/s', cacheDir: dir + '/c', cacheSizeBytes: 1 << 30, deviceId: 'a', log: () => undefined };
    const data = randomBytes(9 * (1 << 20) + 12345);
    const v = await openVfs(opts);
    const fh = await v.create('/f', 0o644, fsc.O_RDWR);
    for (let off = 0; off < data.length; off += 1 << 20) await v.write(fh, data.subarray(off, off + (1 << 20)), off);
    await v.fsync(fh, false);
    await v.release(fh);
    await v.close();
    const w = await openVfs({ ...opts, cacheDir: dir + '/c2', stateDir: dir + '/s2', deviceId: 'b' });
    const back = new Uint8Array(data.length);
    const rh = await w.open('/f', fsc.O_RDONLY);
    for (let off = 0; off < data.length; off += 1 << 20) await w.read(rh, back.subarray(off), Math.min(1 << 20, data.length - off), off);
    await w.release(rh);
    await w.close();
    console.log(Buffer.compare(back, data) === 0 ? 'same' : 'different');
  `;
  const r = await runNode(script, { MEGAFS_CRYPTO_WORKERS: '2' });
  t.is(r.code, 0, r.out);
  t.is(r.out.trim(), 'same');
});
