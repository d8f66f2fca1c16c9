// The S3 backend against a real S3 server (Ceph RADOS Gateway on loopback, started by
// test/helpers/ceph.ts): the store conformance suite, then S3-specific behaviour.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { S3Store, parseS3Spec, type S3StoreOptions } from '../../src/store/s3.js';
import { storeConformance, randomObject } from '../helpers/store-suite.js';
import { useCeph } from '../helpers/ceph.js';

const ceph = useCeph(test);

function options(extra: Partial<S3StoreOptions> = {}): S3StoreOptions {
  const c = ceph();
  return {
    endpoint: c.endpoint, region: c.region, bucket: 'megafs-test', create: true,
    prefix: `drive-${randomBytes(6).toString('hex')}`,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    ...extra,
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
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
