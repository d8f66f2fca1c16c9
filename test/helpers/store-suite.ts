// The conformance suite every Store backend passes (fs, http, s3, wrappers), in the
// manner of restic's internal/backend/test/suite.go. Usage, in a test file:
//
//   import test from 'ava';
//   import { storeConformance } from '../helpers/store-suite.js';
//   storeConformance(test, 'fs', async () => {
//     const dir = await mkdtemp(join(tmpdir(), 'megafs-'));
//     const store = await FsStore.open(dir);
//     return { store, restart: async () => { await store.close(); return FsStore.open(dir); },
//              cleanup: () => rm(dir, { recursive: true, force: true }) };
//   });
//
// `open` is called once per test and must return an EMPTY store (a fresh dir, account or
// prefix). `restart` (optional) stops and restarts the backend and returns the store to use
// from then on (it may be the same object); without it the restart tests only check the
// data on the same store. `cleanup` is always called, also when the test fails.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext, TestFn } from 'ava';
import type { ObjectId, ObjectInfo, Store } from '../../src/store/store.js';
import { codeOf } from './code-of.js';

export interface StoreFixture {
  store: Store;
  restart?: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

export type OpenStore = () => Promise<StoreFixture>;

export interface TestObject {
  id: ObjectId;
  body: Uint8Array;
}

/** SHA-256 hex of `body`: the id a store expects for it. */
export function objectId(body: Uint8Array): ObjectId {
  return createHash('sha256').update(body).digest('hex');
}

/** A random object of `size` bytes with its id. */
export function randomObject(size: number): TestObject {
  const body = new Uint8Array(randomBytes(size));
  return { id: objectId(body), body };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** Every listed id, sorted (a store may list in any order). */
async function listAll(store: Store): Promise<ObjectId[]> {
  const ids: ObjectId[] = [];
  for await (const id of store.list()) ids.push(id);
  return ids.sort();
}

const sortedIds = (objs: TestObject[]): ObjectId[] => objs.map((o) => o.id).sort();

/** Every scanned object, sorted by id. */
async function scanAll(store: Store): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const o of store.scan()) all.push(o);
  return all.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** How far a store's mtime may sit outside the window of the put that set it: file
 *  systems stamp from a coarse clock (up to a tick behind the time of day), S3 servers
 *  may keep whole seconds. Same machine, same clock, in these tests. */
const MTIME_SLACK_MS = 2000;

/** Longer than a second: a store that keeps whole seconds shows a later put as later. */
const PAST_A_SECOND_MS = 1100;

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

function inWindow(t: ExecutionContext, o: ObjectInfo, fromMs: number, toMs: number): void {
  t.true(o.mtimeMs >= fromMs - MTIME_SLACK_MS && o.mtimeMs <= toMs + MTIME_SLACK_MS,
    `${o.id.slice(0, 12)}: mtime ${o.mtimeMs} outside the put window ${fromMs}..${toMs}`);
}

type Body = (t: ExecutionContext, fx: StoreFixture) => Promise<void>;

/** Register every conformance test for one backend under `name`. */
export function storeConformance(test: TestFn, name: string, open: OpenStore): void {
  const def = (title: string, body: Body): void => {
    test(`${name} conformance: ${title}`, async (t) => {
      const fx = await open();
      try {
        await body(t, fx);
      } finally {
        await fx.store.close().catch(() => undefined);
        await fx.cleanup();
      }
    });
  };

  def('put, get, has, idempotent put', async (t, { store }) => {
    const a = randomObject(1000);
    t.false(await store.has(a.id));
    await store.put(a.id, a.body);
    await store.put(a.id, a.body); // idempotent
    t.true(await store.has(a.id));
    t.true(same(await store.get(a.id), a.body));
    const empty = randomObject(0);
    await store.put(empty.id, empty.body);
    t.is((await store.get(empty.id)).length, 0);
    // Bigger than a chunk's object (the server's GET reads into a ~1 MiB buffer first).
    const big = randomObject(3 * 1024 * 1024 + 5);
    await store.put(big.id, big.body);
    t.true(same(await store.get(big.id), big.body));
  });

  def('range get', async (t, { store }) => {
    const a = randomObject(70_000);
    await store.put(a.id, a.body);
    t.true(same(await store.get(a.id, { offset: 0, length: 10 }), a.body.subarray(0, 10)));
    t.true(same(await store.get(a.id, { offset: 65_537, length: 1000 }), a.body.subarray(65_537, 66_537)));
    // A range running past the end is cut short at the end of the object.
    t.true(same(await store.get(a.id, { offset: 69_990, length: 100 }), a.body.subarray(69_990)));
  });

  def('missing object: E_NOT_FOUND, delete succeeds', async (t, { store }) => {
    const a = randomObject(10);
    t.is(await codeOf(store.get(a.id)), 'E_NOT_FOUND');
    t.is(await codeOf(store.get(a.id, { offset: 0, length: 5 })), 'E_NOT_FOUND');
    t.false(await store.has(a.id));
    await store.delete(a.id);
  });

  def('delete and list', async (t, { store }) => {
    const objs = Array.from({ length: 25 }, (_, i) => randomObject(100 + i));
    for (const o of objs) await store.put(o.id, o.body);
    t.deepEqual(await listAll(store), sortedIds(objs));
    for (const o of objs.slice(0, 10)) await store.delete(o.id);
    t.deepEqual(await listAll(store), sortedIds(objs.slice(10)));
    t.is(await codeOf(store.get(objs[0].id)), 'E_NOT_FOUND');
    t.false(await store.has(objs[0].id));
    t.true(same(await store.get(objs[20].id), objs[20].body));
  });

  def('body that does not match its id is refused, nothing stored', async (t, { store }) => {
    const a = randomObject(500);
    const b = randomObject(500);
    t.is(await codeOf(store.put(a.id, b.body)), 'E_HASH_MISMATCH');
    t.false(await store.has(a.id));
    t.is(await codeOf(store.get(a.id)), 'E_NOT_FOUND');
    t.deepEqual(await listAll(store), []);
  });

  def('malformed ids are refused with E_BAD_ID', async (t, { store }) => {
    const body = new Uint8Array([1, 2, 3]);
    for (const bad of ['../../etc/passwd', 'A'.repeat(64), 'ab', `${objectId(body)}/x`, '']) {
      t.is(await codeOf(store.put(bad, body)), 'E_BAD_ID', bad);
      t.is(await codeOf(store.get(bad)), 'E_BAD_ID', bad);
    }
  });

  def('concurrent writers', async (t, { store }) => {
    const objs = Array.from({ length: 32 }, () => randomObject(20_000));
    const shared = randomObject(50_000);
    await Promise.all([
      ...objs.map((o) => store.put(o.id, o.body)),
      ...Array.from({ length: 8 }, () => store.put(shared.id, shared.body)),
    ]);
    const got = await Promise.all([...objs, shared].map((o) => store.get(o.id)));
    got.forEach((g, i) => t.true(same(g, [...objs, shared][i].body)));
    t.is((await listAll(store)).length, 33);
  });

  def('root: absent, create, compare-and-swap', async (t, { store }) => {
    t.is(await store.getRoot(), null);
    const r1 = await store.casRoot(null, new Uint8Array([1]));
    if (!r1.ok) return t.fail('first casRoot(null) lost');
    const lost = await store.casRoot(null, new Uint8Array([2]));
    t.false(lost.ok);
    if (!lost.ok) t.deepEqual(lost.current?.bytes && [...lost.current.bytes], [1]);
    const cur = await store.getRoot();
    t.deepEqual(cur && [...cur.bytes], [1]);
    t.is(cur?.etag, r1.etag);
    const r2 = await store.casRoot(r1.etag, new Uint8Array([3, 3]));
    if (!r2.ok) return t.fail('casRoot with the current etag lost');
    t.not(r2.etag, r1.etag);
    const stale = await store.casRoot(r1.etag, new Uint8Array([4]));
    t.false(stale.ok);
    if (!stale.ok) t.deepEqual(stale.current && [...stale.current.bytes], [3, 3]);
    // Writing the same bytes again still changes the version.
    const r3 = await store.casRoot(r2.etag, new Uint8Array([3, 3]));
    if (!r3.ok) return t.fail('casRoot of equal bytes lost');
    t.false((await store.casRoot(r2.etag, new Uint8Array([5]))).ok);
  });

  def('compare-and-swap race: exactly one of N writers wins', async (t, { store }) => {
    const n = 8;
    const first = await Promise.all(
      Array.from({ length: n }, (_, i) => store.casRoot(null, new Uint8Array([i]))),
    );
    const winners = first.flatMap((r, i) => (r.ok ? [i] : []));
    t.is(winners.length, 1);
    const root = await store.getRoot();
    t.deepEqual(root && [...root.bytes], [winners[0]]);
    const second = await Promise.all(
      Array.from({ length: n }, (_, i) => store.casRoot(root!.etag, new Uint8Array([100 + i]))),
    );
    const winners2 = second.flatMap((r, i) => (r.ok ? [i] : []));
    t.is(winners2.length, 1);
    const root2 = await store.getRoot();
    t.deepEqual(root2 && [...root2.bytes], [100 + winners2[0]]);
  });

  def('header get and put', async (t, { store }) => {
    t.is(await store.getHeader(), null);
    const h1 = new TextEncoder().encode('{"v":1,"x":"first"}');
    await store.putHeader(h1);
    t.true(same((await store.getHeader())!, h1));
    const h2 = new TextEncoder().encode('{"v":1,"x":"second, longer"}');
    await store.putHeader(h2);
    t.true(same((await store.getHeader())!, h2));
  });

  def('usage counts objects and bytes', async (t, { store }) => {
    const u0 = await store.usage();
    t.is(u0.objectCount, 0);
    t.is(u0.usedBytes, 0);
    const objs = [randomObject(1000), randomObject(2345), randomObject(1)];
    for (const o of objs) await store.put(o.id, o.body);
    await store.put(objs[0].id, objs[0].body); // a repeated put is not counted twice
    let u = await store.usage();
    t.is(u.objectCount, 3);
    t.is(u.usedBytes, 3346);
    t.true(u.quotaBytes === null || u.quotaBytes > 0);
    await store.delete(objs[1].id);
    await store.delete(objs[1].id);
    u = await store.usage();
    t.is(u.objectCount, 2);
    t.is(u.usedBytes, 1001);
  });

  def('scan: every object once, its exact size, the time of its put; deleted ones vanish', async (t, { store }) => {
    t.deepEqual(await scanAll(store), []);
    // More than a page of the http fixtures (10), and the sizes a store could get wrong.
    const objs = [randomObject(0), randomObject(1), randomObject(70_000), ...Array.from({ length: 22 }, (_, i) => randomObject(100 + i))];
    const fromMs = Date.now();
    for (const o of objs) await store.put(o.id, o.body);
    const toMs = Date.now();
    const scanned = await scanAll(store);
    const bySize = new Map(objs.map((o) => [o.id, o.body.length]));
    t.deepEqual(scanned.map((o) => o.id), sortedIds(objs));
    t.deepEqual(scanned.map((o) => o.id), await listAll(store));
    for (const o of scanned) {
      t.is(o.size, bySize.get(o.id) ?? -1, `${o.id.slice(0, 12)}: size`);
      t.true(Number.isInteger(o.mtimeMs), 'whole milliseconds');
      inWindow(t, o, fromMs, toMs);
    }
    for (const o of objs.slice(0, 5)) await store.delete(o.id);
    t.deepEqual((await scanAll(store)).map((o) => o.id), sortedIds(objs.slice(5)));
  });

  def('scan: a repeated put refreshes the mtime', async (t, { store }) => {
    const a = randomObject(500);
    const b = randomObject(600);
    await store.put(a.id, a.body);
    await store.put(b.id, b.body);
    const first = await scanAll(store);
    await sleep(PAST_A_SECOND_MS);
    const fromMs = Date.now();
    await store.put(a.id, a.body);
    const toMs = Date.now();
    const [again, untouched] = [(await scanAll(store)).find((o) => o.id === a.id)!, (await scanAll(store)).find((o) => o.id === b.id)!];
    const before = first.find((o) => o.id === a.id)!;
    t.true(again.mtimeMs > before.mtimeMs, `mtime ${before.mtimeMs} -> ${again.mtimeMs}`);
    inWindow(t, again, fromMs, toMs);
    t.is(again.size, 500);
    t.is(untouched.mtimeMs, first.find((o) => o.id === b.id)!.mtimeMs, 'another object keeps its time');
    t.is((await scanAll(store)).length, 2);
  });

  def('putFile (stores that have it): the mtime is the put\'s, not the file\'s, and a repeat refreshes it', async (t, { store }) => {
    if (!store.putFile) {
      t.pass('no putFile');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'megafs-putfile-'));
    try {
      const longAgo = new Date('2001-02-03T04:05:06Z');
      for (const deferSync of [false, true]) {
        const o = randomObject(4000);
        const path = join(dir, o.id);
        await writeFile(path, o.body);
        await utimes(path, longAgo, longAgo); // a cache file written long before its upload
        const fromMs = Date.now();
        await store.putFile(o.id, path, { deferSync });
        const toMs = Date.now();
        await store.syncDeferred?.();
        const put = (await scanAll(store)).find((x) => x.id === o.id)!;
        t.is(put.size, 4000);
        inWindow(t, put, fromMs, toMs);
        // Put again (by put and by putFile) after its time was set back: refreshed both ways.
        for (const again of [() => store.put(o.id, o.body), () => store.putFile!(o.id, path, { deferSync })]) {
          await utimes(path, longAgo, longAgo); // the same file when it was hard-linked in
          const from2 = Date.now();
          await again();
          const to2 = Date.now();
          const refreshed = (await scanAll(store)).find((x) => x.id === o.id)!;
          inWindow(t, refreshed, from2, to2);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  def('racing puts and deletes of one object keep usage exact', async (t, { store }) => {
    const a = randomObject(3000);
    const b = randomObject(1000);
    await store.put(b.id, b.body);
    t.is((await store.usage()).objectCount, 1); // counted from here on (a store may count once, then keep totals)
    for (let round = 0; round < 6; round++) {
      const ops = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store.put(a.id, a.body) : store.delete(a.id)));
      await Promise.all(ops);
      const held = await store.has(a.id);
      const u = await store.usage();
      t.deepEqual([u.objectCount, u.usedBytes], held ? [2, 4000] : [1, 1000], `round ${round}, held ${held}`);
      t.deepEqual((await scanAll(store)).map((o) => o.id), held ? [a.id, b.id].sort() : [b.id]);
    }
    await store.put(a.id, a.body);
    t.true(same(await store.get(a.id), a.body));
    const u = await store.usage();
    t.deepEqual([u.objectCount, u.usedBytes], [2, 4000]);
  });

  def('restart: nothing acknowledged is lost', async (t, fx) => {
    let store = fx.store;
    const objs = Array.from({ length: 10 }, () => randomObject(30_000));
    for (const o of objs) await store.put(o.id, o.body);
    const header = new TextEncoder().encode('{"v":1}');
    await store.putHeader(header);
    const r = await store.casRoot(null, new Uint8Array([7, 7]));
    if (!r.ok) return t.fail('casRoot lost');
    const scanned = await scanAll(store);
    if (fx.restart) store = fx.store = await fx.restart();
    for (const o of objs) t.true(same(await store.get(o.id), o.body));
    t.deepEqual(await scanAll(store), scanned, 'sizes and times survive the restart');
    t.true(same((await store.getHeader())!, header));
    const root = await store.getRoot();
    t.deepEqual(root && [...root.bytes], [7, 7]);
    t.is(root?.etag, r.etag);
    t.false((await store.casRoot(null, new Uint8Array([8]))).ok);
    t.true((await store.casRoot(r.etag, new Uint8Array([9]))).ok);
  });

  def('restart during writes: acknowledged kept, nothing half-written visible', async (t, fx) => {
    let store = fx.store;
    const objs = Array.from({ length: 24 }, () => randomObject(200_000));
    const acked = new Set<ObjectId>();
    const writes = objs.map((o) =>
      store.put(o.id, o.body).then(
        () => acked.add(o.id),
        (e: { code?: string }) => {
          // An interrupted write may fail only as "unavailable", never silently.
          t.true(e.code === 'E_UNAVAILABLE', `unexpected put error ${e.code}`);
        },
      ),
    );
    await new Promise((res) => setTimeout(res, 5));
    if (fx.restart) store = fx.store = await fx.restart();
    await Promise.all(writes);
    const byId = new Map(objs.map((o) => [o.id, o.body]));
    for (const id of acked) t.true(same(await store.get(id), byId.get(id)!), `acked ${id}`);
    // Whatever is visible is whole: its bytes hash to its id.
    for (const id of await listAll(store)) {
      t.true(byId.has(id), 'an unknown id appeared');
      t.is(objectId(await store.get(id)), id);
    }
  });
}
