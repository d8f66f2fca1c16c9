// native/data (src/platform/native-data.ts): the in-place OpenSSL path gives the same
// bytes as noble (the browser's reference), on and off the main thread; tampering is
// refused with E_INTEGRITY and no plaintext left behind; bad arguments throw; and without
// the module (MEGAFS_NATIVE_DATA=0) node:crypto gives the same bytes again.
import test from 'ava';
import { execFile } from 'node:child_process';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MegafsError } from '../../src/errors.js';
import { openChunk, openChunkAsync, sealChunk, sealChunkAsync } from '../../src/crypto/chunk.js';
import { noblePlatform as noble } from '../../src/crypto/noble.js';
import { openObject, openObjectAsync, sealObject, sealObjectAsync, sealedSize } from '../../src/crypto/object.js';
import { toHex } from '../../src/format/bytes.js';
import { nativeData } from '../../src/platform/native-data.js';
import { hashOf } from '../../src/store/body-hash.js';
import { nodePlatform as node } from '../../src/platform/node.js';

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
const pattern = (n: number, seed: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);
const size = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 65_530, max: 65_542 }), fc.integer({ min: 0, max: 1_100_000 }));
const key = pattern(32, 1);
const place = { fileId: pattern(16, 2), chunkIndex: 3, isLast: false };

test('native/data is built and in use (scripts/build-native.sh; .ci/run builds it)', (t) => {
  t.truthy(nativeData);
  t.truthy(node.sealStreamAsync && node.openAsync && node.sealStream);
  t.true(nativeData!.keepHeap()); // glibc took the heap settings (src/platform/heap.ts)
});

test('sealed objects: native (sync and on the thread pool) and noble agree byte for byte', async (t) => {
  await fc.assert(fc.asyncProperty(size, fc.integer(), async (n, seed) => {
    const payload = pattern(n, seed);
    const nonce = pattern(24, seed + 1);
    const a = sealObject(node, key, 'megafs test', pattern(5, seed), payload, nonce);
    const b = sealObject(noble, key, 'megafs test', pattern(5, seed), payload, nonce);
    t.is(a.id, b.id);
    t.true(same(a.bytes, b.bytes));
    const c = await sealObjectAsync(node, key, 'megafs test', pattern(5, seed), payload, new Uint8Array(sealedSize(n) + 7));
    t.is(c.bytes.length, sealedSize(n));
    t.true(same(openObject(noble, key, 'megafs test', pattern(5, seed), c.bytes, c.id), payload));
    t.true(same(await openObjectAsync(node, key, 'megafs test', pattern(5, seed), b.bytes, b.id), payload));
    t.true(same(openObject(node, key, 'megafs test', pattern(5, seed), b.bytes, b.id), payload));
  }), { numRuns: 25 });
});

test('raw ChaCha20 and SHA-256 (here and on the pool) agree with noble', async (t) => {
  for (const n of [0, 1, 63, 64, 65, 65_536, 200_001]) {
    const input = pattern(n, n);
    t.true(same(node.chacha20Xor(key, pattern(12, 3), 7, input), noble.chacha20Xor(key, pattern(12, 3), 7, input)));
    t.true(same(node.sha256(input), noble.sha256(input)));
    t.is(await hashOf(input), toHex(noble.sha256(input))); // from 64 KiB on, on the pool
  }
  t.throws(() => nativeData!.sha256(pattern(10, 1), new Uint8Array(31), () => undefined));
});

test('tampered chunks fail to open off the thread as on it, and leave no plaintext', async (t) => {
  const plain = pattern(1 << 20, 9);
  const sealed = await sealChunkAsync(node, key, place, plain);
  t.true(same(await openChunkAsync(node, key, place, sealed.bytes, sealed.id), plain));
  const flipped = sealed.bytes.slice();
  flipped[5000] ^= 1;
  const idErr = await t.throwsAsync(openChunkAsync(node, key, place, flipped, sealed.id));
  t.is((idErr as MegafsError).code, 'E_INTEGRITY');
  t.regex(idErr!.message, /does not match its id/);
  const out = new Uint8Array((1 << 20) + 16).fill(0xaa);
  const tagErr = await t.throwsAsync(openChunkAsync(node, key, place, flipped, undefined, out));
  t.is((tagErr as MegafsError).code, 'E_INTEGRITY');
  t.true(out.subarray(0, sealed.bytes.length - 45).every((x) => x === 0), 'unauthenticated bytes are wiped');
  // Another place (index) must not open either: the AAD binds it.
  await t.throwsAsync(openChunkAsync(node, key, { ...place, chunkIndex: 4 }, sealed.bytes, sealed.id));
  t.throws(() => openChunk(node, key, { ...place, isLast: true }, sealed.bytes, sealed.id));
  t.throws(() => openChunk(node, key, place, flipped));
});

test('bad arguments throw at once instead of touching memory', (t) => {
  const n = nativeData!;
  const e = t.throws(() => n.seal(key, pattern(12, 1), new Uint8Array(0), new Uint8Array(4), pattern(100, 1), 0, new Uint8Array(50), 25, new Uint8Array(32)));
  t.is((e as NodeJS.ErrnoException).code, 'E_NATIVE_DATA');
  t.throws(() => n.seal(pattern(31, 1), pattern(12, 1), new Uint8Array(0), new Uint8Array(4), pattern(10, 1), 0, new Uint8Array(100), 25, new Uint8Array(32)));
  t.throws(() => n.open(key, pattern(12, 1), new Uint8Array(0), pattern(100, 1), 25, new Uint8Array(10), null));
  t.throws(() => n.sha256(pattern(10, 1), new Uint8Array(31)));
});

test.serial('huge-page buffers: zeroed, separate, the asked size, unmapped once dropped; bad counts refused', async (t) => {
  const n = nativeData!;
  const bufs = n.hugeBuffers(3, 1 << 20);
  t.is(bufs.length, 3);
  for (const b of bufs) {
    t.is(b.byteLength, 1 << 20);
    t.true(new Uint8Array(b).every((x) => x === 0));
  }
  new Uint8Array(bufs[0]).fill(1);
  t.true(new Uint8Array(bufs[1]).every((x) => x === 0), 'buffers do not overlap');
  t.throws(() => n.hugeBuffers(0, 10));
  t.throws(() => n.hugeBuffers(2, -1));
  // Dropped buffers are unmapped when collected: 1 GiB allocated in turns stays bounded.
  const before = process.memoryUsage.rss();
  for (let i = 0; i < 512; i++) {
    new Uint8Array(n.hugeBuffers(2, 1 << 20)[i % 2]).fill(7, 0, 4096);
    // N-API finalizers (the unmapping) run from the event loop, as they do in a mount.
    if (i % 16 === 15) await new Promise((r) => setImmediate(r));
  }
  const grownMiB = (process.memoryUsage.rss() - before) / 2 ** 20;
  t.true(grownMiB < 512, `RSS grew ${grownMiB.toFixed(0)} MiB for 1 GiB allocated and dropped`);
  t.log(`RSS grew ${grownMiB.toFixed(0)} MiB`);
});

test('huge-page buffers made on the pool: zeroed, separate, the asked size; bad arguments refused', async (t) => {
  const n = nativeData!;
  const bufs = await new Promise<ArrayBuffer[] | null>((resolve) => n.hugeBuffersAsync(5, (1 << 20) + 4096, resolve));
  t.truthy(bufs);
  t.is(bufs!.length, 5);
  for (const b of bufs!) {
    t.is(b.byteLength, (1 << 20) + 4096);
    t.true(new Uint8Array(b).every((x) => x === 0));
  }
  new Uint8Array(bufs![2]).fill(9);
  t.true(new Uint8Array(bufs![1]).every((x) => x === 0) && new Uint8Array(bufs![3]).every((x) => x === 0), 'buffers do not overlap');
  t.throws(() => n.hugeBuffersAsync(0, 10, () => undefined));
  t.throws(() => n.hugeBuffersAsync(2, 10, undefined as never));
});

test('preadCached reads what the page cache holds and never waits; willNeed calls back', async (t) => {
  const n = nativeData!;
  const dir = await mkdtemp(join(tmpdir(), 'megafs-pread-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const data = pattern(300_000, 11);
  await writeFile(join(dir, 'f'), data); // just written: in the page cache
  const fh = await open(join(dir, 'f'), 'r');
  t.teardown(() => fh.close());
  const buf = new Uint8Array(5000);
  const got = n.preadCached(fh.fd, buf, 123_456);
  t.true(got === 5000 || got === -11, `read ${got}`); // -EAGAIN only if evicted meanwhile
  if (got === 5000) t.true(same(buf, data.subarray(123_456, 128_456)));
  t.is(n.preadCached(fh.fd, buf, 300_000), 0, 'end of file');
  t.is(n.preadCached(fh.fd, buf.subarray(0, 0), 0), 0);
  t.true(n.preadCached(999_999, buf, 0) < 0, 'a bad descriptor is -errno, not a throw');
  t.throws(() => n.preadCached(fh.fd, buf, -1));
  t.is(await new Promise<number>((resolve) => n.willNeed(fh.fd, resolve)), 0);
});

test('writeOut writes every byte at its position on the pool, syncFs syncs; a bad descriptor is -errno', async (t) => {
  const n = nativeData!;
  const dir = await mkdtemp(join(tmpdir(), 'megafs-writeout-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const data = pattern(1 << 20, 12);
  const fh = await open(join(dir, 'f'), 'w');
  t.is(await new Promise<number>((resolve) => n.writeOut(fh.fd, data, 4096, resolve)), 0);
  await fh.close();
  const back = await readFile(join(dir, 'f'));
  t.is(back.length, 4096 + data.length);
  t.true(back.subarray(0, 4096).every((x) => x === 0));
  t.true(same(back.subarray(4096), data));
  t.true(await new Promise<number>((resolve) => n.writeOut(999_999, data, 0, resolve)) < 0);
  t.throws(() => n.writeOut(3, data, -1, () => undefined));
  const dh = await open(dir, 'r');
  t.is(await new Promise<number>((resolve) => n.syncFs(dh.fd, resolve)), 0);
  await dh.close();
  t.is(await new Promise<number>((resolve) => n.syncFs(999_999, resolve)), -9); // EBADF
});

test('writeOut around the page cache: a sealed chunk\'s odd size, odd memory, odd offsets, and tmpfs all land byte for byte', async (t) => {
  const n = nativeData!;
  const dirs = [await mkdtemp(join(tmpdir(), 'megafs-direct-'))];
  if (existsSync('/dev/shm')) dirs.push(await mkdtemp('/dev/shm/megafs-direct-')); // tmpfs refuses O_DIRECT
  t.teardown(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const backing = pattern((1 << 20) + 8192, 21);
  const cases = [
    { data: backing.subarray(0, (1 << 20) + 45), at: 0 }, // a sealed full chunk: 1 MiB + 45
    { data: backing.subarray(3, (1 << 20) + 3), at: 0 }, // memory not aligned
    { data: backing.subarray(0, 300_000), at: 8192 }, // aligned offset past the start
    { data: backing.subarray(0, 300_000), at: 100 }, // offset not aligned: all buffered
    { data: backing.subarray(0, 5000), at: 0 }, // small: all buffered
  ];
  for (const dir of dirs) {
    for (const [i, c] of cases.entries()) {
      const path = join(dir, `f${i}`);
      const fh = await open(path, 'w');
      t.is(await new Promise<number>((resolve) => n.writeOut(fh.fd, c.data, c.at, resolve)), 0);
      await fh.close();
      const back = await readFile(path);
      t.is(back.length, c.at + c.data.length, `${dir} case ${i}`);
      t.true(same(back.subarray(c.at), c.data), `${dir} case ${i}`);
    }
  }
});

test('readFile reads a whole file on the pool: its size, -ENOENT, -EFBIG when bigger than the buffer, an empty file', async (t) => {
  const n = nativeData!;
  const dir = await mkdtemp(join(tmpdir(), 'megafs-readfile-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const data = pattern(1_000_003, 13);
  await writeFile(join(dir, 'f'), data);
  await writeFile(join(dir, 'empty'), new Uint8Array(0));
  const read = (path: string, buf: Uint8Array): Promise<number> => new Promise((resolve) => n.readFile(path, buf, resolve));
  const buf = new Uint8Array(1 << 20).fill(0xee);
  t.is(await read(join(dir, 'f'), buf), data.length);
  t.true(same(buf.subarray(0, data.length), data));
  t.true(buf.subarray(data.length).every((x) => x === 0xee)); // nothing written past the file
  t.is(await read(join(dir, 'f'), new Uint8Array(data.length - 1)), -27); // EFBIG
  t.is(await read(join(dir, 'f'), new Uint8Array(data.length)), data.length);
  t.is(await read(join(dir, 'missing'), buf), -2); // ENOENT
  t.is(await read(dir, buf), -21); // EISDIR
  t.is(await read(join(dir, 'empty'), buf), 0);
  t.throws(() => n.readFile('', buf, () => undefined));
  t.throws(() => n.readFile('a\0b', buf, () => undefined));
  t.throws(() => n.readFile(join(dir, 'f'), new Uint16Array(4) as unknown as Uint8Array, () => undefined));
});

test('without the module (MEGAFS_NATIVE_DATA=0), node:crypto gives the same object', async (t) => {
  const nonce = pattern(24, 5);
  const here = sealChunk(node, key, place, pattern(300_000, 4), nonce);
  const script = `
    const { sealChunk } = await import(${JSON.stringify(fileURLToPath(new URL('../../src/crypto/chunk.js', import.meta.url)))});
    const { nodePlatform } = await import(${JSON.stringify(fileURLToPath(new URL('../../src/platform/node.js', import.meta.url)))});
    const p = (n, s) => new Uint8Array(n).map((_, i) => (i * 31 + s) & 0xff);
    const o = sealChunk(nodePlatform, p(32, 1), { fileId: p(16, 2), chunkIndex: 3, isLast: false }, p(300000, 4), p(24, 5));
    console.log(o.id, nodePlatform.sealStream === undefined);
  `;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, MEGAFS_NATIVE_DATA: '0' } }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  t.is(out.trim(), `${here.id} true`);
});
