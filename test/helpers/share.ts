// Share test fixtures: a `megafs serve` with the share routes and an admin token, a user
// with an HttpStore and a ShareApi, and a drive on that account (the real vfs: shares
// point into its chunks), with a way to fill it from a local directory.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deriveDriveKeys, type DriveKeys } from '../../src/crypto/keys.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { hashAdminToken } from '../../src/server/shares/admin.js';
import { shareRoutes } from '../../src/server/shares/routes.js';
import { httpShareApi, type ShareApi } from '../../src/share/api.js';
import { bearer } from '../../src/store/http-client.js';
import type { HttpStore } from '../../src/store/http.js';
import { newUser, startTestServer, storeFor, type TestServer } from './server.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Log } from '../../src/server/respond.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface ShareEnv {
  server: TestServer;
  store: HttpStore;
  api: ShareApi;
  close(): Promise<void>;
}

export async function startShareEnv(o: { log?: Log } = {}): Promise<ShareEnv> {
  const dataDir = await mkdtemp(join(tmpdir(), 'megafs-share-'));
  const server = await startTestServer({ dataDir, routes: shareRoutes({ dataDir, adminTokenHash: hashAdminToken(ADMIN_TOKEN) }), ...(o.log ? { log: o.log } : {}) });
  const u = await newUser(server.url);
  const store = storeFor(server.url, u);
  const api = httpShareApi(server.url, bearer(u.user, u.authSecret));
  return { server, store, api, async close() { await store.close(); await server.close(); } };
}

export interface TestDrive {
  vfs: VfsHandle;
  keys: DriveKeys;
  /** Write `data` at `path` (parents must exist), closed: sealed, not yet committed. */
  write(path: string, data: Uint8Array): Promise<void>;
  /** Copy the local directory `dir` into the drive at `at` ('/' by default), then sync. */
  copyIn(dir: string, at?: string): Promise<void>;
  close(): Promise<void>;
}

/** A drive on the env's account (its own keys, state and cache directories). */
export async function openTestDrive(env: ShareEnv, keys: DriveKeys = deriveDriveKeys(randomBytes(32), randomBytes(16))): Promise<TestDrive> {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-share-drive-'));
  const vfs = await openVfs({
    store: env.store, keys, stateDir: join(dir, 'state'), cacheDir: join(dir, 'cache'), cacheSizeBytes: 2 * 1024 ** 3,
    deviceId: 'share-test', log: () => undefined, commitDelayMs: 50,
  });
  const write = async (path: string, data: Uint8Array): Promise<void> => {
    const fh = await vfs.create(path, 0o644, constants.O_WRONLY | constants.O_TRUNC);
    for (let at = 0; at < data.length; at += 1 << 20) await vfs.write(fh, data.subarray(at, at + (1 << 20)), at);
    await vfs.flush(fh);
    await vfs.release(fh);
  };
  const copy = async (from: string, to: string): Promise<void> => {
    for (const e of await readdir(from, { withFileTypes: true })) {
      const target = to === '/' ? `/${e.name}` : `${to}/${e.name}`;
      if (e.isDirectory()) { await vfs.mkdir(target, 0o755); await copy(join(from, e.name), target); }
      else if (e.isFile()) await write(target, await readFile(join(from, e.name)));
    }
  };
  return {
    vfs, keys, write,
    async copyIn(from, at = '/') { await copy(from, at); await vfs.sync(); },
    async close() { await vfs.close(); await rm(dir, { recursive: true, force: true }); },
  };
}
