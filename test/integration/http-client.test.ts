// The HTTP client under odd servers: chunked answers (the direct GET path falls back to
// node:http), kept-alive sockets the server closes, retries after 503, timeouts, short
// bodies. Each test runs its own node:http server on a free loopback port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { createHttpClient, type HttpClientOptions } from '../../src/store/http-client.js';
import { HttpStore } from '../../src/store/http.js';
import type { ObjectInfo } from '../../src/store/store.js';
import { codeOf } from '../helpers/code-of.js';

async function serve(t: ExecutionContext, handler: (req: IncomingMessage, res: ServerResponse) => void, setup?: (s: Server) => void): Promise<string> {
  const server = createServer(handler);
  setup?.(server);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(t: ExecutionContext, url: string, o: Partial<HttpClientOptions> = {}): ReturnType<typeof createHttpClient> {
  const c = createHttpClient({ url, retryBaseMs: 5, ...o });
  t.teardown(() => c.close());
  return c;
}

test('http client: a chunked answer is read through the node:http fallback', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(70_000, 1));
    res.end(Buffer.alloc(30_000, 2));
  });
  const r = await client(t, url).request({ method: 'GET', path: 'x' }, 'get');
  t.is(r.status, 200);
  t.is(r.body.length, 100_000);
  t.is(r.body[69_999], 1);
  t.is(r.body[70_000], 2);
});

test('http client: big and empty bodies arrive whole; sockets are reused', async (t) => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 7, 9);
  const sockets = new Set<unknown>();
  const url = await serve(t, (req, res) => {
    sockets.add(req.socket);
    const body = req.url === '/big' ? big : Buffer.alloc(0);
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  const c = client(t, url, { maxSockets: 2 });
  const got = await Promise.all(Array.from({ length: 8 }, (_, i) => c.request({ method: 'GET', path: i % 2 ? 'big' : 'empty' }, 'get')));
  for (let i = 0; i < 8; i++) t.is(got[i].body.length, i % 2 ? big.length : 0);
  t.true(got[1].body.equals(big));
  t.true(sockets.size <= 2);
});

test('http client: a kept-alive socket the server closed is replaced without an error', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 2 });
    res.end('ok');
  }, (s) => {
    s.keepAliveTimeout = 1;
  });
  const c = client(t, url, { retries: 0 });
  for (let i = 0; i < 5; i++) {
    t.is(String((await c.request({ method: 'GET', path: 'x' }, 'get')).body), 'ok');
    await new Promise((r) => setTimeout(r, 30));
  }
});

test('http client: 503 with Retry-After is retried, then succeeds', async (t) => {
  let calls = 0;
  const url = await serve(t, (_req, res) => {
    calls++;
    if (calls < 3) {
      res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' });
      return void res.end('{"error":{"code":"E_UNAVAILABLE","message":"busy"}}');
    }
    res.writeHead(200, { 'content-length': 2 });
    res.end('ok');
  });
  t.is(String((await client(t, url).request({ method: 'GET', path: 'x' }, 'get')).body), 'ok');
  t.is(calls, 3);
});

test('http client: errors map to codes; POST is never retried', async (t) => {
  let posts = 0;
  const url = await serve(t, (req, res) => {
    if (req.method === 'POST') posts++;
    const status = req.url === '/gone' ? 404 : 500;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'E_X', message: 'no' } }));
  });
  const c = client(t, url, { retries: 2 });
  t.is(await codeOf(c.request({ method: 'GET', path: 'gone' }, 'get')), 'E_NOT_FOUND');
  t.is(await codeOf(c.request({ method: 'HEAD', path: 'gone' }, 'head')), 'E_NOT_FOUND');
  t.is(await codeOf(c.request({ method: 'POST', path: 'p', body: new Uint8Array(3) }, 'post')), 'E_UNAVAILABLE');
  t.is(posts, 1);
});

test('http client: a server that does not answer, or cuts a body short, is E_UNAVAILABLE', async (t) => {
  const url = await serve(t, (req, res) => {
    if (req.url === '/short') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(100));
      setTimeout(() => res.destroy(), 20);
    }
    // otherwise: never answer
  });
  const c = client(t, url, { retries: 1, timeoutMs: 200 });
  t.is(await codeOf(c.request({ method: 'GET', path: 'short' }, 'get')), 'E_UNAVAILABLE');
  t.is(await codeOf(c.request({ method: 'GET', path: 'silent' }, 'get')), 'E_UNAVAILABLE');
  t.is(await codeOf(c.request({ method: 'PUT', path: 'silent', body: new Uint8Array(10) }, 'put')), 'E_UNAVAILABLE');
});

test('http store: scan against a server that answers ids only (from before detail=1) is E_VERSION; a malformed entry E_FORMAT', async (t) => {
  const id = 'ab'.repeat(32);
  let answer: unknown = { ids: [id], next: null };
  const url = await serve(t, (req, res) => {
    const body = Buffer.from(JSON.stringify(req.url?.startsWith('/v1/objects') ? answer : {}));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  const store = new HttpStore({ url, user: 'u', authSecret: new Uint8Array(32), retryBaseMs: 5 });
  t.teardown(() => store.close());
  const scanAll = async (): Promise<ObjectInfo[]> => {
    const all: ObjectInfo[] = [];
    for await (const o of store.scan()) all.push(o);
    return all;
  };
  t.is(await codeOf(scanAll()), 'E_VERSION');
  answer = { objects: [{ id, size: 5, mtimeMs: 1000 }], next: null };
  t.deepEqual(await scanAll(), [{ id, size: 5, mtimeMs: 1000 }]);
  for (const bad of [{ id: '../x', size: 5, mtimeMs: 1 }, { id, size: -1, mtimeMs: 1 }, { id, size: 5 }]) {
    answer = { objects: [bad], next: null };
    t.is(await codeOf(scanAll()), 'E_FORMAT', JSON.stringify(bad));
  }
  answer = { objects: [], next: 'nonsense' };
  t.is(await codeOf(scanAll()), 'E_FORMAT');
});
