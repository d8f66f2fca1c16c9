// Share test fixtures: a `megafs serve` with the share routes and an admin token, a user
// with an HttpStore and a ShareApi, and a read-only Vfs over a local directory (the parts
// createShare calls), so share tests do not depend on the full drive.
import { constants } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { hashAdminToken } from '../../src/server/shares/admin.js';
import { shareRoutes } from '../../src/server/shares/routes.js';
import { httpShareApi, type ShareApi } from '../../src/share/api.js';
import { bearer } from '../../src/store/http-client.js';
import type { HttpStore } from '../../src/store/http.js';
import type { Attr, Vfs } from '../../src/vfs/types.js';
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

function toAttr(s: Awaited<ReturnType<typeof stat>>): Attr {
  return {
    ino: Number(s.ino), mode: Number(s.mode), nlink: Number(s.nlink), uid: 0, gid: 0, size: Number(s.size),
    blocks: Number(s.blocks), atimeMs: Number(s.atimeMs), mtimeMs: Number(s.mtimeMs), ctimeMs: Number(s.ctimeMs),
  };
}

/** The read side of a Vfs over `root` (drive path '/a/b' is root/a/b). */
export function dirVfs(root: string): Vfs {
  const handles = new Map<number, FileHandle>();
  let next = 1;
  const real = (p: string) => join(root, p);
  const v: Partial<Vfs> = {
    getattr: async (p) => toAttr(await stat(real(p))),
    readdir: async (p) => Promise.all((await readdir(real(p))).map(async (name) => ({ name, attr: toAttr(await stat(join(real(p), name))) }))),
    open: async (p) => { const fh = next++; handles.set(fh, await open(real(p), constants.O_RDONLY)); return fh; },
    read: async (fh, buf, length, position) => (await handles.get(fh)!.read(buf, 0, length, position)).bytesRead,
    release: async (fh) => { await handles.get(fh)?.close(); handles.delete(fh); },
  };
  return v as Vfs;
}
