// `megafs serve` under hostile or careless clients: other accounts, path-traversal ids,
// oversize bodies, wrong credentials, brute force, quotas; and what the data directory
// holds (exactly the bytes sent, never the auth secret).
import test from 'ava';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { addressKey, LoginThrottle, Throttle } from '../../src/server/auth.js';
import { bearer } from '../../src/store/http-client.js';
import { fetchKdfParams, login, signup } from '../../src/store/http-account.js';
import { HttpStore } from '../../src/store/http.js';
import { newUser, startTestServer, storeFor } from '../helpers/server.js';
import { raw } from '../helpers/raw-http.js';
import { randomObject } from '../helpers/store-suite.js';
import { codeOf } from '../helpers/code-of.js';

async function listIds(store: HttpStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of store.list()) ids.push(id);
  return ids;
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

test('server: no request reaches another account', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const a = storeFor(server.url, await newUser(server.url));
  const b = storeFor(server.url, await newUser(server.url));
  const o = randomObject(1000);
  await a.put(o.id, o.body);
  await a.putHeader(new TextEncoder().encode('{"v":1}'));
  await a.casRoot(null, new Uint8Array([1]));
  t.is(await codeOf(b.get(o.id)), 'E_NOT_FOUND');
  t.false(await b.has(o.id));
  await b.delete(o.id);
  t.true(await a.has(o.id));
  t.deepEqual(await listIds(b), []);
  t.is(await b.getRoot(), null);
  t.is(await b.getHeader(), null);
  t.is((await b.usage()).objectCount, 0);
});

test('server: ids that try to leave the data directory are refused', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const auth = { authorization: bearer(u.user, u.authSecret) };
  await writeFile(join(server.dataDir, 'secret.txt'), 'do not serve');
  const paths = [
    '/v1/objects/../../secret.txt', '/v1/objects/..%2F..%2Fsecret.txt', '/v1/objects/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/v1/objects/..', '/v1/objects/' + 'a'.repeat(63) + '/', '/v1/objects/' + 'A'.repeat(64),
    '/v1/objects?after=../../x',
  ];
  for (const path of paths) {
    const res = await raw(server.url, { method: 'GET', path, headers: auth });
    t.true(res.status === 400 || res.status === 404, `${path} -> ${res.status}`);
    t.false(res.body.toString().includes('do not serve'));
  }
  const store = storeFor(server.url, u);
  t.is(await codeOf(store.get('../../secret.txt')), 'E_BAD_ID');
  t.is(await codeOf(store.put('../x', new Uint8Array(1))), 'E_BAD_ID');
});

test('server: bodies over the limit get 413 before they are read', async (t) => {
  const server = await startTestServer({ maxObjectBytes: 1 << 20 });
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const auth = { authorization: bearer(u.user, u.authSecret) };
  const id = 'ab'.repeat(32);
  // A declared 1 GiB: answered at once, though we send only 64 KiB of it.
  const declared = await raw(server.url, {
    method: 'PUT', path: `/v1/objects/${id}`,
    headers: { ...auth, 'content-length': String(1 << 30) },
    stream: { chunkBytes: 16384, totalBytes: 65536 },
  });
  t.is(declared.status, 413);
  t.is(declared.code, 'E_TOO_LARGE');
  // Chunked without a length: cut off just past the limit, not read to its (endless) end.
  const chunked = await raw(server.url, {
    method: 'PUT', path: `/v1/objects/${id}`,
    headers: { ...auth, 'transfer-encoding': 'chunked' },
    stream: { chunkBytes: 65536, totalBytes: 1 << 30 },
  });
  t.is(chunked.status, 413);
  t.is(chunked.code, 'E_TOO_LARGE');
  const store = storeFor(server.url, u);
  t.is((await store.usage()).objectCount, 0);
  const big = randomObject((1 << 20) + 1);
  t.is(await codeOf(store.put(big.id, big.body)), 'E_TOO_LARGE');
});

test('server: wrong or missing credentials get 401 and leak nothing', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const wrong = new Uint8Array(32).fill(7);
  const missing = await raw(server.url, { method: 'GET', path: '/v1/usage' });
  t.is(missing.status, 401);
  t.is(missing.code, 'E_AUTH');
  const badSecret = await raw(server.url, { method: 'GET', path: '/v1/usage', headers: { authorization: bearer(u.user, wrong) } });
  const noUser = await raw(server.url, { method: 'GET', path: '/v1/usage', headers: { authorization: bearer('nobody', wrong) } });
  t.is(badSecret.status, 401);
  t.is(noUser.status, 401);
  // The same answer whether or not the user exists.
  t.deepEqual(badSecret.body, noUser.body);
  t.false(badSecret.body.toString().includes(u.user));
  t.is(await codeOf(storeFor(server.url, { user: u.user, authSecret: wrong }).usage()), 'E_AUTH');
  t.is(await codeOf(login(server.url, u.user, wrong)), 'E_AUTH');
});

test('server: brute force on login is slowed per address', async (t) => {
  const server = await startTestServer({ loginThrottle: { freeFailures: 3, freeFailuresPerAddress: 3, baseDelayMs: 60_000 } });
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  // Failures spread over names still count against the address...
  for (const name of ['x1', 'x2', 'x3']) {
    const guess = storeFor(server.url, { user: name, authSecret: new Uint8Array(32) }, { retries: 0 });
    t.is(await codeOf(guess.usage()), 'E_AUTH');
  }
  // ...so now even a right secret from it must wait.
  const right = storeFor(server.url, u, { retries: 0 });
  t.is(await codeOf(right.usage()), 'E_RATE_LIMIT');
  const res = await raw(server.url, { method: 'GET', path: '/v1/usage', headers: { authorization: bearer(u.user, u.authSecret) } });
  t.is(res.status, 429);
  t.truthy(res.headers['retry-after']);
});

test('server: recently accepted credentials open only their own account, and wrong ones never', async (t) => {
  const server = await startTestServer({ loginThrottle: { freeFailures: 2, baseDelayMs: 60_000 } });
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const v = await newUser(server.url);
  const o = randomObject(100);
  await storeFor(server.url, u).put(o.id, o.body); // u's credentials are now cached
  t.false(await storeFor(server.url, v).has(o.id));
  const wrong = new Uint8Array(u.authSecret);
  wrong[0] ^= 1;
  t.is(await codeOf(storeFor(server.url, { user: u.user, authSecret: wrong }, { retries: 0 }).has(o.id)), 'E_AUTH');
  t.is(await codeOf(storeFor(server.url, { user: u.user, authSecret: wrong }, { retries: 0 }).has(o.id)), 'E_AUTH');
  // The throttle is asked before the cache: a user under attack waits, cached or not.
  t.is(await codeOf(storeFor(server.url, u, { retries: 0 }).has(o.id)), 'E_RATE_LIMIT');
});

test('server: behind a proxy (--trust-proxy) addresses come from X-Forwarded-For', async (t) => {
  const server = await startTestServer({ trustProxy: true, loginThrottle: { freeFailures: 1, freeFailuresPerAddress: 1, baseDelayMs: 60_000 } });
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const as = (ip: string, secret: Uint8Array, user = u.user) =>
    raw(server.url, { method: 'GET', path: '/v1/usage', headers: { authorization: bearer(user, secret), 'x-forwarded-for': `203.0.113.9, ${ip}` } });
  t.is((await as('10.0.0.1', new Uint8Array(32), 'other-name')).status, 401);
  t.is((await as('10.0.0.1', u.authSecret)).status, 429);
  t.is((await as('10.0.0.2', u.authSecret)).status, 200);
});

test('throttle: per-key delays start after the free failures, double, and are forgotten', (t) => {
  const th = new Throttle({ freeFailures: 2, baseDelayMs: 1000, maxDelayMs: 3000, forgetMs: 60_000 });
  const now = 1_000_000;
  th.fail(['a', 'ip:1'], now);
  th.fail(['a', 'ip:2'], now);
  t.is(th.waitMs(['a'], now), 1000);
  t.is(th.waitMs(['ip:1'], now), 0);
  th.fail(['a'], now);
  t.is(th.waitMs(['a'], now), 2000);
  th.fail(['a'], now);
  t.is(th.waitMs(['a'], now), 3000); // capped
  t.is(th.waitMs(['a'], now + 5000), 0);
  th.fail(['a'], now + 61_000 + 3000); // quiet for longer than forgetMs: counted from 1 again
  t.is(th.waitMs(['a'], now + 64_000), 0);
  th.succeed('a');
  th.fail(['a'], now);
  t.is(th.waitMs(['a'], now), 0);
});

test('login throttle: per (address, account) and per address, never per account alone', (t) => {
  const th = new LoginThrottle({ freeFailures: 2, freeFailuresPerAddress: 4, baseDelayMs: 1000 });
  const now = 1_000_000;
  for (let i = 0; i < 10; i++) th.fail('10.0.0.1', 'alice', now);
  t.true(th.waitMs('10.0.0.1', 'alice', now) > 0);
  t.true(th.waitMs('::ffff:10.0.0.1', 'bob', now) > 0); // the address is throttled, however written
  t.is(th.waitMs('10.0.0.2', 'alice', now), 0); // the owner elsewhere is not
  th.fail('2001:db8:1:2::1', 'carol', now);
  th.fail('2001:db8:1:2:ffff::9', 'carol', now); // the same /64
  t.true(th.waitMs('2001:db8:1:2::77', 'carol', now) > 0);
  t.is(th.waitMs('2001:db8:1:3::1', 'carol', now), 0);
  th.succeed('10.0.0.1', 'alice'); // clears the pair, not the address
  t.true(th.waitMs('10.0.0.1', 'alice', now) > 0);
});

test('addressKey: IPv4 as it is, IPv4-mapped unwrapped, IPv6 by its /64', (t) => {
  t.is(addressKey('127.0.0.2'), '127.0.0.2');
  t.is(addressKey('::ffff:127.0.0.2'), '127.0.0.2');
  t.is(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(addressKey('2001:0db8:0000:0000:1:2:3:4'), '2001:db8:0:0::/64');
  t.is(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.is(addressKey('::1'), '0:0:0:0::/64');
});

test('server: the kdf endpoint does not reveal whether a user exists', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const header = {
    v: 1, driveId: '0'.repeat(32), wrappedKey: 'c2VjcmV0',
    kdf: { alg: 'argon2id', memKiB: 65536, passes: 3, parallelism: 1, salt: 'AAECAwQFBgcICQoLDA0ODw==' },
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const u = await newUser(server.url, headerBytes);
  t.deepEqual(await fetchKdfParams(server.url, u.user), header.kdf);
  const fake1 = await fetchKdfParams(server.url, 'nobody-here');
  const fake2 = await fetchKdfParams(server.url, 'nobody-here');
  t.deepEqual(fake1, fake2);
  t.deepEqual(Object.keys(fake1).sort(), Object.keys(header.kdf).sort());
  t.not(fake1.salt, (await fetchKdfParams(server.url, 'someone-else')).salt);
  const res = await raw(server.url, { method: 'GET', path: `/v1/kdf?user=${u.user}` });
  t.false(res.body.toString().includes('c2VjcmV0')); // the wrapped key only after login
  t.deepEqual(await login(server.url, u.user, u.authSecret), headerBytes);
  const noHeader = await newUser(server.url);
  t.is(await codeOf(login(server.url, noHeader.user, noHeader.authSecret)), 'E_NO_DRIVE');
});

test('server: signup refuses taken names and bad secrets', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  t.is(await codeOf(signup(server.url, u.user, new Uint8Array(32), null)), 'E_CONFLICT');
  t.is(await codeOf(signup(server.url, 'Bad Name/..', new Uint8Array(32), null)), 'E_USAGE');
  const res = await raw(server.url, {
    method: 'POST', path: '/v1/signup', headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ user: 'shortsecret', authSecret: 'AAAA' })),
  });
  t.is(res.status, 400);
});

test('server: signup can be closed (--no-signup)', async (t) => {
  const server = await startTestServer({ allowSignup: false });
  t.teardown(() => server.close());
  t.is(await codeOf(signup(server.url, 'alice', new Uint8Array(32), null)), 'E_FORBIDDEN');
});

test('server: quota is enforced with 507 and freed by deletes', async (t) => {
  const server = await startTestServer({ quotaBytes: 5000 });
  t.teardown(() => server.close());
  const store = storeFor(server.url, await newUser(server.url));
  const a = randomObject(3000);
  const b = randomObject(3000);
  await store.put(a.id, a.body);
  t.is(await codeOf(store.put(b.id, b.body)), 'E_QUOTA');
  await store.put(a.id, a.body); // an object already there costs nothing
  t.deepEqual(await store.usage(), { usedBytes: 3000, objectCount: 1, quotaBytes: 5000 });
  await store.delete(a.id);
  await store.put(b.id, b.body);
  t.is((await store.usage()).usedBytes, 3000);
});

test('server: racing puts never push usage past the quota', async (t) => {
  const server = await startTestServer({ quotaBytes: 10_000 });
  t.teardown(() => server.close());
  const store = storeFor(server.url, await newUser(server.url));
  const objs = Array.from({ length: 12 }, () => randomObject(1000));
  const codes = await Promise.all(objs.map((o) => codeOf(store.put(o.id, o.body))));
  t.is(codes.filter((c) => c === 'no error').length, 10);
  t.is(codes.filter((c) => c === 'E_QUOTA').length, 2);
  t.deepEqual(await store.usage(), { usedBytes: 10_000, objectCount: 10, quotaBytes: 10_000 });
  let listed = 0;
  for await (const _id of store.list()) listed++;
  t.is(listed, 10);
});

test('server: stores exactly the bytes sent, and never the auth secret', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const store = storeFor(server.url, u);
  const marker = new TextEncoder().encode('MARKER-4f1c2 ciphertext as the client sent it');
  const id = createHash('sha256').update(marker).digest('hex');
  await store.put(id, marker);
  const files = await filesUnder(server.dataDir);
  const objectFiles = files.filter((f) => f.endsWith(id));
  t.is(objectFiles.length, 1);
  t.deepEqual(new Uint8Array(await readFile(objectFiles[0])), marker);
  t.false(objectFiles[0].includes(u.user)); // directories are named by random account ids
  const secretForms = [Buffer.from(u.authSecret), Buffer.from(Buffer.from(u.authSecret).toString('hex')),
    Buffer.from(Buffer.from(u.authSecret).toString('base64')), Buffer.from(Buffer.from(u.authSecret).toString('base64url'))];
  for (const f of files) {
    const bytes = await readFile(f);
    for (const form of secretForms) t.false(bytes.includes(form), `${f} holds the auth secret`);
  }
});

test('server: tampered object on disk is caught by the client (E_INTEGRITY)', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const store = storeFor(server.url, await newUser(server.url));
  const o = randomObject(100);
  await store.put(o.id, o.body);
  const path = (await filesUnder(server.dataDir)).find((f) => f.endsWith(o.id))!;
  await writeFile(path, Buffer.alloc(100, 1));
  t.is(await codeOf(store.get(o.id)), 'E_INTEGRITY');
});

test('server: protocol errors have the documented shape', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const auth = { authorization: bearer(u.user, u.authSecret) };
  const nowhere = await raw(server.url, { method: 'GET', path: '/v2/nothing' });
  t.is(nowhere.status, 404);
  t.is(nowhere.code, 'E_NOT_FOUND');
  const method = await raw(server.url, { method: 'POST', path: '/v1/root', headers: auth });
  t.is(method.status, 405);
  const noPrecondition = await raw(server.url, { method: 'PUT', path: '/v1/root', headers: auth, body: Buffer.from('x') });
  t.is(noPrecondition.status, 428);
  const o = randomObject(10);
  const mismatch = await raw(server.url, { method: 'PUT', path: `/v1/objects/${o.id}`, headers: auth, body: Buffer.from('other') });
  t.is(mismatch.status, 422);
  t.is(mismatch.code, 'E_HASH_MISMATCH');
  const range = await raw(server.url, { method: 'GET', path: `/v1/objects/${o.id}`, headers: { ...auth, range: 'bytes=0-1' } });
  t.is(range.status, 404);
});

test('server: an internal fault answers 500 without details, and is logged', async (t) => {
  const logged: string[] = [];
  const broken = async () => {
    throw new Error('EACCES: /srv/secret/path/accounts');
  };
  const server = await startTestServer({ backends: broken, log: (l) => logged.push(l) });
  t.teardown(() => server.close());
  const u = await newUser(server.url);
  const res = await raw(server.url, { method: 'GET', path: `/v1/objects/${'a'.repeat(64)}`, headers: { authorization: bearer(u.user, u.authSecret) } });
  t.is(res.status, 500);
  t.deepEqual(JSON.parse(res.body.toString()), { error: { code: 'E_INTERNAL', message: 'internal error' } });
  t.true(logged.some((l) => l.includes('/srv/secret/path')));
  t.is(await codeOf(storeFor(server.url, u, { retries: 0 }).get('a'.repeat(64))), 'E_UNAVAILABLE');
});

test('client: errors never carry the auth secret (they get logged)', async (t) => {
  const server = await startTestServer();
  const u = await newUser(server.url);
  const store = storeFor(server.url, u, { retries: 0 });
  const secret = Buffer.from(u.authSecret).toString('base64url');
  const errors = [await store.get('c'.repeat(64)).catch((e: unknown) => e)];
  await server.close();
  errors.push(await store.get('c'.repeat(64)).catch((e: unknown) => e));
  errors.push(await login(server.url, u.user, u.authSecret, { retries: 0 }).catch((e: unknown) => e));
  for (const e of errors) {
    t.truthy((e as { code?: string }).code);
    t.false(inspect(e, { depth: 10 }).includes(secret));
  }
  await store.close();
});

test('client: a server that is down is E_UNAVAILABLE, never data loss', async (t) => {
  const server = await startTestServer();
  const u = await newUser(server.url);
  const store = new HttpStore({ url: server.url, user: u.user, authSecret: u.authSecret, retries: 2, retryBaseMs: 10 });
  const o = randomObject(10);
  await store.put(o.id, o.body);
  await server.close();
  t.is(await codeOf(store.get(o.id)), 'E_UNAVAILABLE');
  t.is(await codeOf(store.put(o.id, o.body)), 'E_UNAVAILABLE');
  t.is(await codeOf(store.casRoot(null, new Uint8Array(1))), 'E_UNAVAILABLE');
  t.is(await codeOf(listIds(store)), 'E_UNAVAILABLE');
  await store.close();
});

test('server: imports nothing from src/crypto or src/vfs, even indirectly', async (t) => {
  // Walk the relative imports of the compiled server from its entry points.
  const root = fileURLToPath(new URL('../../src/', import.meta.url));
  const todo = [join(root, 'server/server.js'), join(root, 'cli/serve.js')];
  const seen = new Set<string>();
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) todo.push(join(dirname(file), m[1]));
  }
  const inside = [...seen].map((f) => relative(root, f));
  t.true(inside.includes('server/accounts.js'));
  t.deepEqual(inside.filter((f) => f.startsWith('crypto/') || f.startsWith('vfs/')), []);
});
