// A store that flips, swaps or truncates objects, or serves an old root: every read of a
// tampered chunk is EIO with a log line naming the file and the chunk; never wrong bytes.
import test from 'ava';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { openRoot } from '../../src/crypto/root.js';
import { nodePlatform } from '../../src/platform/node.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { flipByte, serveOther, TamperStore, truncateTo, type Tamper } from '../helpers/tamper-store.js';

const MiB = 1 << 20;

async function world(t: { teardown: (f: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-tamper-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mem = new MemoryStore();
  const store = new TamperStore(mem);
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  let n = 0;
  const lines: string[] = [];
  const open = (machine = `m${n++}`): Promise<VfsHandle> => openVfs({
    store, keys, stateDir: join(dir, machine, 'state'), cacheDir: join(dir, machine, 'cache'), cacheSizeBytes: 1 << 30,
    deviceId: machine, log: (l) => lines.push(l), commitDelayMs: 10,
  });
  const writer = await open('writer');
  const fh = await writer.create('/secret.bin', 0o644, fsc.O_RDWR);
  const data = randomBytes(3 * MiB);
  await writer.write(fh, data, 0);
  await writer.release(fh);
  await writer.close();
  // The chunk ids of the file: objects bigger than 1 MiB.
  const chunkIds = [...mem.objects.entries()].filter(([, b]) => b.length >= MiB).map(([id]) => id);
  // The DRIVE object the root names (format v3): what opening the drive reads first.
  const driveId = openRoot(nodePlatform, keys, (await mem.getRoot())!.bytes).treeId;
  return { store, mem, open, lines, data, chunkIds, driveId, keys };
}

async function readAt(v: VfsHandle, path: string, at: number, len: number): Promise<Uint8Array> {
  const fh = await v.open(path, fsc.O_RDONLY);
  try {
    const buf = new Uint8Array(len);
    const n = await v.read(fh, buf, len, at);
    return buf.subarray(0, n);
  } finally {
    await v.release(fh);
  }
}

for (const [label, make] of [
  ['a flipped bit', () => flipByte(200)],
  ['a truncated object', () => truncateTo(1000)],
] as [string, () => Tamper][]) {
  test(`tamper: ${label} in a chunk is EIO with a log line, never wrong bytes`, async (t) => {
    const w = await world(t);
    w.store.target = (id) => w.chunkIds.includes(id);
    w.store.tamper = make();
    const v = await w.open();
    await t.throwsAsync(readAt(v, '/secret.bin', 0, 100), { code: 'EIO' });
    t.true(w.lines.some((l) => l.includes('/secret.bin') && /chunk \d/.test(l)), w.lines.join('\n'));
    await v.close();
  });
}

test('tamper: a chunk swapped for another chunk of the same file is EIO', async (t) => {
  const w = await world(t);
  const [a, b] = w.chunkIds;
  w.store.target = (id) => id === a;
  w.store.tamper = serveOther(b);
  const v = await w.open();
  const results = await Promise.allSettled([0, 1, 2].map((i) => readAt(v, '/secret.bin', i * MiB, 16)));
  for (const [i, r] of results.entries()) {
    if (r.status === 'fulfilled') t.deepEqual(Buffer.from(r.value), w.data.subarray(i * MiB, i * MiB + 16));
    else t.is((r.reason as { code: string }).code, 'EIO');
  }
  t.true(results.some((r) => r.status === 'rejected'));
  await v.close();
});

test('tamper: a flipped tree object is EIO, not a listing', async (t) => {
  const w = await world(t);
  w.store.target = (id) => !w.chunkIds.includes(id);
  w.store.tamper = flipByte(30);
  const v = await w.open();
  await t.throwsAsync(v.readdir('/'), { code: 'EIO' });
  await v.close().catch(() => undefined);
});

test('tamper: a flipped DRIVE object: the drive opens, / is EIO, nothing commits over it', async (t) => {
  const w = await world(t);
  w.store.target = (id) => id === w.driveId;
  w.store.tamper = flipByte(30);
  const v = await w.open();
  await t.throwsAsync(v.readdir('/'), { code: 'EIO' });
  await t.throwsAsync(v.mkdir('/x', 0o755), { code: 'EIO' });
  await v.close().catch(() => undefined);
  t.is(openRoot(nodePlatform, w.keys, (await w.mem.getRoot())!.bytes).treeId, w.driveId, 'the root did not move');
  t.true(w.lines.some((l) => l.includes(`cannot read directory / (tree object ${w.driveId})`)), w.lines.join('\n'));
});

test('tamper: an older root is E_ROLLBACK', async (t) => {
  const w = await world(t);
  const old = await w.mem.getRoot();
  const v = await w.open('same');
  await v.mkdir('/newer', 0o755);
  await v.sync();
  await v.close();
  w.store.staleRoot = old;
  await t.throwsAsync(w.open('same'), { code: 'E_ROLLBACK' });
});
