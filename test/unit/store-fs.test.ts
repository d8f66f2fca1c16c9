// FsStore: the conformance suite, plus what only a directory store has: the on-disk
// layout, stale temp cleanup, and a compare-and-swap race between separate processes.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../../src/store/fs.js';
import { objectId, randomObject, storeConformance } from '../helpers/store-suite.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'megafs-fs-'));
}

storeConformance(test, 'fs', async () => {
  const dir = await tempDir();
  const store = await FsStore.open(dir);
  return {
    store,
    restart: async () => {
      await store.close();
      return FsStore.open(dir);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

test('fs: objects are sharded two levels deep, header beside them', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await FsStore.open(dir);
  const o = randomObject(10);
  await store.put(o.id, o.body);
  await store.putHeader(new TextEncoder().encode('{}'));
  t.true((await stat(join(dir, 'objects', o.id.slice(0, 2), o.id.slice(2, 4), o.id))).isFile());
  t.true((await stat(join(dir, 'header.json'))).isFile());
  t.deepEqual(await readdir(join(dir, 'tmp')), []);
});

test('fs: stale temp files are removed on open, young ones kept', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await FsStore.open(dir);
  await writeFile(join(dir, 'tmp', 'old.tmp'), 'half');
  await writeFile(join(dir, 'tmp', 'young.tmp'), 'in flight');
  const dayAgo = new Date(Date.now() - 24 * 3600 * 1000);
  await utimes(join(dir, 'tmp', 'old.tmp'), dayAgo, dayAgo);
  await FsStore.open(dir);
  t.deepEqual(await readdir(join(dir, 'tmp')), ['young.tmp']);
});

test('fs: a reopened folder keeps usage and the root', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const a = await FsStore.open(dir);
  const o = randomObject(777);
  await a.put(o.id, o.body);
  const r = await a.casRoot(null, new Uint8Array([1]));
  const b = await FsStore.open(dir);
  t.deepEqual(await b.usage(), { usedBytes: 777, objectCount: 1, quotaBytes: null });
  t.is((await b.getRoot())?.etag, r.ok ? r.etag : 'lost');
});

test('fs: compare-and-swap race between processes, exactly one wins', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const first = await (await FsStore.open(dir)).casRoot(null, new Uint8Array([0]));
  if (!first.ok) return t.fail('setup casRoot lost');
  const moduleUrl = new URL('../../src/store/fs.js', import.meta.url).href;
  const script = `
    const { FsStore } = await import(${JSON.stringify(moduleUrl)});
    const s = await FsStore.open(process.argv[1]);
    const r = await s.casRoot(${JSON.stringify(first.etag)}, new Uint8Array([Number(process.argv[2])]));
    process.stdout.write(r.ok ? 'won' : 'lost');`;
  const n = 6;
  const outs = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise<string>((res, rej) =>
        execFile(process.execPath, ['--input-type=module', '-e', script, dir, String(i + 1)], (err, out) =>
          err ? rej(err) : res(out),
        ),
      ),
    ),
  );
  t.is(outs.filter((o) => o === 'won').length, 1);
  t.is(outs.filter((o) => o === 'lost').length, n - 1);
  const root = await (await FsStore.open(dir)).getRoot();
  t.is(root?.bytes[0], outs.indexOf('won') + 1);
});

test('fs: a writer killed mid-write loses nothing acknowledged and leaves nothing half-written', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const moduleUrl = new URL('../../src/store/fs.js', import.meta.url).href;
  // The child writes 256 KiB objects forever and prints each id once put() resolved.
  const script = `
    const { createHash, randomBytes } = await import('node:crypto');
    const { FsStore } = await import(${JSON.stringify(moduleUrl)});
    const s = await FsStore.open(process.argv[1]);
    const one = async () => {
      for (;;) {
        const body = randomBytes(256 * 1024);
        const id = createHash('sha256').update(body).digest('hex');
        await s.put(id, body);
        process.stdout.write(id + '\\n');
      }
    };
    await Promise.all([one(), one(), one(), one()]);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((res) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.split('\n').length > 40) res();
    });
  });
  child.kill('SIGKILL');
  await new Promise((res) => child.once('exit', res));
  const acked = out.split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l));
  const store = await FsStore.open(dir);
  for (const id of acked) t.true(await store.has(id), `acknowledged ${id} lost`);
  let listed = 0;
  for await (const id of store.list()) {
    t.is(objectId(await store.get(id)), id);
    listed++;
  }
  t.true(listed >= acked.length);
});
