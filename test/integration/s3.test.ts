// The S3 backend against a real S3 server (Ceph RADOS Gateway on loopback, started by
// test/helpers/ceph.ts): the store conformance suite, then S3-specific behaviour.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { S3Store, parseS3Spec, type S3StoreOptions } from '../../src/store/s3.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../../src/store/fs.js';
import { ReplicatedStore } from '../../src/store/replicate.js';
import { openStore } from '../../src/store/spec.js';
import { S3Client } from '../../src/store/s3-client.js';
import { storeConformance, randomObject } from '../helpers/store-suite.js';
import { useCeph } from '../helpers/ceph.js';
import { runFaultSuite } from '../helpers/fault-suite.js';
import { codeOf } from '../helpers/code-of.js';
import { megafs, tempHome } from '../helpers/cli.js';
import { check } from '../helpers/mount.js';

const ceph = useCeph(test);

// The fault-injection suite (test/helpers/fault-suite.ts) on the real gateway.
test.serial('faults: S3 (Ceph RGW)', async (t) => {
  t.timeout(300_000);
  await runFaultSuite(t, async () => {
    const store = await S3Store.open(options());
    return { store, cleanup: () => store.close() };
  }, 6);
});

function options(extra: Partial<S3StoreOptions> = {}): S3StoreOptions {
  const c = ceph();
  return {
    endpoint: c.endpoint, region: c.region, bucket: 'megafs-test', create: true,
    prefix: `drive-${randomBytes(6).toString('hex')}`,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    ...extra,
  };
}

// Serial: the restart tests kill the gateway, which must not hit the other tests.
storeConformance(test.serial as unknown as typeof test, 's3', async () => {
  const opts = options();
  const store = await S3Store.open(opts);
  return {
    store,
    // A real restart of the gateway process; the data lives on in the OSD.
    restart: async () => {
      await ceph().restartRgw();
      return S3Store.open(opts);
    },
    cleanup: async () => undefined,
  };
});

test.serial('spec parsing', (t) => {
  const env = { AWS_ACCESS_KEY_ID: 'ak', AWS_SECRET_ACCESS_KEY: 'sk', AWS_SESSION_TOKEN: 'st' };
  const o = parseS3Spec('s3://bucket/some/prefix/?endpoint=http://127.0.0.1:9000&region=eu-west-3', env);
  t.is(o.bucket, 'bucket');
  t.is(o.prefix, 'some/prefix');
  t.is(o.endpoint, 'http://127.0.0.1:9000');
  t.is(o.region, 'eu-west-3');
  t.deepEqual(o.credentials, { accessKeyId: 'ak', secretAccessKey: 'sk', sessionToken: 'st' });
  t.is(parseS3Spec('s3://b', env).prefix, '');
  t.throws(() => parseS3Spec('s3://b/p', {}), { code: 'E_AUTH' } as never);
});

test('list pages through continuation tokens', async (t) => {
  const store = await S3Store.open(options({ listPageSize: 7 }));
  const objs = Array.from({ length: 30 }, () => randomObject(10));
  await Promise.all(objs.map((o) => store.put(o.id, o.body)));
  const ids: string[] = [];
  for await (const id of store.list()) ids.push(id);
  t.deepEqual(ids.sort(), objs.map((o) => o.id).sort());
  t.is((await store.usage()).objectCount, 30);
  await store.close();
});

test('wrong secret: E_AUTH, not retried as unavailable', async (t) => {
  const o = options();
  await (await S3Store.open(o)).close();
  const e = await codeOf(S3Store.open({ ...o, credentials: { accessKeyId: o.credentials.accessKeyId, secretAccessKey: 'wrong' } }));
  t.is(e, 'E_AUTH');
});

test('missing bucket without create: E_NOT_FOUND', async (t) => {
  t.is(await codeOf(S3Store.open(options({ bucket: `absent-${randomBytes(4).toString('hex')}`, create: false }))), 'E_NOT_FOUND');
});

test('a server that is down is E_UNAVAILABLE', async (t) => {
  // Port 9 (discard) on loopback: nothing listens, connections are refused.
  const e = await codeOf(S3Store.open(options({ endpoint: 'http://127.0.0.1:9', retries: 2 })));
  t.is(e, 'E_UNAVAILABLE');
});

test('root object carries a nonce: equal bytes get a new etag', async (t) => {
  const store = await S3Store.open(options());
  const a = await store.casRoot(null, new Uint8Array([1, 2]));
  if (!a.ok) return t.fail();
  const b = await store.casRoot(a.etag, new Uint8Array([1, 2]));
  if (!b.ok) return t.fail();
  t.not(a.etag, b.etag);
  t.deepEqual([...(await store.getRoot())!.bytes], [1, 2]);
  await store.close();
});

test('openStore: s3:// spec with credentials from the environment, and a directory', async (t) => {
  const c = ceph();
  const env = { AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey };
  const spec = `s3://megafs-spec/p1?endpoint=${encodeURIComponent(c.endpoint)}&region=${c.region}`;
  const store = await openStore(spec, { env, create: true });
  const a = randomObject(64);
  await store.put(a.id, a.body);
  t.true(await store.has(a.id));
  await store.close();
  const dir = await mkdtemp(join(tmpdir(), 'megafs-spec-'));
  const fs = await openStore(dir);
  t.true(fs instanceof FsStore);
  await fs.close();
  await rm(dir, { recursive: true, force: true });
  t.is(await codeOf(openStore('ftp://x/y')), 'E_USAGE');
  t.is(await codeOf(openStore('http://127.0.0.1:1')), 'E_AUTH');
});

test('replicated(fs, s3): a corrupted local copy is read from S3 and repaired; a stale S3 root is repaired', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-reps3-'));
  const fs = await FsStore.open(dir);
  const s3 = await S3Store.open(options());
  const rep = new ReplicatedStore([fs, s3], { rootVersion: (b) => (b.length ? BigInt(b[0]) : null) });
  const a = randomObject(100_000);
  await rep.put(a.id, a.body);
  t.true(await s3.has(a.id));
  await writeFile(join(dir, 'objects', a.id.slice(0, 2), a.id.slice(2, 4), a.id), Buffer.from('garbage'));
  t.deepEqual(Buffer.from(await rep.get(a.id)), Buffer.from(a.body));
  await rep.idle();
  t.deepEqual(Buffer.from(await fs.get(a.id)), Buffer.from(a.body));

  const r1 = await rep.casRoot(null, new Uint8Array([1]));
  if (!r1.ok) return t.fail();
  // Only the local store moves on (as if S3 had been cut off): S3 is stale.
  const local = await fs.getRoot();
  t.true((await fs.casRoot(local!.etag, new Uint8Array([2, 2]))).ok);
  t.deepEqual([...(await rep.getRoot())!.bytes], [2, 2]);
  await rep.idle();
  t.deepEqual([...(await s3.getRoot())!.bytes], [2, 2]);
  await rep.close();
  await rm(dir, { recursive: true, force: true });
});

test('a prefix with spaces, & and unicode: keys encoded once, listed back', async (t) => {
  const store = await S3Store.open(options({ prefix: `a & b/dr\u00efve ${randomBytes(3).toString('hex')}` }));
  const a = randomObject(10);
  await store.put(a.id, a.body);
  const ids: string[] = [];
  for await (const id of store.list()) ids.push(id);
  t.deepEqual(ids, [a.id]);
  t.true((await store.casRoot(null, new Uint8Array([1]))).ok);
  await store.close();
});

test('an object whose bytes were changed in the bucket is refused (E_INTEGRITY)', async (t) => {
  const o = options();
  const store = await S3Store.open(o);
  const a = randomObject(2000);
  await store.put(a.id, a.body);
  // Overwrite it behind the store's back, as a malicious or broken server would.
  const raw = new S3Client(o);
  const res = await raw.send({ method: 'PUT', bucket: o.bucket, key: `${o.prefix}/objects/${a.id}`, body: Buffer.from('tampered') });
  t.is(res.status, 200);
  raw.close();
  t.is(await codeOf(store.get(a.id)), 'E_INTEGRITY');
  await store.close();
});

test('megafs gc on a drive replicated to a directory and S3: each store is swept on its own', async (t) => {
  const c = ceph();
  const h = await tempHome();
  t.teardown(h.cleanup);
  Object.assign(h.env, { AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey });
  const spec = `s3://megafs-gc/${randomBytes(4).toString('hex')}?endpoint=${encodeURIComponent(c.endpoint)}&region=${c.region}`;
  check(await megafs(['init', '--store', join(h.dir, 'store'), '--store', spec], h.env), 'init');
  await writeFile(join(h.dir, 'big'), randomBytes(3 * 1024 * 1024));
  await writeFile(join(h.dir, 'keep'), 'kept\n');
  check(await megafs(['put', join(h.dir, 'big'), '/big'], h.env), 'put');
  check(await megafs(['put', join(h.dir, 'keep'), '/keep'], h.env), 'put');
  check(await megafs(['rm', '/big'], h.env), 'rm');
  check(await megafs(['trash', 'empty'], h.env), 'trash empty');
  const r = JSON.parse(check(await megafs(['gc', '--json', '--clock-allowance', '0'], h.env), 'gc')) as { stores: Array<{ name: string; deletedBytes: number; failed: number }> };
  t.is(r.stores.length, 2);
  for (const s of r.stores) {
    t.true(s.deletedBytes >= 3 * 1024 * 1024, `${s.name} freed ${s.deletedBytes} bytes`);
    t.is(s.failed, 0);
  }
  t.true(r.stores[1].name.startsWith('s3://megafs-gc/'), r.stores[1].name);
  t.is(check(await megafs(['get', '/keep', '-'], h.env), 'get'), 'kept\n');
  t.is((await megafs(['fsck'], h.env)).code, 0);
});
