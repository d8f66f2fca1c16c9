// The write-back queue's waits end: a wait for an object queued behind uploads that keep
// failing (every slot taken, so it is never even tried) fails with their error instead of
// hanging; a refusal fails its waiters at once and is retried only when asked.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskCache } from '../../src/vfs/disk-cache.js';
import { Uploader } from '../../src/vfs/uploader.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { codeOf } from '../helpers/code-of.js';

function object(): { id: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(randomBytes(300));
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes };
}

async function world(t: { teardown: (f: () => Promise<void> | void) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-uploader-'));
  const cache = await DiskCache.open(dir, 64 << 20);
  const store = new MemoryStore();
  const up = new Uploader(store, cache, 2, 1 << 20, () => undefined);
  t.teardown(async () => { up.stop(); await rm(dir, { recursive: true, force: true }); });
  const put = async (): Promise<string> => {
    const o = object();
    await cache.put(o.id, o.bytes, true);
    up.enqueue(o.id, o.bytes);
    return o.id;
  };
  return { store, up, put };
}

test('uploader: a wait for an object stuck behind failing uploads fails, never hangs; it goes up once the store is back', async (t) => {
  const { store, up, put } = await world(t);
  store.up = false;
  await put();
  await put(); // both slots now retry forever
  const last = await put();
  t.is(await codeOf(up.waitFor([last])), 'E_UNAVAILABLE');
  store.up = true;
  up.kick();
  await up.waitFor([last]);
  t.true(store.objects.has(last));
  t.deepEqual(up.unacked([last]), []);
});

test('uploader: a refusal fails its waiters at once, is parked (unacked), and goes up when retried', async (t) => {
  const { store, up, put } = await world(t);
  store.quotaBytes = 0;
  const id = await put();
  t.is(await codeOf(up.waitFor([id])), 'E_QUOTA');
  t.is(await codeOf(up.waitFor([id])), 'E_QUOTA');
  t.deepEqual(up.unacked([id]), [id]);
  store.quotaBytes = null;
  up.retryRefused();
  await up.waitFor([id]);
  t.deepEqual(up.unacked([id]), []);
});

test('uploader: stop() ends every wait (a commit waiting while the process stops never hangs)', async (t) => {
  const { store, up, put } = await world(t);
  store.up = false;
  const id = await put();
  const waiting = codeOf(up.waitFor([id]));
  up.stop();
  t.is(await waiting, 'E_UNAVAILABLE');
});

test('uploader: a wait that starts after stop() ends at once', async (t) => {
  const { store, up, put } = await world(t);
  store.up = false;
  const id = await put();
  up.stop();
  t.is(await codeOf(up.waitFor([id])), 'E_UNAVAILABLE');
});
