// The disk cache: least recently used out first, pinned objects never evicted, the
// index rebuilt from the directory on open, torn temp files ignored.
import test from 'ava';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { DiskCache } from '../../src/vfs/disk-cache.js';

const obj = (n: number): { id: string; bytes: Uint8Array } => {
  const bytes = randomBytes(n);
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes };
};

test('cache: LRU eviction skips pinned objects', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const c = await DiskCache.open(dir, 3000);
  const [a, b, p, d] = [obj(1000), obj(1000), obj(1000), obj(1000)];
  await c.put(p.id, p.bytes, true);
  await c.put(a.id, a.bytes, false);
  await c.put(b.id, b.bytes, false);
  t.truthy(await c.get(a.id)); // a is now more recent than b
  await c.put(d.id, d.bytes, false);
  t.true(c.has(p.id) && c.has(a.id) && c.has(d.id));
  t.false(c.has(b.id));
  t.is(c.pinnedBytes, 1000);
  c.unpin(p.id);
  t.is(c.pinnedBytes, 0);
  t.true(c.totalBytes <= 3000);
});

test('cache: reopened from disk; stray files are dropped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const c = await DiskCache.open(dir, 1 << 20);
  const a = obj(500);
  await c.put(a.id, a.bytes, true);
  await mkdir(join(dir, 'objects', 'zz'), { recursive: true });
  await writeFile(join(dir, 'objects', 'zz', 'junk.tmp123'), 'x');
  const again = await DiskCache.open(dir, 1 << 20);
  t.deepEqual(Buffer.from((await again.get(a.id))!), Buffer.from(a.bytes));
  t.is(again.totalBytes, 500);
  t.deepEqual(await readdir(join(dir, 'objects', 'zz')), []);
});
