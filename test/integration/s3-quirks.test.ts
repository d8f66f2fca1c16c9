// S3Store against a scripted stub server, for behaviours the real RGW does not show on
// demand: a server that wants the quoted ETag in If-Match (as AWS documents), a reply lost
// after the write landed, and 503 SlowDown. The real-server tests are in s3.test.ts.
import test from 'ava';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Store } from '../../src/store/s3.js';

interface Stub { server: Server; endpoint: string; root: Buffer | null; puts: number; dropNextPutReply: boolean; slowDowns: number }

async function stub(): Promise<Stub> {
  const s: Stub = { server: createServer(), endpoint: '', root: null, puts: 0, dropNextPutReply: false, slowDowns: 0 };
  const etag = (): string => createHash('md5').update(s.root!).digest('hex');
  s.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!req.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) return void res.writeHead(403).end();
      if (s.slowDowns > 0) {
        s.slowDowns--;
        return void res.writeHead(503).end('<Error><Code>SlowDown</Code></Error>');
      }
      if (req.url === '/b') return void res.writeHead(200).end();
      if (req.url !== '/b/p/root') return void res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');
      if (req.method === 'GET') {
        if (!s.root) return void res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');
        return void res.writeHead(200, { etag: `"${etag()}"` }).end(s.root);
      }
      // PUT: AWS-style strict comparison against the quoted etag.
      const ifMatch = req.headers['if-match'];
      const ifNone = req.headers['if-none-match'];
      const holds = ifNone === '*' ? s.root === null : ifMatch !== undefined && s.root !== null && ifMatch === `"${etag()}"`;
      if (!holds) return void res.writeHead(412).end('<Error><Code>PreconditionFailed</Code></Error>');
      s.root = Buffer.concat(chunks);
      s.puts++;
      if (s.dropNextPutReply) {
        s.dropNextPutReply = false;
        return void req.socket.destroy();
      }
      res.writeHead(200, { etag: `"${etag()}"` }).end();
    });
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
  s.endpoint = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
  return s;
}

const open = (s: Stub): Promise<S3Store> => S3Store.open({
  endpoint: s.endpoint, region: 'us-east-1', bucket: 'b', prefix: 'p', retries: 3,
  credentials: { accessKeyId: 'ak', secretAccessKey: 'sk' },
});

test('a server wanting the quoted etag in If-Match: the client switches once', async (t) => {
  const s = await stub();
  const store = await open(s);
  const r1 = await store.casRoot(null, new Uint8Array([1]));
  if (!r1.ok) return t.fail();
  const r2 = await store.casRoot(r1.etag, new Uint8Array([2]));
  t.true(r2.ok);
  const r3 = r2.ok ? await store.casRoot(r2.etag, new Uint8Array([3])) : null;
  t.true(r3?.ok);
  t.false((await store.casRoot(r1.etag, new Uint8Array([4]))).ok);
  t.deepEqual([...(await store.getRoot())!.bytes], [3]);
  await store.close();
  s.server.close();
});

test('a lost reply to a root write that landed counts as won, not as a conflict', async (t) => {
  const s = await stub();
  const store = await open(s);
  s.dropNextPutReply = true;
  const r = await store.casRoot(null, new Uint8Array([9, 9]));
  t.true(r.ok);
  t.is(s.puts, 1);
  t.deepEqual([...(await store.getRoot())!.bytes], [9, 9]);
  await store.close();
  s.server.close();
});

test('503 SlowDown is retried with backoff', async (t) => {
  const s = await stub();
  const store = await open(s);
  s.slowDowns = 2;
  t.is(await store.getRoot(), null);
  s.slowDowns = 10;
  await t.throwsAsync(store.getRoot(), { code: 'E_UNAVAILABLE' } as never);
  await store.close();
  s.server.close();
});
