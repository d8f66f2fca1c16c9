// Reading a drive's past on a memory store with real drive sessions (openVfs): which
// version stood at an instant (whole seconds), the states of one path over the versions,
// a file's bytes read straight from a version's chunks (holes, short chunks, chunk lists,
// a damaged cache copy, a swapped chunk), and du's places adding up to each store's total.
import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile as writeLocal } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { entryBytes } from '../../src/drive/entry-reader.js';
import {
  cacheFirstFetch, driveTreeIo, PathResolver, pathStates, readNow, versionAt, type DriveNow,
} from '../../src/drive/history.js';
import { diskUsage, PLACES } from '../../src/drive/usage.js';
import type { VersionRecord } from '../../src/format/drive-object.js';
import type { TreeEntry } from '../../src/format/tree.js';
import { cachedObjectPath } from '../../src/vfs/disk-cache.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import type { TreeIo } from '../../src/vfs/tree-io.js';
import { MemoryStore } from '../helpers/memory-store.js';

const MiB = 1 << 20;

async function world(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-history-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mem = new MemoryStore();
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  const open = (machine = 'a'): Promise<VfsHandle> => openVfs({
    store: mem, keys, stateDir: join(dir, machine, 'state'), cacheDir: join(dir, machine, 'cache'), cacheSizeBytes: 1 << 30,
    deviceId: machine, log: () => undefined, commitDelayMs: 10,
  });
  /** What a history command sees: the drive through `cacheDir` (null: the store only). */
  const history = async (cacheDir: string | null = null): Promise<{ io: TreeIo; now: DriveNow; fetch: (id: string) => Promise<Uint8Array> }> => {
    const fetch = cacheFirstFetch(mem, cacheDir);
    const io = driveTreeIo({ store: mem, keys }, fetch);
    return { io, now: (await readNow({ store: mem, keys }, io))!, fetch };
  };
  return { mem, keys, open, history, dir };
}

/** One session per call: each lands as its own version. */
async function put(w: Awaited<ReturnType<typeof world>>, path: string, data: Uint8Array, at = 0): Promise<void> {
  const v = await w.open();
  let fh: number;
  try { fh = await v.open(path, fsc.O_RDWR); } catch { fh = await v.create(path, 0o644, fsc.O_RDWR); }
  await v.write(fh, data, at);
  await v.release(fh);
  await v.close();
}

async function readAll(io: TreeIo, fetch: (id: string) => Promise<Uint8Array>, e: TreeEntry, fallback?: (id: string) => Promise<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of entryBytes(io, fetch, e, 'test', fallback)) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const version = (n: number, timeMs: number): VersionRecord => ({ rootVersion: BigInt(n), timeMs, deviceId: '0'.repeat(32), topDir: '0'.repeat(64), addedBytes: 0 });

test('versionAt: the newest version at or before the instant, its time cut to the whole second', (t) => {
  const vs = [version(3, 30_999), version(2, 20_500), version(1, 10_000)]; // newest first
  t.is(versionAt(vs, 20_000)?.rootVersion, 2n, 'a version at 20.5 s stands at 20 s (log prints it as :20)');
  t.is(versionAt(vs, 19_999)?.rootVersion, 1n);
  t.is(versionAt(vs, 30_000)?.rootVersion, 3n);
  t.is(versionAt(vs, 1e15)?.rootVersion, 3n);
  t.is(versionAt(vs, 10_000)?.rootVersion, 1n);
  t.is(versionAt(vs, 9_999), null, 'before the oldest: none');
  // Clocks of two devices disagree: the list's order (commit order) decides, not the time.
  t.is(versionAt([version(5, 40_000), version(4, 50_000)], 45_000)?.rootVersion, 5n);
});

test('history: three writes are three versions; the path\'s three states; each state\'s bytes read back exactly from its chunks', async (t) => {
  const w = await world(t);
  const contents = [randomBytes(3 * MiB + 17), randomBytes(100), randomBytes(2 * MiB)];
  const v = await w.open();
  await v.mkdir('/docs', 0o755);
  await v.close();
  for (const c of contents) {
    const s = await w.open();
    const fh = await s.create('/docs/f.bin', 0o644, fsc.O_RDWR | fsc.O_TRUNC).catch(() => s.open('/docs/f.bin', fsc.O_RDWR | fsc.O_TRUNC));
    await s.write(fh, c, 0);
    await s.release(fh);
    await s.close();
  }
  const h = await w.history();
  const states = await pathStates(new PathResolver(h.io), h.now.versions, '/docs/f.bin');
  t.is(states.length, 3, JSON.stringify(states.map((s) => s.entry?.size)));
  t.deepEqual(states.map((s) => s.entry!.size), contents.map((c) => c.length).reverse());
  for (const [i, s] of states.entries()) {
    t.true((await readAll(h.io, h.fetch, s.entry!)).equals(contents[2 - i]), `state ${i}`);
  }
  // The path is absent before it was written; a removal is a state of its own.
  const r = await w.open();
  await r.unlink('/docs/f.bin');
  await r.close();
  const after = await w.history();
  const again = await pathStates(new PathResolver(after.io), after.now.versions, '/docs/f.bin');
  t.is(again.length, 4);
  t.is(again[0].entry, null);
  t.is((await pathStates(new PathResolver(after.io), after.now.versions, '/docs/none')).length, 0);
  t.is(await new PathResolver(after.io).resolve(after.now.top, '/docs/f.bin/x'), null, 'a file is not a directory');
});

test('entryBytes: holes read as zeros, a short last chunk is zero-filled, chunk lists (past 64 chunks) are followed', async (t) => {
  const w = await world(t);
  // 66 one-byte chunks, one per MiB, and a hole of 3 MiB in the middle: the map lives in
  // CHUNK_LIST objects, each stored chunk is shorter than its plain length.
  const v = await w.open();
  const fh = await v.create('/sparse', 0o644, fsc.O_RDWR);
  const expected = Buffer.alloc(70 * MiB + 5);
  for (let i = 0; i < 70; i++) {
    if (i >= 30 && i < 33) continue;
    const b = Buffer.from([i + 1]);
    await v.write(fh, b, i * MiB + 7);
    b.copy(expected, i * MiB + 7);
  }
  await v.write(fh, Buffer.from('end!!'), 70 * MiB);
  expected.write('end!!', 70 * MiB);
  await v.release(fh);
  await v.close();
  const h = await w.history();
  const e = (await new PathResolver(h.io).resolve(h.now.top, '/sparse'))!;
  t.truthy(e.file?.lists?.length, 'the chunk map is in chunk lists');
  const got = await readAll(h.io, h.fetch, e);
  t.is(got.length, expected.length);
  t.is(sha(got), sha(expected));
});

test('entryBytes: a damaged cache copy is read again from the store; a chunk swapped on the store fails E_INTEGRITY', async (t) => {
  const w = await world(t);
  const data = randomBytes(2 * MiB + 3);
  await put(w, '/f', data);
  const cacheDir = join(w.dir, 'reader-cache');
  const h = await w.history(cacheDir);
  const e = (await new PathResolver(h.io).resolve(h.now.top, '/f'))!;
  const [[, first], [, second]] = e.file!.chunks!;
  const cached = cachedObjectPath(cacheDir, first);
  await mkdir(dirname(cached), { recursive: true });
  await writeLocal(cached, randomBytes(300));
  const fromStore = (id: string) => w.mem.get(id);
  t.true((await readAll(h.io, h.fetch, e, fromStore)).equals(data), 'the store\'s copy is read when the cache\'s fails');
  await t.throwsAsync(readAll(h.io, h.fetch, e), { code: 'E_INTEGRITY' }, 'without a fallback the damaged copy is refused');
  // The store gives chunk 1's bytes for chunk 0's id: the id check and the place refuse it.
  const swapped = cacheFirstFetch(w.mem, null);
  const liar = async (id: string) => swapped(id === first ? second : id);
  await t.throwsAsync(readAll(h.io, liar, e), { code: 'E_INTEGRITY' });
});

test('du: every stored object is counted once, live + bin + versions + shares + garbage = the store\'s total', async (t) => {
  const w = await world(t);
  await put(w, '/keep', randomBytes(MiB));
  await put(w, '/gone', randomBytes(2 * MiB));
  await put(w, '/over', randomBytes(MiB));
  const s = await w.open();
  await s.unlink('/gone'); // to the bin
  const fh = await s.open('/over', fsc.O_RDWR);
  await s.write(fh, randomBytes(1000), 0); // the old first chunk: only old versions name it
  await s.release(fh);
  await s.close();
  const stray = randomBytes(5000);
  await w.mem.put(sha(stray), stray); // named by nothing
  const h = await w.history();
  const r = await diskUsage({ store: w.mem, stores: [w.mem], keys: w.keys }, h.io);
  t.is(r.stores.length, 1);
  const u = r.stores[0];
  const sum = (k: 'objects' | 'bytes') => PLACES.reduce((n, p) => n + u[p][k], 0) + u.garbage[k];
  t.is(sum('objects'), w.mem.objects.size);
  t.is(sum('bytes'), [...w.mem.objects.values()].reduce((n, b) => n + b.length, 0));
  t.is(u.total.objects, w.mem.objects.size);
  t.true(u.live.bytes > 2 * MiB, JSON.stringify(u));
  t.true(u.bin.bytes > 2 * MiB, 'the removed file is in the bin');
  t.is(u.bin.only.bytes, 0, 'older versions name the removed file too');
  t.true(u.versions.bytes > 0 && u.versions.bytes < MiB + 4096, 'the overwritten chunk, in old versions only');
  t.is(u.versions.only.bytes, u.versions.bytes);
  t.true(u.garbage.bytes >= stray.length);
  t.is(u.missing, 0);
  // A chunk the drive names that the store lost: missing, and the sum still holds.
  const keep = (await new PathResolver(h.io).resolve(h.now.top, '/keep'))!;
  w.mem.objects.delete(keep.file!.chunks![0][1]);
  const after = (await diskUsage({ store: w.mem, stores: [w.mem], keys: w.keys }, (await w.history()).io)).stores[0];
  t.is(after.missing, 1);
  t.is(PLACES.reduce((n, p) => n + after[p].objects, 0) + after.garbage.objects, w.mem.objects.size);
});
