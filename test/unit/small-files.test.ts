// Small files go into the journal at close (src/vfs/small-files.ts): what close returned
// for survives a simulated crash (abandon) and replays to the same content and times,
// including files that later grew past the inline limit, were rewritten or renamed; and
// the next commit seals them so that another machine reads them.
import test from 'ava';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { INLINE_MAX_BYTES } from '../../src/vfs/small-files.js';
import { MemoryStore } from '../helpers/memory-store.js';

async function setup(t: { teardown: (f: () => Promise<void> | void) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-small-'));
  const store = new MemoryStore();
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  const opened: VfsHandle[] = [];
  t.teardown(async () => {
    for (const v of opened) v.abandon();
    await rm(dir, { recursive: true, force: true });
  });
  /** `machine`'s vfs; commitDelayMs huge: nothing is committed unless asked. */
  const open = async (machine: string, commitDelayMs = 1e9): Promise<VfsHandle> => {
    const v = await openVfs({
      store, keys, stateDir: join(dir, machine, 'state'), cacheDir: join(dir, machine, 'cache'), cacheSizeBytes: 1 << 30,
      deviceId: machine, log: () => undefined, commitDelayMs,
    });
    opened.push(v);
    return v;
  };
  return { open, store };
}

async function put(v: VfsHandle, path: string, data: Uint8Array, flags = fsc.O_WRONLY | fsc.O_TRUNC): Promise<number> {
  const fh = await v.create(path, 0o644, flags);
  if (data.length > 0) await v.write(fh, data, 0);
  await v.flush(fh);
  return fh;
}

async function readAll(v: VfsHandle, path: string): Promise<Buffer> {
  const size = (await v.getattr(path)).size;
  const fh = await v.open(path, fsc.O_RDONLY);
  const buf = Buffer.alloc(size);
  for (let at = 0; at < size;) {
    const n = await v.read(fh, buf.subarray(at), size - at, at);
    if (n === 0) break;
    at += n;
  }
  await v.release(fh);
  return buf;
}

test('small files: closed content and times survive a crash before any commit, then go up', async (t) => {
  const { open, store } = await setup(t);
  const a = await open('a');
  await a.mkdir('/d', 0o755);
  const one = randomBytes(1024);
  await a.release(await put(a, '/d/one', one));
  const empty = await put(a, '/d/empty', new Uint8Array(0));
  await a.release(empty);
  // Times set through the open handle of an unsealed file (the kernel's writeback cache
  // does this at close) are journaled with the content.
  const timed = await put(a, '/d/timed', Buffer.from('tick'));
  await a.futimens!(timed, 1_000_000, 2_000_000);
  await a.release(timed);
  const objectsBefore = (await store.usage()).objectCount;
  a.abandon();

  const again = await open('a', 10);
  t.deepEqual(await readAll(again, '/d/one'), one);
  t.is((await again.getattr('/d/empty')).size, 0);
  t.is((await again.getattr('/d/timed')).mtimeMs, 2_000_000);
  t.is((await readAll(again, '/d/timed')).toString(), 'tick');
  await again.sync();
  t.true((await store.usage()).objectCount > objectsBefore);
  await again.close();

  const b = await open('b');
  t.deepEqual(await readAll(b, '/d/one'), one);
  t.is((await b.getattr('/d/timed')).mtimeMs, 2_000_000);
});

test('small files: the last of several closes wins, through growth past the limit, rewrites and renames', async (t) => {
  const { open } = await setup(t);
  const a = await open('a');
  // Inline first, then grown past the limit (sealed at close): the sealed record replaces
  // the inline content at replay.
  await a.release(await put(a, '/grow', Buffer.from('small at first')));
  const big = randomBytes(INLINE_MAX_BYTES + 5000);
  const fh = await a.open('/grow', fsc.O_WRONLY);
  await a.write(fh, big, 0);
  await a.flush(fh);
  await a.release(fh);
  // Rewritten smaller twice; renamed after its last close.
  await a.release(await put(a, '/re', Buffer.from('first version, longer')));
  await a.release(await put(a, '/re', Buffer.from('second')));
  await a.rename('/re', '/moved');
  // Written after a flush without another flush: release journals it.
  const late = await put(a, '/late', Buffer.from('flushed'));
  await a.write(late, Buffer.from('FLUSHED, then changed'), 0);
  await a.release(late);
  a.abandon();

  const again = await open('a');
  t.deepEqual(await readAll(again, '/grow'), big);
  t.is((await readAll(again, '/moved')).toString(), 'second');
  await t.throwsAsync(again.getattr('/re'), { code: 'ENOENT' });
  t.is((await readAll(again, '/late')).toString(), 'FLUSHED, then changed');
});
