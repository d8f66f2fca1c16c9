// `megafs serve` as a real child process, as a garbage collector uses it: a delete frees
// the account's usage and quota (a full account can put again), a repeated delete frees
// nothing, the start-up recount agrees with the counters, and `GET /v1/objects?detail=1`
// answers as docs/protocol.md says.
import test from 'ava';
import { bearer } from '../../src/store/http-client.js';
import type { ObjectInfo } from '../../src/store/store.js';
import { codeOf } from '../helpers/code-of.js';
import { raw } from '../helpers/raw-http.js';
import { newUser, startServeProcess, storeFor } from '../helpers/server.js';
import { randomObject } from '../helpers/store-suite.js';

const QUOTA_BYTES = 1 << 20; // --quota 1M
const OBJECT_BYTES = 300_000; // three fit, a fourth does not

test('serve: a full account can put again once an object is deleted; usage drops by its size', async (t) => {
  const server = await startServeProcess(['--quota', '1M']);
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const store = storeFor(server.url, u);
  t.teardown(() => store.close());
  const objs = Array.from({ length: 4 }, () => randomObject(OBJECT_BYTES));
  for (const o of objs.slice(0, 3)) await store.put(o.id, o.body);
  t.is(await codeOf(store.put(objs[3].id, objs[3].body)), 'E_QUOTA');
  t.deepEqual(await store.usage(), { usedBytes: 3 * OBJECT_BYTES, objectCount: 3, quotaBytes: QUOTA_BYTES });

  await store.delete(objs[1].id);
  t.deepEqual(await store.usage(), { usedBytes: 2 * OBJECT_BYTES, objectCount: 2, quotaBytes: QUOTA_BYTES });
  await store.delete(objs[1].id); // absent now: succeeds, frees nothing
  t.deepEqual(await store.usage(), { usedBytes: 2 * OBJECT_BYTES, objectCount: 2, quotaBytes: QUOTA_BYTES });

  await store.put(objs[3].id, objs[3].body);
  t.deepEqual(await store.usage(), { usedBytes: 3 * OBJECT_BYTES, objectCount: 3, quotaBytes: QUOTA_BYTES });
  t.is(await codeOf(store.put(objs[1].id, objs[1].body)), 'E_QUOTA', 'full again');
  const held = [objs[0], objs[2], objs[3]];
  const scanned: ObjectInfo[] = [];
  for await (const o of store.scan()) scanned.push(o);
  t.deepEqual(scanned.map((o) => [o.id, o.size]).sort(), held.map((o) => [o.id, OBJECT_BYTES]).sort());

  // The counters were exact: the recount from the objects on disk changes nothing.
  await server.restart();
  t.regex(server.stderr(), /usage corrected for 0 accounts/);
  t.deepEqual(await store.usage(), { usedBytes: 3 * OBJECT_BYTES, objectCount: 3, quotaBytes: QUOTA_BYTES });
});

test('serve: deletes racing puts of the same ids on a full account leave usage exact', async (t) => {
  const server = await startServeProcess(['--quota', '1M']);
  t.teardown(() => server.close());
  const store = storeFor(server.url, await newUser(server.url));
  t.teardown(() => store.close());
  const objs = Array.from({ length: 3 }, () => randomObject(OBJECT_BYTES));
  for (const o of objs) await store.put(o.id, o.body);
  for (let round = 0; round < 4; round++) {
    // The three never need more than the quota, so a put refused would be usage counted twice.
    const codes = await Promise.all(objs.flatMap((o) => [
      codeOf(store.put(o.id, o.body)), codeOf(store.delete(o.id)), codeOf(store.put(o.id, o.body)), codeOf(store.delete(o.id)),
    ]));
    t.true(codes.every((c) => c === 'no error'), codes.join(' '));
    const held = (await Promise.all(objs.map((o) => store.has(o.id)))).filter(Boolean).length;
    const u = await store.usage();
    t.deepEqual([u.usedBytes, u.objectCount], [held * OBJECT_BYTES, held], `round ${round}`);
  }
  await server.restart();
  t.regex(server.stderr(), /usage corrected for 0 accounts/);
});

test('serve: GET /v1/objects?detail=1 pages objects with size and mtime', async (t) => {
  const server = await startServeProcess();
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const store = storeFor(server.url, u);
  t.teardown(() => store.close());
  const objs = [randomObject(10), randomObject(20), randomObject(30)];
  const fromMs = Date.now();
  for (const o of objs) await store.put(o.id, o.body);
  const toMs = Date.now();
  const auth = { authorization: bearer(u.user, u.authSecret) };
  const get = async (query: string) => raw(server.url, { method: 'GET', path: `/v1/objects?${query}`, headers: auth });

  const first = await get('detail=1&limit=2');
  t.is(first.status, 200);
  const page1 = JSON.parse(first.body.toString()) as { objects: ObjectInfo[]; next: string | null };
  const sorted = [...objs].sort((a, b) => (a.id < b.id ? -1 : 1));
  t.deepEqual(page1.objects.map((o) => [o.id, o.size]), sorted.slice(0, 2).map((o) => [o.id, o.body.length]));
  t.is(page1.next, sorted[1].id);
  for (const o of page1.objects) t.true(o.mtimeMs >= fromMs - 2000 && o.mtimeMs <= toMs + 2000, `mtime ${o.mtimeMs}`);
  const page2 = JSON.parse((await get(`detail=1&limit=2&after=${page1.next}`)).body.toString()) as { objects: ObjectInfo[]; next: string | null };
  t.deepEqual(page2.objects.map((o) => o.id), [sorted[2].id]);
  t.is(page2.next, null);

  // Without detail the page is ids, as before; a bad detail is refused.
  t.deepEqual(JSON.parse((await get('limit=2')).body.toString()), { ids: sorted.slice(0, 2).map((o) => o.id), next: sorted[1].id });
  const bad = await get('detail=yes');
  t.is(bad.status, 400);
  t.is(bad.code, 'E_USAGE');
});
