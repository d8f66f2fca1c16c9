// FsStore: the conformance suite, plus what only a directory store has: the on-disk
// layout, stale temp cleanup, and a compare-and-swap race between separate processes.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../../src/store/fs.js';
import { randomObject, storeConformance } from '../helpers/store-suite.js';

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
