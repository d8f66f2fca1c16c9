// `megafs serve` as a real child process: argument handling, HTTPS with a self-signed
// certificate made by `openssl req` at test time, and a clean stop on SIGTERM.
import test from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HttpStore } from '../../src/store/http.js';
import { newUser } from '../helpers/server.js';
import { randomObject } from '../helpers/store-suite.js';

const BIN = fileURLToPath(new URL('../../../bin/megafs', import.meta.url));

interface Child {
  url: string;
  proc: ChildProcess;
  /** Send SIGTERM and resolve with the exit code. */
  stop(): Promise<number | null>;
}

/** Start `megafs serve ARGS --listen 127.0.0.1:0` and read the URL it prints. */
async function serve(args: string[]): Promise<Child> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) res(m[1]);
    });
    let err = '';
    proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    void exited.then((code) => rej(new Error(`megafs serve exited ${code}: ${err}`)));
  });
  return { url, proc, stop: () => (proc.kill('SIGTERM'), exited) };
}

test('cli: megafs serve runs, answers, and stops on SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const child = await serve(['--data', dir, '--quota', '1M']);
  t.teardown(() => void child.proc.kill('SIGKILL'));
  const u = await newUser(child.url);
  const store = new HttpStore({ url: child.url, ...u });
  t.is((await store.usage()).quotaBytes, 1 << 20);
  await store.close();
  t.is(await child.stop(), 0);
});

test('cli: bad arguments exit with the usage code', async (t) => {
  const run = (args: string[]) =>
    new Promise<number>((res) => execFile(process.execPath, [BIN, 'serve', ...args], (e) => res(e ? Number(e.code) : 0)));
  t.is(await run(['--listen', 'nonsense']), 2);
  t.is(await run(['--quota', 'lots']), 2);
  t.is(await run(['--tls-cert', 'x.pem']), 2);
  t.is(await run(['--bogus']), 2);
});

test('cli: HTTPS with a self-signed certificate', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ]);
  const child = await serve(['--data', join(dir, 'data'), '--tls-cert', cert, '--tls-key', key]);
  t.teardown(() => void child.proc.kill('SIGKILL'));
  t.true(child.url.startsWith('https://'));
  const ca = await readFile(cert);
  const u = await newUser(child.url, null, { ca });
  const store = new HttpStore({ url: child.url, ...u, ca });
  const o = randomObject(5000);
  await store.put(o.id, o.body);
  t.deepEqual(await store.get(o.id), o.body);
  await store.close();
  // Without the certificate the client refuses the server (and says it cannot reach it).
  const untrusting = new HttpStore({ url: child.url, ...u, retries: 0 });
  const err = await t.throwsAsync(untrusting.get(o.id));
  t.is((err as { code?: string }).code, 'E_UNAVAILABLE');
  await untrusting.close();
  t.is(await child.stop(), 0);
});
