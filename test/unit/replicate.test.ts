// ReplicatedStore over two local stores (standing for two countries): the conformance
// suite, write quorum, a store that is down, a store serving corrupted bytes, a stale
// root on one store, and repair().
import test from 'ava';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '../../src/errors.js';
import { FsStore } from '../../src/store/fs.js';
import { ReplicatedStore } from '../../src/store/replicate.js';
import { RetryStore } from '../../src/store/retry.js';
import { LimitStore } from '../../src/store/limit.js';
import type { ByteRange, ObjectId, ObjectInfo, Store } from '../../src/store/store.js';
import { randomObject, storeConformance } from '../helpers/store-suite.js';
import { codeOf } from '../helpers/code-of.js';

/** Test roots: version = first byte; empty = invalid. */
const rootVersion = (b: Uint8Array): bigint | null => (b.length ? BigInt(b[0]) : null);

/** A store that can be switched off: every call then fails with E_UNAVAILABLE. */
class Switchable implements Store {
  down = false;
  constructor(readonly inner: Store) {}
  get name(): string { return this.inner.name; }
  private async on<T>(f: () => Promise<T>): Promise<T> {
    if (this.down) throw new StoreError('E_UNAVAILABLE', `${this.name} is down`);
    return f();
  }
  put(id: ObjectId, b: Uint8Array) { return this.on(() => this.inner.put(id, b)); }
  get(id: ObjectId, r?: ByteRange) { return this.on(() => this.inner.get(id, r)); }
  has(id: ObjectId) { return this.on(() => this.inner.has(id)); }
  delete(id: ObjectId) { return this.on(() => this.inner.delete(id)); }
  async *list() {
    if (this.down) throw new StoreError('E_UNAVAILABLE', 'down');
    yield* this.inner.list();
  }
  async *scan() {
    if (this.down) throw new StoreError('E_UNAVAILABLE', 'down');
    yield* this.inner.scan();
  }
  getRoot() { return this.on(() => this.inner.getRoot()); }
  casRoot(e: string | null, b: Uint8Array) { return this.on(() => this.inner.casRoot(e, b)); }
  getHeader() { return this.on(() => this.inner.getHeader()); }
  putHeader(b: Uint8Array) { return this.on(() => this.inner.putHeader(b)); }
  usage() { return this.on(() => this.inner.usage()); }
  close() { return this.inner.close(); }
}

async function pair(writeQuorum?: number) {
  const dirs = [await mkdtemp(join(tmpdir(), 'megafs-repA-')), await mkdtemp(join(tmpdir(), 'megafs-repB-'))];
  const fs = await Promise.all(dirs.map((d) => FsStore.open(d)));
  const sw = fs.map((s) => new Switchable(s));
  const errors: string[] = [];
  const rep = new ReplicatedStore(sw, { rootVersion, writeQuorum, onBackgroundError: (w) => errors.push(w) });
  return { dirs, fs, sw, rep, errors, cleanup: () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))) };
}

storeConformance(test, 'replicated(fs, fs)', async () => {
  const dirs = [await mkdtemp(join(tmpdir(), 'megafs-repA-')), await mkdtemp(join(tmpdir(), 'megafs-repB-'))];
  const open = async () => new ReplicatedStore(await Promise.all(dirs.map((d) => FsStore.open(d))), { rootVersion });
  const store = await open();
  return {
    store,
    restart: async () => { await store.close(); return open(); },
    cleanup: async () => { await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))); },
  };
});

storeConformance(test, 'retry(limit(fs))', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-wrap-'));
  const store = new RetryStore(new LimitStore(await FsStore.open(dir), 4));
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

test('quorum 1: a put succeeds with one store down, repair() catches the other up', async (t) => {
  const { sw, fs, rep, cleanup } = await pair(1);
  sw[1].down = true;
  const a = randomObject(5000);
  await rep.put(a.id, a.body);
  await rep.idle();
  t.true(await fs[0].has(a.id));
  t.false(await fs[1].has(a.id));
  const health = await rep.health();
  t.deepEqual(health.map((h) => [h.ok, h.pendingRepairs]), [[true, 0], [false, 1]]);
  // Reads still work from the store that is up.
  t.deepEqual(Buffer.from(await rep.get(a.id)), Buffer.from(a.body));
  sw[1].down = false;
  const report = await rep.repair();
  t.is(report.copied, 1);
  t.true(await fs[1].has(a.id));
  t.deepEqual((await rep.health()).map((h) => h.pendingRepairs), [0, 0]);
  await rep.close();
  await cleanup();
});

test('quorum all (default): a put with a store down fails as E_UNAVAILABLE; all down too', async (t) => {
  const { sw, rep, cleanup } = await pair();
  t.is(rep.writeQuorum, 2);
  sw[0].down = true;
  const a = randomObject(100);
  t.is(await codeOf(rep.put(a.id, a.body)), 'E_UNAVAILABLE');
  sw[1].down = true;
  t.is(await codeOf(rep.put(a.id, a.body)), 'E_UNAVAILABLE');
  t.is(await codeOf(rep.get(a.id)), 'E_UNAVAILABLE');
  t.is(await codeOf(rep.getRoot()), 'E_UNAVAILABLE');
  await rep.idle();
  await cleanup();
});

test('a store serving corrupted bytes: the read falls over and the copy is repaired', async (t) => {
  const { dirs, fs, rep, cleanup } = await pair();
  const a = randomObject(3000);
  await rep.put(a.id, a.body);
  // Corrupt store A's copy on disk (layout of src/store/fs-objects.ts).
  const path = join(dirs[0], 'objects', a.id.slice(0, 2), a.id.slice(2, 4), a.id);
  const bad = Buffer.from(a.body);
  bad[10] ^= 0xff;
  await writeFile(path, bad);
  t.notDeepEqual(Buffer.from(await fs[0].get(a.id)), Buffer.from(a.body));
  t.deepEqual(Buffer.from(await rep.get(a.id)), Buffer.from(a.body));
  t.deepEqual(Buffer.from(await rep.get(a.id, { offset: 5, length: 10 })), Buffer.from(a.body.subarray(5, 15)));
  await rep.idle();
  t.deepEqual(Buffer.from(await fs[0].get(a.id)), Buffer.from(a.body));
  await rep.close();
  await cleanup();
});

test('corrupted everywhere: E_INTEGRITY, never the bytes', async (t) => {
  const { dirs, rep, cleanup } = await pair();
  const a = randomObject(300);
  await rep.put(a.id, a.body);
  for (const d of dirs) await writeFile(join(d, 'objects', a.id.slice(0, 2), a.id.slice(2, 4), a.id), Buffer.from('nope'));
  t.is(await codeOf(rep.get(a.id)), 'E_INTEGRITY');
  await rep.close();
  await cleanup();
});

test('repair({verify}) replaces a corrupted copy nobody read', async (t) => {
  const { dirs, fs, rep, cleanup } = await pair();
  const a = randomObject(1000);
  await rep.put(a.id, a.body);
  await writeFile(join(dirs[1], 'objects', a.id.slice(0, 2), a.id.slice(2, 4), a.id), Buffer.from('bad'));
  const report = await rep.repair({ verify: true });
  t.is(report.copied, 1);
  t.deepEqual(Buffer.from(await fs[1].get(a.id)), Buffer.from(a.body));
  await rep.close();
  await cleanup();
});

test('a stale root on one store: the highest wins and the stale store is repaired', async (t) => {
  const { sw, fs, rep, cleanup } = await pair(1);
  const r1 = await rep.casRoot(null, new Uint8Array([1, 0xaa]));
  if (!r1.ok) return t.fail();
  sw[0].down = true; // store A misses version 2
  const r2 = await rep.casRoot(r1.etag, new Uint8Array([2, 0xbb]));
  if (!r2.ok) return t.fail('quorum 1 root write with a store down');
  sw[0].down = false;
  t.deepEqual([...(await fs[0].getRoot())!.bytes], [1, 0xaa]);
  const root = await rep.getRoot();
  t.deepEqual([...root!.bytes], [2, 0xbb]);
  await rep.idle();
  t.deepEqual([...(await fs[0].getRoot())!.bytes], [2, 0xbb]);
  // The etag from before the repair still works for the next swap.
  const r3 = await rep.casRoot(root!.etag, new Uint8Array([3]));
  t.true(r3.ok);
  t.deepEqual([...(await fs[0].getRoot())!.bytes], [3]);
  t.deepEqual([...(await fs[1].getRoot())!.bytes], [3]);
  await rep.close();
  await cleanup();
});

test('an invalid root is ignored for a valid one and repaired', async (t) => {
  const { fs, rep, cleanup } = await pair();
  await fs[0].casRoot(null, new Uint8Array(0)); // invalid (rootVersion null)
  await fs[1].casRoot(null, new Uint8Array([4]));
  t.deepEqual([...(await rep.getRoot())!.bytes], [4]);
  await rep.idle();
  t.deepEqual([...(await fs[0].getRoot())!.bytes], [4]);
  await rep.close();
  await cleanup();
});

test('bad write quorum is refused', (t) => {
  const s = [] as Store[];
  t.throws(() => new ReplicatedStore(s, { rootVersion }), { code: 'E_USAGE' } as never);
});

test('RetryStore rides out a short outage, never retries other errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-retry-'));
  const sw = new Switchable(await FsStore.open(dir));
  const store = new RetryStore(sw, { baseDelayMs: 20, retries: 6 });
  const a = randomObject(100);
  sw.down = true;
  setTimeout(() => { sw.down = false; }, 60);
  await store.put(a.id, a.body);
  t.true(await sw.inner.has(a.id));
  t.is(await codeOf(store.get(randomObject(1).id)), 'E_NOT_FOUND');
  sw.down = true;
  t.is(await codeOf(new RetryStore(sw, { baseDelayMs: 1, retries: 2 }).get(a.id)), 'E_UNAVAILABLE');
  await rm(dir, { recursive: true, force: true });
});

test('LimitStore keeps at most N object requests in flight', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-limit-'));
  const fs = await FsStore.open(dir);
  let now = 0;
  let peak = 0;
  const counting = new Switchable(fs);
  const origPut = counting.put.bind(counting);
  counting.put = async (id, b) => {
    peak = Math.max(peak, ++now);
    try {
      await new Promise((r) => setTimeout(r, 5));
      return await origPut(id, b);
    } finally {
      now--;
    }
  };
  const store = new LimitStore(counting, 3);
  const objs = Array.from({ length: 20 }, () => randomObject(100));
  await Promise.all(objs.map((o) => store.put(o.id, o.body)));
  t.is(peak, 3);
  t.is(store.pending, 0);
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('scan: the union of the stores, each object once with the latest put anywhere; members() for a sweep per store', async (t) => {
  const { dirs, sw, rep, cleanup } = await pair(1);
  t.teardown(cleanup);
  const both = randomObject(3000);
  const onlyA = randomObject(2000);
  await rep.put(both.id, both.body);
  await rep.idle();
  sw[1].down = true;
  await rep.put(onlyA.id, onlyA.body);
  await rep.idle();
  sw[1].down = false;
  // The copy on A was put long ago; B's is the latest put.
  const longAgo = new Date('2001-02-03T04:05:06Z');
  await utimes(join(dirs[0], 'objects', both.id.slice(0, 2), both.id.slice(2, 4), both.id), longAgo, longAgo);
  const scan = async (s: Store): Promise<Map<ObjectId, ObjectInfo>> => {
    const m = new Map<ObjectId, ObjectInfo>();
    for await (const o of s.scan()) {
      t.false(m.has(o.id), 'listed twice');
      m.set(o.id, o);
    }
    return m;
  };
  const all = await scan(rep);
  t.deepEqual([...all.keys()].sort(), [both.id, onlyA.id].sort());
  t.is(all.get(both.id)!.size, 3000);
  t.is(all.get(both.id)!.mtimeMs, (await scan(sw[1])).get(both.id)!.mtimeMs);
  t.true(all.get(both.id)!.mtimeMs > longAgo.getTime());
  // Per store, each its own copies and times.
  t.deepEqual(rep.members(), sw);
  t.is((await scan(rep.members()[0])).get(both.id)!.mtimeMs, longAgo.getTime());
  t.false((await scan(rep.members()[1])).has(onlyA.id));
  // A store that is down is left out; all down is an error.
  sw[0].down = true;
  t.deepEqual([...(await scan(rep)).keys()], [both.id]);
  sw[1].down = true;
  t.is(await codeOf(scan(rep)), 'E_UNAVAILABLE');
});
