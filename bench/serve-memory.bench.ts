// Memory of `megafs serve` (a child process) under big concurrent request bodies: 16
// share creations of 48 MiB each (the largest POST /v1/shares body: a 16 MiB manifest,
// base64, padded with JSON white space to the limit), then 64 object PUTs of 16.5 MiB
// (the largest object) at once. Prints the server's RSS before, its peak (VmHWM) and
// after each round. A benchmark, not an assertion: the body budget (docs/protocol.md
// "Limits") is what should keep the peak near budget + baseline.
// BENCH_SERVE_MEM_SHARES / BENCH_SERVE_MEM_OBJECTS set the counts (default 16 / 64).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signup } from '../src/store/http-account.js';
import { bearer } from '../src/store/http-client.js';
import { startServe } from './serve-child.js';

const MiB = 1024 * 1024;
const SHARES = Number(process.env.BENCH_SERVE_MEM_SHARES ?? 16);
const OBJECTS = Number(process.env.BENCH_SERVE_MEM_OBJECTS ?? 64);
const SHARE_BODY_BYTES = 48 * MiB;
const OBJECT_BYTES = 17_301_545;

/** VmRSS and VmHWM (peak) of `pid`, in MB. */
function memOf(pid: number): { rssMB: number; peakMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: kb('VmRSS') / 1000, peakMB: kb('VmHWM') / 1000 };
}

/** One request with a body; resolves with the status and the Retry-After header. */
function send(url: string, method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; retryAfter?: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, agent: false, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** Send until the server takes it, honouring 503 + Retry-After as the client does. */
async function sendPatiently(url: string, method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; busy: number }> {
  for (let busy = 0; ; busy++) {
    const r = await send(url, method, path, headers, body);
    if (r.status !== 503 || busy >= 20) return { status: r.status, busy };
    await new Promise((res) => setTimeout(res, Number(r.retryAfter ?? 1) * 1000));
  }
}

/** A valid share creation body of exactly SHARE_BODY_BYTES: a 16 MiB manifest, no objects. */
function shareBody(manifestB64: string): Buffer {
  const id = randomBytes(16).toString('base64url');
  const json = JSON.stringify({ id, manifest: manifestB64, objects: [], expiresMs: null });
  return Buffer.concat([Buffer.from(json), Buffer.alloc(SHARE_BODY_BYTES - json.length, 0x20)]);
}

/** Reset the peak (VmHWM) to the current RSS, so each round reports its own (Linux 4.0+). */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

async function round(name: string, pid: number, run: () => Promise<Array<{ status: number; busy: number }>>): Promise<void> {
  resetPeak(pid);
  const before = memOf(pid);
  const t0 = performance.now();
  const results = await run();
  const s = (performance.now() - t0) / 1000;
  await new Promise((res) => setTimeout(res, 500));
  const after = memOf(pid);
  const statuses = new Map<number, number>();
  for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  const busy = results.reduce((n, r) => n + r.busy, 0);
  console.log(`${name.padEnd(30)} RSS before ${before.rssMB.toFixed(0)} MB, peak ${after.peakMB.toFixed(0)} MB, after ${after.rssMB.toFixed(0)} MB; ` +
    `${s.toFixed(1)} s; statuses ${[...statuses].map(([k, v]) => `${k}x${v}`).join(' ')}; 503s retried ${busy}`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-bench-mem-'));
  const serve = await startServe(dir);
  try {
    const user = `bench${randomBytes(4).toString('hex')}`;
    const secret = new Uint8Array(randomBytes(32));
    await signup(serve.url, user, secret, null);
    const auth = { authorization: bearer(user, secret), 'content-type': 'application/json' };
    await new Promise((res) => setTimeout(res, 300));
    console.log(`megafs serve idle: RSS ${memOf(serve.pid).rssMB.toFixed(0)} MB`);

    const manifest = randomBytes(16 * MiB).toString('base64');
    const shareBodies = Array.from({ length: SHARES }, () => shareBody(manifest));
    await round(`${SHARES} x 48 MiB share creations`, serve.pid, () =>
      Promise.all(shareBodies.map((b) => sendPatiently(serve.url, 'POST', '/v1/shares', auth, b))));
    shareBodies.length = 0;

    const objects = Array.from({ length: OBJECTS }, () => {
      const body = randomBytes(OBJECT_BYTES);
      return { id: createHash('sha256').update(body).digest('hex'), body };
    });
    await round(`${OBJECTS} x 16.5 MiB object PUTs`, serve.pid, () =>
      Promise.all(objects.map((o) => sendPatiently(serve.url, 'PUT', `/v1/objects/${o.id}`, { authorization: auth.authorization }, o.body))));
  } finally {
    serve.stop();
    await new Promise((res) => setTimeout(res, 300));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
