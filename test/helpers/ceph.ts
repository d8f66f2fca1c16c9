// A real S3 server for the tests: a single-node Ceph RADOS Gateway started by
// scripts/ceph-s3-start.sh on loopback, on ports and a base dir unique to this process.
// useCeph(test) starts it before the file's tests and stops and wipes it afterwards.
// Without the ceph packages the tests FAIL (never skip): run .ci/run to install them.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestFn } from 'ava';

const run = promisify(execFile);
// dist/test/helpers/ceph.js -> repository root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface Ceph {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  base: string;
  /** Kill radosgw and start it again (the data stays in the OSD). */
  restartRgw(): Promise<void>;
  stop(): Promise<void>;
}

const PACKAGES = 'ceph-mon ceph-mgr ceph-osd radosgw ceph-common curl';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A block of 100 ports whose first few are free: rgw, mon v2, mon v1; messengers after. */
async function freePortBlock(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const checks = await Promise.all([0, 1, 2, 10, 11, 12].map((d) => portFree(base + d)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port block for ceph');
}

async function waitHttp(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(3000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`radosgw at ${url} did not answer in ${ms} ms`);
}

/** SIGTERM, then SIGKILL if it has not exited after 20 s; resolves once it is gone. */
async function stopPid(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
}

export async function startCeph(): Promise<Ceph> {
  if (spawnSync('sh', ['-c', 'command -v radosgw && command -v ceph-mon && command -v ceph-osd']).status !== 0) {
    throw new Error(`Ceph is not installed: the S3 tests need a real RADOS Gateway. Run .ci/run (or apt-get install -y --no-install-recommends ${PACKAGES}).`);
  }
  const port = await freePortBlock();
  const base = join(tmpdir(), `megafs-ceph-${process.pid}-${port}`);
  const env = { ...process.env, BASE: base, RGW_PORT: String(port), MON_PORT: String(port + 1), MS_PORT_MIN: String(port + 10), OBJECTSTORE: 'memstore' };
  try {
    await run(join(ROOT, 'scripts/ceph-s3-start.sh'), { env, timeout: 180_000 });
  } catch (e) {
    await run(join(ROOT, 'scripts/ceph-s3-stop.sh'), { env }).catch(() => undefined);
    throw new Error(`scripts/ceph-s3-start.sh failed: ${(e as { stderr?: string }).stderr ?? String(e)}`);
  }
  const vars = Object.fromEntries([...readFileSync(join(base, 'env'), 'utf8').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  const endpoint = vars.S3_ENDPOINT;
  const pidFile = join(base, 'run', 'client.rgw.a.pid');
  return {
    endpoint, base, region: vars.AWS_REGION,
    accessKeyId: vars.AWS_ACCESS_KEY_ID, secretAccessKey: vars.AWS_SECRET_ACCESS_KEY,
    async restartRgw() {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      await stopPid(pid);
      // Under load the new gateway can miss its port (the old socket lingering) and exit:
      // start it again until it answers, and show its log if it never does.
      for (let attempt = 1; ; attempt++) {
        await run('radosgw', ['-n', 'client.rgw.a'], { env: { ...env, CEPH_CONF: join(base, 'ceph.conf') }, timeout: 120_000 });
        try {
          await waitHttp(endpoint, 30_000);
          return;
        } catch (e) {
          if (attempt >= 3) {
            const log = readFileSync(join(base, 'log', 'client.rgw.a.log'), 'utf8').split('\n').slice(-15).join('\n');
            throw new Error(`${(e as Error).message}; radosgw log:\n${log}`);
          }
          if (existsSync(pidFile)) await stopPid(Number(readFileSync(pidFile, 'utf8')));
        }
      }
    },
    async stop() {
      await run(join(ROOT, 'scripts/ceph-s3-stop.sh'), { env });
    },
  };
}

/** Start one cluster for this test file; the returned getter gives it to the tests. */
export function useCeph(test: TestFn): () => Ceph {
  let ceph: Ceph | null = null;
  test.before(async () => {
    ceph = await startCeph();
  });
  test.after.always(async () => {
    await ceph?.stop();
  });
  return () => ceph ?? (() => { throw new Error('ceph did not start'); })();
}
