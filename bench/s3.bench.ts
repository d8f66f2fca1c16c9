// PUT and GET throughput of 1 MiB objects, 8 in flight, through S3Store versus the S3
// server alone (a bare node:http client with the same SigV4 signer, UNSIGNED-PAYLOAD, no
// hash checks, no got), on a single-node Ceph RGW (memstore) started here on loopback,
// or on S3_ENDPOINT + AWS_* when set. Prints MB/s, client CPU per MB and RGW+OSD CPU per MB.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { S3Store } from '../src/store/s3.js';
import { signS3, encodePath, type Credentials } from '../src/store/sigv4.js';
import { startCeph, type Ceph } from '../test/helpers/ceph.js';
import { keepFreedHeap } from '../src/platform/heap.js';

// The heap setting every megafs process makes (src/cli/main.ts); the bare-client baseline
// runs in this same process, so it gets it too.
keepFreedHeap();

const MiB = 1024 * 1024;
const COUNT = Number(process.env.BENCH_S3_COUNT ?? 128);
const IN_FLIGHT = 8;
const ROUNDS = Number(process.env.BENCH_S3_ROUNDS ?? 3);

interface Target { endpoint: string; region: string; credentials: Credentials; serverPids: number[] }

/** utime + stime of `pids` in ms (0 when not local). */
function serverCpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]); // fields 14, 15 (utime, stime) after "pid (comm) "
    } catch { /* not ours */ }
  }
  return ticks * 10; // USER_HZ = 100
}

async function pool(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < n) await work(next++);
  }));
}

interface Row { name: string; mbps: number; clientMsPerMB: number; serverMsPerMB: number }

async function measure(name: string, target: Target, run: () => Promise<void>): Promise<Row> {
  const c0 = process.cpuUsage();
  const s0 = serverCpuMs(target.serverPids);
  const t0 = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const mb = COUNT; // 1 MiB each
  return {
    name, mbps: mb / seconds,
    clientMsPerMB: (c.user + c.system) / 1000 / mb,
    serverMsPerMB: (serverCpuMs(target.serverPids) - s0) / mb,
  };
}

/** The bare client: one signed request over a keep-alive agent. */
function rawClient(t: Target, bucket: string) {
  const url = new URL(t.endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    agent,
    send(method: 'PUT' | 'GET', key: string, body?: Buffer): Promise<Buffer> {
      const path = `/${bucket}/${key}`;
      const headers = signS3({ method, path, query: [], headers: { host: url.host } }, t.credentials, t.region);
      if (body) headers['content-length'] = String(body.length);
      return new Promise((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, method, path: encodePath(path), headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${method} ${res.statusCode}`))));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
  };
}

async function main(): Promise<void> {
  let ceph: Ceph | null = null;
  let target: Target;
  if (process.env.S3_ENDPOINT && process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY) {
    target = { endpoint: process.env.S3_ENDPOINT, region: process.env.AWS_REGION ?? 'us-east-1', serverPids: [],
      credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY } };
  } else {
    const t0 = Date.now();
    ceph = await startCeph();
    console.log(`ceph: started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const pids = readFileSync(`${ceph.base}/pids`, 'utf8').trim().split(/\s+/).map(Number);
    target = { endpoint: ceph.endpoint, region: ceph.region, serverPids: pids,
      credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey } };
  }
  try {
    const bucket = 'megafs-bench';
    const store = await S3Store.open({ ...target, bucket, prefix: `bench-${randomBytes(4).toString('hex')}`, create: true });
    const objs = Array.from({ length: COUNT }, () => {
      const body = randomBytes(MiB);
      return { id: createHash('sha256').update(body).digest('hex'), body };
    });
    const raw = rawClient(target, bucket);
    const rawKey = (i: number): string => `raw-${i}`;
    // Warm up both paths (connections, pools).
    await raw.send('PUT', rawKey(0), objs[0].body);
    await store.put(objs[0].id, objs[0].body);
    const cases: Array<[string, () => Promise<void>]> = [
      ['PUT S3 server alone (bare http)', () => pool(COUNT, async (i) => void await raw.send('PUT', rawKey(i), objs[i].body))],
      ['PUT S3Store', () => pool(COUNT, (i) => store.put(objs[i].id, objs[i].body))],
      ['GET S3 server alone (bare http)', () => pool(COUNT, async (i) => void await raw.send('GET', rawKey(i)))],
      ['GET S3Store', () => pool(COUNT, async (i) => void await store.get(objs[i].id))],
    ];
    // Interleaved rounds, best throughput of each kept: the machine is shared and noisy.
    const best = new Map<string, Row>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of cases) {
        const r = await measure(name, target, run);
        if (!best.has(name) || r.mbps > best.get(name)!.mbps) best.set(name, r);
      }
    }
    const rows = cases.map(([name]) => best.get(name)!);
    const rssMiB = target.serverPids.reduce((sum, pid) => {
      try {
        return sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      } catch {
        return sum;
      }
    }, 0);
    raw.agent.destroy();
    await store.close();
    console.log(`\nS3 backend: ${COUNT} x 1 MiB objects, ${IN_FLIGHT} in flight, best of ${ROUNDS} rounds, ${target.endpoint}`);
    if (rssMiB) console.log(`ceph mon+osd+rgw resident memory after the run: ${rssMiB.toFixed(0)} MiB (memstore holds the objects in RAM)`);
    console.log('| case                            |   MB/s | client CPU ms/MB | RGW+OSD CPU ms/MB |');
    console.log('|---------------------------------|-------:|-----------------:|------------------:|');
    for (const r of rows) {
      console.log(`| ${r.name.padEnd(31)} | ${r.mbps.toFixed(1).padStart(6)} | ${r.clientMsPerMB.toFixed(2).padStart(16)} | ${(target.serverPids.length ? r.serverMsPerMB.toFixed(2) : 'n/a').padStart(17)} |`);
    }
    for (const op of ['PUT', 'GET']) {
      const base = rows.find((r) => r.name.startsWith(`${op} S3 server`))!;
      const ours = rows.find((r) => r.name === `${op} S3Store`)!;
      const serverAndBare = base.clientMsPerMB + base.serverMsPerMB;
      const extra = ours.clientMsPerMB - base.clientMsPerMB;
      const signed = (x: number, digits: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
      console.log(`${op}: S3Store at ${((ours.mbps / base.mbps) * 100).toFixed(0)}% of the bare throughput; `
        + `client CPU ${signed(extra, 2)} ms/MB over the bare client`
        + (target.serverPids.length ? ` (${signed((extra / serverAndBare) * 100, 0)}% of bare client + server CPU)` : ''));
    }
  } finally {
    await ceph?.stop();
  }
}

await main();
