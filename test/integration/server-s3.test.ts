// `megafs serve --s3`: the server keeps each account's objects in one S3 bucket under
// PREFIX/<account-id>/ (a real Ceph RADOS Gateway on loopback), and HttpStore passes the
// store conformance suite through it, restarts of the server included.
import test from 'ava';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { s3Backends } from '../../src/server/backend.js';
import { openDatabase } from '../../src/server/sqlite.js';
import { S3Store } from '../../src/store/s3.js';
import { useCeph } from '../helpers/ceph.js';
import { newUser, startTestServer, storeFor } from '../helpers/server.js';
import { randomObject, storeConformance } from '../helpers/store-suite.js';

const ceph = useCeph(test);
const BUCKET = 'megafs-serve-test';

/** `--s3` spec for a fresh prefix; the credentials go where the AWS SDKs look for them. */
async function s3Spec(): Promise<{ spec: string; prefix: string }> {
  const c = ceph();
  process.env.AWS_ACCESS_KEY_ID = c.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = c.secretAccessKey;
  const creds = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
  await (await S3Store.open({ endpoint: c.endpoint, region: c.region, bucket: BUCKET, prefix: '', credentials: creds, create: true })).close();
  const prefix = `serve-${randomBytes(6).toString('hex')}`;
  return { spec: `s3://${BUCKET}/${prefix}?endpoint=${encodeURIComponent(c.endpoint)}&region=${c.region}`, prefix };
}

storeConformance(test, 'http+s3', async () => {
  const { spec } = await s3Spec();
  const server = await startTestServer({ backends: s3Backends(spec) });
  const store = storeFor(server.url, await newUser(server.url), { listPageSize: 10 });
  return {
    store,
    restart: async () => {
      await server.restart();
      return store;
    },
    cleanup: () => server.close(),
  };
});

test('http+s3: objects land under PREFIX/<account-id>/objects in the bucket', async (t) => {
  const { spec, prefix } = await s3Spec();
  const server = await startTestServer({ backends: s3Backends(spec) });
  t.teardown(() => server.close());
  const store = storeFor(server.url, await newUser(server.url));
  const o = randomObject(4096);
  await store.put(o.id, o.body);
  const db = openDatabase(join(server.dataDir, 'accounts.db'));
  const accountId = db.prepare<{ id: string }>('SELECT id FROM accounts').get()!.id;
  db.close();
  const c = ceph();
  const direct = await S3Store.open({
    endpoint: c.endpoint, region: c.region, bucket: BUCKET, prefix: `${prefix}/${accountId}`,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
  });
  t.teardown(() => direct.close());
  t.deepEqual(await direct.get(o.id), o.body);
  t.deepEqual(await store.get(o.id), o.body);
  t.deepEqual(await store.usage(), { usedBytes: 4096, objectCount: 1, quotaBytes: null });
  await store.delete(o.id);
  t.false(await direct.has(o.id));
  t.is((await store.usage()).objectCount, 0);
});
