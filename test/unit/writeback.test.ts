// Write-back under outages: cached files read with the store down, writes land in the
// cache, fsync reports the failure (and status() shows it), ENOSPC once the cache is full
// of data not yet uploaded, and everything goes up when the store is back.
import test from 'ava';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { MemoryStore } from '../helpers/memory-store.js';

const MiB = 1 << 20;

async function world(t: { teardown: (f: () => Promise<void>) => void }, cacheSizeBytes: number) {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-wb-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new MemoryStore();
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  // A failed assertion must not leave a vfs retrying uploads forever (the run would hang):
  // stop every one at teardown (abandon() after close() is harmless).
  const opened: VfsHandle[] = [];
  t.teardown(async () => { for (const v of opened) v.abandon(); });
  const open = async (machine: string, size = cacheSizeBytes): Promise<VfsHandle> => {
    const v = await openVfs({
      store, keys, stateDir: join(dir, machine, 'state'), cacheDir: join(dir, machine, 'cache'), cacheSizeBytes: size,
      deviceId: machine, log: () => undefined, commitDelayMs: 10, memCacheBytes: 1,
    });
    opened.push(v);
    return v;
  };
  return { store, open };
}

async function readAll(v: VfsHandle, path: string): Promise<Buffer> {
  const size = (await v.getattr(path)).size;
  const fh = await v.open(path, fsc.O_RDONLY);
  const buf = new Uint8Array(size);
  const n = await v.read(fh, buf, size, 0);
  await v.release(fh);
  return Buffer.from(buf.subarray(0, n));
}

test('writeback: offline reads from the cache, writes land, fsync reports, uploads resume', async (t) => {
  const { store, open } = await world(t, 64 * MiB);
  const v = await open('a');
  const before = randomBytes(2 * MiB);
  let fh = await v.create('/before', 0o644, fsc.O_RDWR);
  await v.write(fh, before, 0);
  await v.fsync(fh, false);
  await v.release(fh);

  store.up = false;
  t.deepEqual(await readAll(v, '/before'), before);
  const during = randomBytes(MiB + 3);
  fh = await v.create('/during', 0o644, fsc.O_RDWR);
  await v.write(fh, during, 0);
  // close() may already report the failed background upload (when the uploader tried
  // before it) or leave it to fsync: either is EIO, never silence and never another code.
  await v.flush(fh).catch((e: { code?: string }) => t.is(e.code, 'EIO'));
  await t.throwsAsync(v.fsync(fh, false), { code: 'EIO' });
  await v.release(fh);
  t.true(v.status().errors.length > 0);
  t.true(v.status().queuedUploads > 0);

  store.up = true;
  await v.sync();
  t.is(v.status().queuedUploads, 0);
  await v.close();
  const b = await open('b');
  t.deepEqual(await readAll(b, '/during'), during);
  await b.close();
});

test('writeback: a reader\'s close reports nothing and leaves the failure to the writer (read-only handles are odd)', async (t) => {
  const { store, open } = await world(t, 64 * MiB);
  const v = await open('a');
  t.true(v.readOnlyHandlesOdd === true);
  store.up = false;
  const data = randomBytes(MiB + 3);
  const writer = await v.create('/f', 0o644, fsc.O_RDWR);
  t.is(writer % 2, 0);
  await v.write(writer, data, 0);
  const reader = await v.open('/f', fsc.O_RDONLY);
  t.is(reader % 2, 1);
  const buf = new Uint8Array(16);
  t.is(await v.read(reader, buf, 16, 0), 16);
  await v.sync().catch(() => undefined); // the upload fails meanwhile (store down)
  await v.flush(reader); // a reader's close: nothing to report
  await v.release(reader);
  await t.throwsAsync(v.fsync(writer, false), { code: 'EIO' }); // the writer still hears of it
  await v.release(writer);
  store.up = true;
  await v.sync();
  await v.close();
  t.deepEqual(await readAll(await open('b'), '/f'), data);
});

test('writeback: ENOSPC when the cache is full of unsent data, nothing written is lost', async (t) => {
  const { store, open } = await world(t, 4 * MiB);
  const v = await open('a');
  store.up = false;
  const fh = await v.create('/big', 0o644, fsc.O_RDWR);
  const chunk = randomBytes(MiB);
  let written = 0;
  let err: unknown = null;
  for (let i = 0; i < 10; i++) {
    try {
      await v.write(fh, chunk, written);
      written += chunk.length;
    } catch (e) {
      err = e;
      break;
    }
  }
  t.is((err as { code?: string } | null)?.code, 'ENOSPC');
  t.true(written >= 2 * MiB);
  await v.flush(fh);
  await v.release(fh);
  const got = await readAll(v, '/big');
  t.is(got.length, written);
  for (let at = 0; at < written; at += MiB) t.true(got.subarray(at, at + MiB).equals(chunk));
  store.up = true;
  await v.sync();
  await v.close();
  const b = await open('b', 64 * MiB);
  t.is((await readAll(b, '/big')).length, written);
  await b.close();
});

test('writeback: a restart with the store down starts from the last root seen here', async (t) => {
  const { store, open } = await world(t, 64 * MiB);
  const v = await open('a');
  const data = randomBytes(MiB + 7);
  let fh = await v.create('/f', 0o644, fsc.O_RDWR);
  await v.write(fh, data, 0);
  await v.release(fh);
  await v.close();
  store.up = false;
  const w = await open('a');
  t.deepEqual(await readAll(w, '/f'), data);
  fh = await w.create('/offline', 0o644, fsc.O_RDWR);
  await w.write(fh, data.subarray(0, 100), 0);
  await w.release(fh);
  store.up = true;
  await w.sync();
  await w.close();
  const b = await open('b');
  t.deepEqual(await readAll(b, '/offline'), data.subarray(0, 100));
  await b.close();
});
