// The share routes (docs/protocol.md "Shares"): the owner creates, lists and revokes
// shares; anyone with an id fetches its sealed manifest and the objects it lists; the
// operator takes shares down. The server never sees a link secret: it lives in the URL
// fragment, which browsers and `megafs get` never send.
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { StoreError } from '../../errors.js';
import { isObjectId } from '../../store/store.js';
import { addressKey, rateLimited, Throttle } from '../auth.js';
import { decodeBase64Field, optionalIntegerField, readJsonObject, stringArrayField, stringField } from '../body.js';
import { requireAccount, type ApiDeps } from '../context.js';
import { sendJson } from '../respond.js';
import type { Ctx, Router } from '../router.js';
import { checkAdmin } from './admin.js';
import { SHARE_ID_RE, ShareDb, type ShareRow } from './db.js';
import { requireLive, ShareUnavailable, STATUS_FOR_STATE } from './errors.js';
import { parseRange } from './range.js';
import { registerWebRoutes } from './web.js';

export interface ShareDeps extends ApiDeps {
  /** The server's data directory: shares live in DIR/accounts.db beside the accounts. */
  dataDir: string;
  /** sha256 of the admin token (`megafs serve --admin-token-file F`), or null: no admin API. */
  adminTokenHash: Buffer | null;
}

/** Largest create request: a manifest up to 16 MiB, base64, plus its object list. */
const CREATE_LIMIT_BYTES = 48 << 20;
const ID = '([A-Za-z0-9_-]{1,64})';

/** Public lookups of ids that do not exist: 30 free, then delays that double (per IP). */
function missThrottle(): Throttle {
  return new Throttle({ freeFailures: 30, baseDelayMs: 1000, maxDelayMs: 10 * 60_000 });
}

export function rowJson(r: ShareRow): Record<string, unknown> {
  return {
    id: r.id, createdMs: r.created_ms, expiresMs: r.expires_ms, revoked: r.revoked_ms !== null,
    takenDown: r.takedown_reason !== null, reason: r.takedown_reason, objectBytes: r.object_bytes,
  };
}

/** Answer a share that cannot be served: JSON with its state (and the take-down reason). */
export function sendUnavailable(res: ServerResponse, e: ShareUnavailable): void {
  sendJson(res, STATUS_FOR_STATE[e.state], { error: { code: e.code, message: e.message, state: e.state, reason: e.reason ?? null } },
    { 'Cache-Control': 'no-store' });
}

export function registerShareRoutes(router: Router, deps: ShareDeps): { shares: ShareDb; close(): void } {
  const shares = new ShareDb(join(deps.dataDir, 'accounts.db'));
  const misses = missThrottle();
  const owner = (ctx: Ctx) => requireAccount(deps, ctx);

  /** The live share `id`, counting unknown ids against the caller's IP. */
  const live = (ctx: Ctx, id: string) => {
    const key = [addressKey(ctx.ip)];
    const waitMs = misses.waitMs(key);
    if (waitMs > 0) throw rateLimited('too many unknown links; try again later', waitMs);
    const s = shares.state(id);
    if (s.state === 'missing') misses.fail(key);
    requireLive(s);
    return s.row;
  };
  /** Run a public handler, answering an unavailable share with its state. */
  const pub = (h: (ctx: Ctx) => Promise<void> | void) => async (ctx: Ctx) => {
    try {
      await h(ctx);
    } catch (e) {
      if (e instanceof ShareUnavailable && !ctx.res.headersSent) sendUnavailable(ctx.res, e);
      else throw e;
    }
  };

  router.add('POST', /^\/v1\/shares$/, async (ctx) => {
    const account = owner(ctx);
    const body = await readJsonObject(ctx, CREATE_LIMIT_BYTES);
    const id = stringField(body, 'id');
    if (!SHARE_ID_RE.test(id)) throw new StoreError('E_USAGE', 'a share id is 16 bytes, base64url');
    const objects = stringArrayField(body, 'objects', isObjectId, 'object ids');
    const expiresMs = optionalIntegerField(body, 'expiresMs');
    const manifest = decodeBase64Field(stringField(body, 'manifest'), 'manifest', 'base64');
    delete body.manifest; // its text may go before the object sizes are looked up
    if (manifest.length === 0 || manifest.length > 16 << 20) throw new StoreError('E_USAGE', 'bad manifest size');
    // The owner may only share objects it holds; their sizes are what the operator sees.
    const backend = await deps.backends(account.id);
    let objectBytes = manifest.length;
    for (const objectId of new Set(objects)) {
      const size = await backend.size(objectId);
      if (size === null) throw new StoreError('E_NOT_FOUND', `object ${objectId.slice(0, 16)}… is not in this account`);
      objectBytes += size;
    }
    shares.create(id, account.id, manifest, objects, objectBytes, expiresMs);
    sendJson(ctx.res, 201, rowJson(shares.row(id)!));
  });

  router.add('GET', /^\/v1\/shares$/, (ctx) => {
    const account = owner(ctx);
    sendJson(ctx.res, 200, { shares: shares.listByAccount(account.id).map(rowJson) });
  });

  router.add('DELETE', new RegExp(`^/v1/shares/${ID}$`), (ctx) => {
    const account = owner(ctx);
    if (!shares.revoke(account.id, ctx.params[0])) throw new StoreError('E_NOT_FOUND', 'no such share in this account');
    ctx.res.writeHead(204).end();
  });

  router.add('GET', new RegExp(`^/v1/s/${ID}/manifest$`), pub((ctx) => {
    live(ctx, ctx.params[0]);
    const bytes = shares.manifest(ctx.params[0]);
    ctx.res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length, 'Cache-Control': 'no-store' });
    ctx.res.end(bytes);
  }));

  router.add('GET', new RegExp(`^/v1/s/${ID}/objects/([0-9a-f]{64})$`), pub(async (ctx) => {
    const [id, objectId] = ctx.params;
    const row = live(ctx, id);
    if (!shares.servesObject(id, objectId)) throw new StoreError('E_NOT_FOUND', 'this link has no such object');
    const backend = await deps.backends(row.account_id);
    const size = await backend.size(objectId);
    if (size === null) throw new StoreError('E_NOT_FOUND', 'object is gone');
    const range = parseRange(ctx.req.headers.range, size);
    if (range === 'unsatisfiable') {
      ctx.res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    const bytes = await backend.get(objectId, range ?? undefined);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length, 'Accept-Ranges': 'bytes',
      // Objects are immutable (named by their hash), but a revoked share must stop at once.
      'Cache-Control': 'private, no-cache',
    };
    if (range) headers['Content-Range'] = `bytes ${range.offset}-${range.offset + bytes.length - 1}/${size}`;
    ctx.res.writeHead(range ? 206 : 200, headers);
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : bytes);
  }));

  router.add('GET', /^\/v1\/admin\/takedowns$/, (ctx) => {
    checkAdmin(ctx, deps.adminTokenHash, deps.loginThrottle);
    sendJson(ctx.res, 200, { takedowns: shares.takedowns().map(rowJson) });
  });
  router.add('PUT', new RegExp(`^/v1/admin/takedowns/${ID}$`), async (ctx) => {
    checkAdmin(ctx, deps.adminTokenHash, deps.loginThrottle);
    const reason = stringField(await readJsonObject(ctx, 64 << 10), 'reason').trim();
    if (reason === '') throw new StoreError('E_USAGE', 'a take-down needs a reason');
    if (!shares.takedown(ctx.params[0], reason)) throw new StoreError('E_NOT_FOUND', 'no such share');
    sendJson(ctx.res, 200, rowJson(shares.row(ctx.params[0])!));
  });
  router.add('DELETE', new RegExp(`^/v1/admin/takedowns/${ID}$`), (ctx) => {
    checkAdmin(ctx, deps.adminTokenHash, deps.loginThrottle);
    if (!shares.restore(ctx.params[0])) throw new StoreError('E_NOT_FOUND', 'no such take-down');
    ctx.res.writeHead(204).end();
  });

  registerWebRoutes(router, shares, pub, live);
  return { shares, close: () => shares.close() };
}

/** The `routes` hook of startServer (src/server/server.ts) that mounts the share routes. */
export function shareRoutes(o: { dataDir: string; adminTokenHash?: Buffer | null }): (router: Router, deps: ApiDeps) => void {
  return (router, deps) => {
    const { shares } = registerShareRoutes(router, { ...deps, dataDir: o.dataDir, adminTokenHash: o.adminTokenHash ?? null });
    deps.objectHeld = (accountId, objectId) => shares.objectInUse(accountId, objectId);
  };
}
