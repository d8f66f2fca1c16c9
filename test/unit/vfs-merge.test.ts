// Two machines on one drive: the loser of the root compare-and-swap merges; a file both
// changed is kept twice ("name (conflict from ...)"); nothing either side wrote is lost.
import test from 'ava';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { conflictName } from '../../src/vfs/merge.js';
import { MemoryStore } from '../helpers/memory-store.js';

async function put(v: VfsHandle, path: string, text: string): Promise<void> {
  const fh = await v.create(path, 0o644, fsc.O_RDWR | fsc.O_TRUNC);
  await v.write(fh, new TextEncoder().encode(text), 0);
  await v.release(fh);
}

async function get(v: VfsHandle, path: string): Promise<string> {
  const fh = await v.open(path, fsc.O_RDONLY);
  const buf = new Uint8Array(1000);
  const n = await v.read(fh, buf, 1000, 0);
  await v.release(fh);
  return new TextDecoder().decode(buf.subarray(0, n));
}

test('merge: both sides kept after a lost compare-and-swap', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-merge-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new MemoryStore();
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  const open = (m: string): Promise<VfsHandle> => openVfs({
    store, keys, stateDir: join(dir, m, 's'), cacheDir: join(dir, m, 'c'), cacheSizeBytes: 1 << 30, deviceId: m, hostName: m,
    log: () => undefined, commitDelayMs: 60_000,
  });
  const a = await open('a');
  await a.mkdir('/shared', 0o755);
  await put(a, '/shared/x', 'base');
  await put(a, '/gone', 'delete me');
  await a.sync();
  const b = await open('b');
  t.is(await get(b, '/shared/x'), 'base');

  await put(a, '/shared/x', 'from a');
  await put(a, '/a-only', 'a');
  await a.unlink('/gone');
  await a.sync();

  await put(b, '/shared/x', 'from b');
  await b.mkdir('/shared/b-dir', 0o755);
  await put(b, '/b-only', 'b');
  await b.sync();

  const c = await open('c');
  const names = (await c.readdir('/shared')).map((e) => e.name).sort();
  t.is(names.length, 3, names.join(','));
  t.true(names.includes('b-dir'));
  const copy = names.find((n) => n.startsWith('x (conflict from '));
  t.truthy(copy);
  t.deepEqual([await get(c, '/shared/x'), await get(c, `/shared/${copy!}`)].sort(), ['from a', 'from b']);
  t.is(await get(c, '/a-only'), 'a');
  t.is(await get(c, '/b-only'), 'b');
  await t.throwsAsync(c.getattr('/gone'), { code: 'ENOENT' });
  for (const v of [a, b, c]) await v.close();
});

test('merge: conflict names stay within 255 bytes and unique', (t) => {
  const long = 'n'.repeat(255);
  const n1 = conflictName(long, 'abc 2026', () => false);
  t.true(new TextEncoder().encode(n1).length <= 255);
  const taken = new Set([conflictName('f', 'L', () => false)]);
  t.false(taken.has(conflictName('f', 'L', (n) => taken.has(n))));
});
