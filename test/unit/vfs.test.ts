// The vfs over an in-memory store: namespace operations, data at any offset, holes,
// commit to the store and reopen on a second "machine" (fresh state and cache dirs).
import test from 'ava';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveDriveKeys, type DriveKeys } from '../../src/crypto/keys.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { MemoryStore } from '../helpers/memory-store.js';
import type { Store } from '../../src/store/store.js';

export function newKeys(): DriveKeys {
  return deriveDriveKeys(randomBytes(32), randomBytes(16));
}

async function setup(t: { teardown: (f: () => Promise<void> | void) => void }, store: Store = new MemoryStore(), keys = newKeys()) {
  const dirs: string[] = [];
  const open = async (machine = 'a'): Promise<VfsHandle> => {
    const dir = await mkdtemp(join(tmpdir(), `megafs-vfs-${machine}-`));
    dirs.push(dir);
    return openVfs({ store, keys, stateDir: join(dir, 'state'), cacheDir: join(dir, 'cache'), cacheSizeBytes: 256 << 20, deviceId: machine, log: () => undefined, commitDelayMs: 20 });
  };
  t.teardown(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });
  return { store, keys, open };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function readAll(v: VfsHandle, path: string): Promise<Uint8Array> {
  const a = await v.getattr(path);
  const fh = await v.open(path, fsc.O_RDONLY);
  const buf = new Uint8Array(a.size);
  let at = 0;
  while (at < a.size) {
    const n = await v.read(fh, buf.subarray(at), Math.min(a.size - at, 300_000), at);
    if (n === 0) break;
    at += n;
  }
  await v.release(fh);
  return buf;
}

async function writeFile(v: VfsHandle, path: string, data: Uint8Array): Promise<void> {
  const fh = await v.create(path, 0o644, fsc.O_WRONLY | fsc.O_TRUNC);
  for (let at = 0; at < data.length; at += 200_000) await v.write(fh, data.subarray(at, at + 200_000), at);
  await v.flush(fh);
  await v.release(fh);
}

test('vfs: files and directories survive a commit and open on another machine', async (t) => {
  const { open } = await setup(t);
  const a = await open('a');
  await a.mkdir('/docs', 0o755);
  await writeFile(a, '/docs/hello.txt', enc('hello world'));
  const big = randomBytes(2 * (1 << 20) + 12345);
  await writeFile(a, '/big.bin', big);
  await a.symlink('docs/hello.txt', '/link');
  await a.utimens('/docs/hello.txt', 1_000_000, 2_000_000);
  await a.setxattr('/big.bin', 'user.k', new Uint8Array(64 * 1024).fill(7), 0);
  await a.close();

  const b = await open('b');
  t.is(dec(await readAll(b, '/docs/hello.txt')), 'hello world');
  t.deepEqual(Buffer.from(await readAll(b, '/big.bin')), big);
  t.is(await b.readlink('/link'), 'docs/hello.txt');
  t.is((await b.getattr('/docs/hello.txt')).mtimeMs, 2_000_000);
  t.is((await b.getxattr('/big.bin', 'user.k')).length, 64 * 1024);
  t.deepEqual((await b.readdir('/')).map((e) => e.name).sort(), ['big.bin', 'docs', 'link']);
  t.is((await b.getattr('/big.bin')).size, big.length);
  await b.close();
});

test('vfs: namespace errors are POSIX codes', async (t) => {
  const { open } = await setup(t);
  const v = await open();
  await v.mkdir('/d', 0o755);
  await writeFile(v, '/d/f', enc('x'));
  await t.throwsAsync(v.mkdir('/d', 0o755), { code: 'EEXIST' });
  await t.throwsAsync(v.rmdir('/d'), { code: 'ENOTEMPTY' });
  await t.throwsAsync(v.getattr('/nope'), { code: 'ENOENT' });
  await t.throwsAsync(v.getattr('/d/f/x'), { code: 'ENOTDIR' });
  await t.throwsAsync(v.unlink('/d'), { code: 'EISDIR' });
  await t.throwsAsync(v.rmdir('/d/f'), { code: 'ENOTDIR' });
  await t.throwsAsync(v.link('/d/f', '/g'), { code: 'EPERM' });
  await t.throwsAsync(v.rename('/d', '/d/sub'), { code: 'EINVAL' });
  await t.throwsAsync(v.create('/d/f', 0o644, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY), { code: 'EEXIST' });
  await t.throwsAsync(v.getxattr('/d/f', 'user.none'), { code: 'ENODATA' });
  await t.throwsAsync(v.setxattr('/d/f', 'user.big', new Uint8Array(64 * 1024 + 1), 0), { code: 'E2BIG' });
  await t.throwsAsync(v.readlink('/d/f'), { code: 'EINVAL' });
  await t.throwsAsync(v.mkdir('/' + 'n'.repeat(256), 0o755), { code: 'ENAMETOOLONG' });
  await t.throwsAsync(v.rename('/d/f', '/e', 2), { code: 'ENOTSUP' });
  await t.throwsAsync(v.read(999, new Uint8Array(1), 1, 0), { code: 'EBADF' });
  await v.close();
});

test('vfs: rename over an existing file, across directories, of directories', async (t) => {
  const { open } = await setup(t);
  const v = await open();
  await v.mkdir('/a', 0o755);
  await v.mkdir('/b', 0o755);
  await writeFile(v, '/a/x', enc('new'));
  await writeFile(v, '/b/y', enc('old'));
  await v.rename('/a/x', '/b/y');
  t.is(dec(await readAll(v, '/b/y')), 'new');
  await t.throwsAsync(v.getattr('/a/x'), { code: 'ENOENT' });
  await v.rename('/b', '/a/b2');
  t.is(dec(await readAll(v, '/a/b2/y')), 'new');
  await v.mkdir('/c', 0o755);
  await writeFile(v, '/c/z', enc('z'));
  await t.throwsAsync(v.rename('/a', '/c'), { code: 'ENOTEMPTY' });
  await t.throwsAsync(v.rename('/a/b2/y', '/c'), { code: 'EISDIR' });
  await v.sync();
  await v.close();
  const w = await open('b');
  t.is(dec(await readAll(w, '/a/b2/y')), 'new');
  await w.close();
});

test('vfs: unlink while open keeps the data readable until release', async (t) => {
  const { open } = await setup(t);
  const v = await open();
  await writeFile(v, '/f', enc('still here'));
  const fh = await v.open('/f', fsc.O_RDWR);
  await v.unlink('/f');
  await t.throwsAsync(v.getattr('/f'), { code: 'ENOENT' });
  const buf = new Uint8Array(10);
  t.is(await v.read(fh, buf, 10, 0), 10);
  t.is(dec(buf), 'still here');
  await v.write(fh, enc('S'), 0);
  t.is((await v.fgetattr(fh)).size, 10);
  await v.release(fh);
  await v.close();
});

test('vfs: sparse writes, truncate up and down, holes read as zeros', async (t) => {
  const { open, store } = await setup(t);
  const v = await open();
  const fh = await v.create('/s', 0o644, fsc.O_RDWR);
  const MiB = 1 << 20;
  await v.write(fh, enc('abc'), 5 * MiB + 10);
  t.is((await v.fgetattr(fh)).size, 5 * MiB + 13);
  const buf = new Uint8Array(20);
  t.is(await v.read(fh, buf, 20, 5 * MiB), 13);
  t.deepEqual([...buf.subarray(10, 13)], [...enc('abc')]);
  t.true(buf.subarray(0, 10).every((x) => x === 0));
  await v.ftruncate(fh, 5 * MiB + 11);
  await v.ftruncate(fh, 6 * MiB);
  t.is(await v.read(fh, buf, 20, 5 * MiB), 20);
  t.deepEqual([...buf.subarray(10, 13)], [97, 0, 0]);
  await v.fsync(fh, false);
  await v.release(fh);
  const puts = (store as MemoryStore).puts;
  await v.truncate('/s', 2 ** 50);
  await v.sync();
  t.is((await v.getattr('/s')).size, 2 ** 50);
  // The commit's objects, none of them data: the directory, the DRIVE object and the
  // versions page (twice over when the session's announcement moved the root first).
  t.true((store as MemoryStore).puts - puts <= 7, `a petabyte of holes stores (almost) nothing (${(store as MemoryStore).puts - puts} puts)`);
  await v.close();
  const w = await open('b');
  t.is((await w.getattr('/s')).size, 2 ** 50);
  const fh2 = await w.open('/s', fsc.O_RDONLY);
  t.is(await w.read(fh2, buf, 20, 5 * MiB), 20);
  t.deepEqual([...buf.subarray(10, 13)], [97, 0, 0]);
  t.is(await w.read(fh2, buf, 20, 2 ** 49), 20);
  t.true(buf.every((x) => x === 0));
  await w.release(fh2);
  await w.close();
});

test('vfs: random writes across chunk borders match a plain buffer', async (t) => {
  const { open } = await setup(t);
  const v = await open();
  const size = 2 * (1 << 20) + 777;
  const model = new Uint8Array(size);
  const fh = await v.create('/r', 0o644, fsc.O_RDWR);
  let fileSize = 0;
  for (let i = 0; i < 24; i++) {
    const at = Math.floor(Math.random() * (size - 1));
    const len = Math.min(size - at, 1 + Math.floor(Math.random() * 200_000));
    const data = randomBytes(len);
    model.set(data, at);
    await v.write(fh, data, at);
    fileSize = Math.max(fileSize, at + len);
    if (i % 8 === 7) await v.flush(fh);
  }
  await v.release(fh);
  t.deepEqual(Buffer.from(await readAll(v, '/r')), Buffer.from(model.subarray(0, fileSize)));
  await v.close();
  const w = await open('b');
  t.deepEqual(Buffer.from(await readAll(w, '/r')), Buffer.from(model.subarray(0, fileSize)));
  await w.close();
});

test('vfs: chmod, chown, statfs, status', async (t) => {
  const { open } = await setup(t);
  const v = await open();
  await writeFile(v, '/f', enc('x'));
  await v.chmod('/f', 0o600);
  t.is((await v.getattr('/f')).mode & 0o7777, 0o600);
  await v.chown('/f', 1234, 5678);
  t.is((await v.getattr('/f')).uid, 1234);
  const s = await v.statfs();
  t.true(s.bsize > 0 && s.bfree <= s.blocks);
  await v.sync();
  t.is(v.status().errors.length, 0);
  t.not(v.status().rootVersion, '0');
  await v.close();
});

test('vfs: a file with more chunks than fit inline keeps them in chunk lists', async (t) => {
  const { open } = await setup(t);
  const v = await open();
  const MiB = 1 << 20;
  const fh = await v.create('/many', 0o644, fsc.O_RDWR);
  for (let i = 0; i < 70; i++) await v.write(fh, new Uint8Array([i + 1]), i * MiB + i);
  await v.release(fh);
  await v.close();
  const w = await open('b');
  const fh2 = await w.open('/many', fsc.O_RDWR);
  const one = new Uint8Array(1);
  for (const i of [0, 33, 64, 69]) {
    t.is(await w.read(fh2, one, 1, i * MiB + i), 1);
    t.is(one[0], i + 1);
  }
  await w.write(fh2, new Uint8Array([200]), 80 * MiB);
  await w.release(fh2);
  await w.close();
  const x = await open('c');
  const fh3 = await x.open('/many', fsc.O_RDONLY);
  for (const [at, want] of [[69 * MiB + 69, 70], [80 * MiB, 200], [75 * MiB, 0]]) {
    t.is(await x.read(fh3, one, 1, at), 1);
    t.is(one[0], want);
  }
  t.is((await x.fgetattr(fh3)).size, 80 * MiB + 1);
  await x.release(fh3);
  await x.close();
});

test('vfs: nothing is written to the state directory once close() has returned', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-vfs-close-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  // A commit timer of 1 ms fires while close's own commit seals and uploads 300 files;
  // the timer commit queued behind it must not run after close returns.
  const v = await openVfs({
    store: new MemoryStore(), keys: newKeys(), stateDir, cacheDir: join(dir, 'cache'), cacheSizeBytes: 256 << 20,
    deviceId: 'a', log: () => undefined, commitDelayMs: 1,
  });
  for (let i = 0; i < 300; i++) await writeFile(v, `/f${i}`, enc(`file ${i}`));
  await v.close();
  const { readdir, stat } = await import('node:fs/promises');
  const snapshot = async (): Promise<string> => {
    const names = (await readdir(stateDir, { recursive: true })).sort();
    const times = await Promise.all(names.map(async (n) => (await stat(join(stateDir, n))).mtimeMs));
    return JSON.stringify([names, times]);
  };
  const before = await snapshot();
  await new Promise((r) => setTimeout(r, 200));
  t.is(await snapshot(), before);
});
