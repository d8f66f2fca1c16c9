// The read path (docs/design.md "Read path"): a chunk is checked in full (id and tag)
// before any range of it is read from its cache file; once checked, reads of it return
// the same bytes as a full open, whatever the offsets (unaligned, across chunks, past
// the end of a short last chunk).
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { MemoryStore } from '../helpers/memory-store.js';

const MiB = 1 << 20;

async function world(t: { teardown: (f: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-range-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new MemoryStore();
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  const lines: string[] = [];
  // memCacheBytes 1: no decrypted chunk stays in memory, so every read goes to the disk cache.
  const open = (): Promise<VfsHandle> => openVfs({
    store, keys, stateDir: join(dir, 'state'), cacheDir: join(dir, 'cache'), cacheSizeBytes: 1 << 30,
    memCacheBytes: 1, deviceId: 'm', log: (l) => lines.push(l), commitDelayMs: 10,
  });
  const writer = await open();
  const fh = await writer.create('/f.bin', 0o644, fsc.O_RDWR);
  const data = randomBytes(2 * MiB + 12_345);
  await writer.write(fh, data, 0);
  await writer.release(fh);
  await writer.close();
  const chunkFiles: string[] = [];
  for (const shard of await readdir(join(dir, 'cache', 'objects'))) {
    for (const name of await readdir(join(dir, 'cache', 'objects', shard))) chunkFiles.push(join(dir, 'cache', 'objects', shard, name));
  }
  return { open, data, lines, chunkFiles };
}

async function readAt(v: VfsHandle, fh: number, at: number, len: number): Promise<Buffer> {
  const buf = new Uint8Array(len);
  const n = await v.read(fh, buf, len, at);
  return Buffer.from(buf.subarray(0, n));
}

/** Flip the last ciphertext byte (just before the tag) of every cache file of 1 MiB or more. */
async function flipEnds(files: string[]): Promise<void> {
  for (const path of files) {
    const h = await open(path, 'r+');
    try {
      const { size } = await h.stat();
      if (size < MiB) continue;
      const b = Buffer.alloc(1);
      await h.read(b, 0, 1, size - 17);
      b[0] ^= 1;
      await h.write(b, 0, 1, size - 17);
    } finally {
      await h.close();
    }
  }
}

test('read path: random reads of checked chunks equal the written bytes', async (t) => {
  const w = await world(t);
  const v = await w.open();
  t.teardown(() => v.close());
  const fh = await v.open('/f.bin', fsc.O_RDONLY);
  for (let i = 0; i < 300; i++) {
    const at = Math.floor(Math.random() * (w.data.length + 100));
    const len = 1 + Math.floor(Math.random() * (i % 3 === 0 ? 200_000 : 5000));
    const want = w.data.subarray(Math.min(at, w.data.length), Math.min(at + len, w.data.length));
    t.true((await readAt(v, fh, at, len)).equals(want), `${at}+${len}`);
  }
  await v.release(fh);
});

test('read path: a chunk not yet checked is read and checked in full, even for 4 KiB', async (t) => {
  const w = await world(t);
  // Damage every chunk far from the bytes read: a range read would not see it, a full check does.
  await flipEnds(w.chunkFiles);
  const v = await w.open();
  t.teardown(() => v.close());
  const fh = await v.open('/f.bin', fsc.O_RDONLY);
  await t.throwsAsync(readAt(v, fh, 4096, 4096), { code: 'EIO' });
  await t.throwsAsync(readAt(v, fh, MiB + 8192, 4096), { code: 'EIO' });
  t.true(w.lines.some((l) => l.includes('/f.bin') && /chunk \d/.test(l)), w.lines.join('\n'));
  await v.release(fh);
});

test('read path: once checked, a chunk is read by range from its cache file', async (t) => {
  const w = await world(t);
  const v = await w.open();
  t.teardown(() => v.close());
  const fh = await v.open('/f.bin', fsc.O_RDONLY);
  t.true((await readAt(v, fh, 4096, 4096)).equals(w.data.subarray(4096, 8192)));
  // The chunk is verified now; later reads touch only their own ciphertext bytes (the
  // local disk is the user's own, docs/design.md "Read path"), so damage elsewhere in
  // the file is not read.
  await flipEnds(w.chunkFiles);
  t.true((await readAt(v, fh, 100_000, 4096)).equals(w.data.subarray(100_000, 104_096)));
  // An unchecked chunk of the same file still fails its full check.
  await t.throwsAsync(readAt(v, fh, MiB + 5, 10), { code: 'EIO' });
  await v.release(fh);
});

test('read path: sequential reads (read ahead into reused buffers) equal the written bytes', async (t) => {
  const w = await world(t);
  for (const size of [1 << 20, 128 * 1024, 100_000]) {
    const v = await w.open();
    const fh = await v.open('/f.bin', fsc.O_RDONLY);
    const parts: Buffer[] = [];
    for (let at = 0; ; at += size) {
      const b = await readAt(v, fh, at, size);
      if (b.length === 0) break;
      parts.push(b);
    }
    t.true(Buffer.concat(parts).equals(w.data), `reads of ${size}`);
    // Again on the same handle (now verified, read by range).
    t.true((await readAt(v, fh, 0, w.data.length)).equals(w.data));
    await v.release(fh);
    await v.close();
  }
});

test('read path: a sequential reader of a damaged chunk gets EIO, never its bytes', async (t) => {
  const w = await world(t);
  // Damage chunk 1 only: flip one full chunk and see whether chunk 0 still reads.
  const full = [];
  for (const path of w.chunkFiles) if ((await stat(path)).size >= MiB) full.push(path);
  t.is(full.length, 2);
  await flipEnds([full[0]]);
  const probe = await w.open();
  const pfh = await probe.open('/f.bin', fsc.O_RDONLY);
  const chunk0Damaged = await readAt(probe, pfh, 0, 16).then(() => false, () => true);
  await probe.release(pfh);
  await probe.close();
  if (chunk0Damaged) await flipEnds(full); // undo the first, damage the second
  const v = await w.open();
  t.teardown(() => v.close());
  const fh = await v.open('/f.bin', fsc.O_RDONLY);
  // Chunk 0 reads; being sequential, it reads chunk 1 ahead, which fails its check there.
  t.true((await readAt(v, fh, 0, MiB)).equals(w.data.subarray(0, MiB)));
  await t.throwsAsync(readAt(v, fh, MiB, MiB), { code: 'EIO' });
  t.true(w.lines.some((l) => l.includes('/f.bin') && /chunk 1/.test(l)), w.lines.join('\n'));
  t.true((await readAt(v, fh, 2 * MiB, MiB)).equals(w.data.subarray(2 * MiB)));
  await v.release(fh);
});
