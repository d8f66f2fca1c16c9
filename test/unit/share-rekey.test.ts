// The vfs side of shares without a copy: a capture freezes a file and marks its key
// exposed; the next change moves the file to a new file id and key (every sealed chunk
// sealed again, or none for a truncate to zero), journaled, so a process killed before
// the commit replays it; the share record's snapshot keeps the captured chunks.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { toHex } from '../../src/format/bytes.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import type { VfsEngine } from '../../src/vfs/engine.js';
import type { FileNode } from '../../src/vfs/nodes.js';
import type { CapturedFile } from '../../src/vfs/shares.js';
import { MemoryStore } from '../helpers/memory-store.js';

const MiB = 1 << 20;

async function setup(t: { teardown: (f: () => Promise<void>) => void }) {
  const store = new MemoryStore();
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  const dir = await mkdtemp(join(tmpdir(), 'megafs-rekey-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const open = (machine = 'a', o: { memCacheBytes?: number; log?: (line: string) => void } = {}): Promise<VfsHandle> => openVfs({
    store, keys, stateDir: join(dir, machine, 'state'), cacheDir: join(dir, machine, 'cache'), cacheSizeBytes: 256 * MiB,
    deviceId: machine, log: o.log ?? (() => undefined), commitDelayMs: 60_000, memCacheBytes: o.memCacheBytes,
  });
  return { store, open };
}

const node = async (v: VfsHandle, path: string): Promise<FileNode> => (await (v as unknown as VfsEngine).resolve(path)) as FileNode;

async function put(v: VfsHandle, path: string, data: Uint8Array, flags = fsc.O_WRONLY | fsc.O_TRUNC, at = 0): Promise<void> {
  const fh = flags & fsc.O_CREAT || !(await v.lookup!(path)) ? await v.create(path, 0o644, flags) : await v.open(path, flags);
  await v.write(fh, data, at);
  await v.flush(fh);
  await v.release(fh);
}

async function readAll(v: VfsHandle, path: string): Promise<Buffer> {
  const size = (await v.getattr(path)).size;
  const fh = await v.open(path, fsc.O_RDONLY);
  const buf = Buffer.alloc(size);
  for (let at = 0; at < size;) at += await v.read(fh, buf.subarray(at), size - at, at);
  await v.release(fh);
  return buf;
}

async function share(v: VfsHandle, path: string): Promise<CapturedFile> {
  const c = await v.shares.capture(path, path.slice(1));
  v.shares.add({ linkId: toHex(randomBytes(16)), link: 'https://example.invalid/s/x#1A', createdMs: Date.now(), expiresMs: null, path }, c);
  await v.sync();
  return c as CapturedFile;
}

test('a change after a share rekeys; killed before the commit, the journal replays it', async (t) => {
  const { store, open } = await setup(t);
  const a = await open();
  const data = randomBytes(3 * MiB + 7);
  await put(a, '/f', data);
  await a.sync();
  const c = await share(a, '/f');
  t.deepEqual([...c.chunks.values()], [...(await node(a, '/f')).chunks!.values()]);
  await put(a, '/f', new Uint8Array([1, 2, 3]), fsc.O_WRONLY, MiB + 10);
  const moved = await node(a, '/f');
  t.not(toHex(moved.fileId), toHex(c.entry.file!.fileId));
  t.true([...moved.chunks!.values()].every((id) => ![...c.chunks.values()].includes(id)));
  a.abandon();
  const b = await open(); // the same machine: replays rekey, then data
  const want = Buffer.from(data);
  want.set([1, 2, 3], MiB + 10);
  t.true((await readAll(b, '/f')).equals(want));
  t.is(toHex((await node(b, '/f')).fileId), toHex(moved.fileId));
  await b.sync();
  // Every chunk the share's snapshot names is still on the store.
  for (const id of c.chunks.values()) t.true(store.objects.has(id));
  await b.close();
  const other = await open('b');
  t.true((await readAll(other, '/f')).equals(want));
  await other.close();
});

test('O_TRUNC after a share rekeys without sealing the old content again', async (t) => {
  const { store, open } = await setup(t);
  const a = await open();
  await put(a, '/g', randomBytes(4 * MiB));
  const c = await share(a, '/g');
  const stored = (): number => [...store.objects.values()].reduce((n, b) => n + b.length, 0);
  const before = stored();
  await put(a, '/g', new TextEncoder().encode('new'));
  t.not(toHex((await node(a, '/g')).fileId), toHex(c.entry.file!.fileId));
  await a.sync();
  t.true(stored() - before < 64 * 1024, `${stored() - before} bytes added: the 4 MiB were not sealed again`);
  await put(a, '/g', new TextEncoder().encode('newer'));
  a.abandon();
  const b = await open();
  t.is((await readAll(b, '/g')).toString(), 'newer');
  await b.close();
});

test('a file not shared keeps its key; a capture of a file with unsealed data seals it first', async (t) => {
  const { open } = await setup(t);
  const a = await open();
  await put(a, '/plain', randomBytes(1000));
  const id = toHex((await node(a, '/plain')).fileId);
  await put(a, '/plain', randomBytes(10), fsc.O_WRONLY, 5);
  t.is(toHex((await node(a, '/plain')).fileId), id);
  const fh = await a.create('/open', 0o644, fsc.O_WRONLY);
  await a.write(fh, new Uint8Array(2 * MiB).fill(9), 0);
  const c = await a.shares.capture('/open', 'open');
  t.is(c.kind === 'file' ? c.chunks.size : 0, 2);
  t.is(c.entry.size, 2 * MiB);
  await a.write(fh, new Uint8Array([1]), 0); // through the handle opened before the share
  await a.release(fh);
  t.not(toHex((await node(a, '/open')).fileId), toHex(c.entry.file!.fileId));
  await a.close();
});

test('smoke: readers during a rekey get the right bytes and no integrity failure', async (t) => {
  const { open } = await setup(t);
  const lines: string[] = [];
  const first = await open('first');
  const data = randomBytes(16 * MiB);
  await put(first, '/r', data);
  await first.sync();
  await share(first, '/r');
  await first.close();
  // Another machine: an empty cache (chunks fetched and checked while the rekey runs) and
  // no memory cache (every read opens its chunk with a key). It learns of the share from
  // the drive's records.
  const a = await open('a', { memCacheBytes: 1, log: (l) => lines.push(l) });
  let done = false;
  let reads = 0;
  const reader = async (): Promise<void> => {
    const fh = await a.open('/r', fsc.O_RDONLY);
    const buf = Buffer.alloc(4096);
    while (!done) {
      const at = Math.floor(Math.random() * 16) * MiB + 4096 * Math.floor(Math.random() * 200);
      t.is(await a.read(fh, buf, 4096, at), 4096);
      if (!buf.equals(data.subarray(at, at + 4096))) t.fail(`wrong bytes at ${at}`);
      reads++;
      // A read from the page cache resolves without I/O: give the writer its turn, as
      // requests arriving from the kernel would.
      await new Promise((r) => setImmediate(r));
    }
    await a.release(fh);
  };
  const readers = Array.from({ length: 8 }, reader);
  await put(a, '/r', new Uint8Array([data[5]]), fsc.O_WRONLY, 5); // same byte: the content does not change
  done = true;
  await Promise.all(readers);
  t.true(reads > 0);
  t.deepEqual(lines.filter((l) => /integrity|cannot/.test(l)), []);
  t.true((await readAll(a, '/r')).equals(data));
  await a.close();
});
