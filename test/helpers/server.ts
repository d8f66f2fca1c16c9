// Start `megafs serve` in-process on a free loopback port for a test, with a restart that
// keeps the port and the data directory, and sign up test users. startServeProcess runs
// the real executable in a child process instead, for tests that kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server.js';
import { HttpStore, type HttpStoreOptions } from '../../src/store/http.js';
import { signup } from '../../src/store/http-account.js';

export interface TestServer {
  url: string;
  dataDir: string;
  /** Stop the server (connections and requests in flight dropped, as in a crash) and
   *  start it again on the same port. */
  restart(): Promise<void>;
  /** Stop the server and remove the data directory. */
  close(): Promise<void>;
}

export async function startTestServer(opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'megafs-serve-')));
  const base: ServerOptions = { log: () => undefined, ...opts, dataDir, host: '127.0.0.1' };
  let running: RunningServer = await startServer({ ...base, port: opts.port ?? 0 });
  const port = Number(new URL(running.url).port);
  return {
    url: running.url,
    dataDir,
    async restart() {
      await running.close({ drainMs: 0 });
      running = await startServer({ ...base, port });
    },
    async close() {
      await running.close({ drainMs: 0 });
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestUser {
  user: string;
  authSecret: Uint8Array;
}

/** Sign up a fresh user (random name) and return its credentials. */
export async function newUser(url: string, header: Uint8Array | null = null, o: Partial<HttpStoreOptions> = {}): Promise<TestUser> {
  const user = `u${randomBytes(6).toString('hex')}`;
  const authSecret = new Uint8Array(randomBytes(32));
  await signup(url, user, authSecret, header, o);
  return { user, authSecret };
}

export function storeFor(url: string, u: TestUser, o: Partial<HttpStoreOptions> = {}): HttpStore {
  return new HttpStore({ url, user: u.user, authSecret: u.authSecret, retryBaseMs: 20, ...o });
}

const BIN = fileURLToPath(new URL('../../../bin/megafs', import.meta.url));

export interface ServeProcess {
  url: string;
  dataDir: string;
  pid: number;
  /** What the server wrote to stderr so far (its log). */
  stderr(): string;
  /** Send `signal` (SIGKILL: a crash) and wait for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and data directory (after kill). */
  restart(): Promise<void>;
  /** Kill it and remove the data directory (unless it was given). */
  close(): Promise<void>;
}

/** `megafs serve --data DIR --listen 127.0.0.1:PORT ARGS` as a child process. */
export async function startServeProcess(args: string[] = [], o: { dataDir?: string } = {}): Promise<ServeProcess> {
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'megafs-serve-')));
  let log = '';
  let proc: ChildProcess;
  let exited: Promise<void>;
  const start = async (port: number): Promise<string> => {
    proc = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((res) => proc.once('exit', () => res()));
    proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    return new Promise<string>((res, rej) => {
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m) res(m[1]);
      });
      void exited.then(() => rej(new Error(`megafs serve exited: ${log}`)));
    });
  };
  const url = await start(0);
  const port = Number(new URL(url).port);
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await exited;
  };
  return {
    url,
    dataDir,
    get pid() { return proc.pid!; },
    stderr: () => log,
    kill,
    async restart() {
      await kill();
      await start(port);
    },
    async close() {
      await kill();
      if (!o.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
