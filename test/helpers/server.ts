// Start `megafs serve` in-process on a free loopback port for a test, with a restart that
// keeps the port and the data directory, and sign up test users.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
