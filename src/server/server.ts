// `megafs serve`: the ciphertext-only store server. Holds accounts (SQLite) and objects
// (a directory per account, or S3 through a BackendFactory); it never sees a key and
// imports nothing from src/crypto or src/vfs. Limits: body size, body bytes in memory,
// concurrent requests, header and request timeouts (docs/protocol.md "Limits"). Before it
// listens it locks the data directory, removes interrupted temp files and recounts usage
// (src/server/recover.ts).
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { StoreError } from '../errors.js';
import { MAX_PAYLOAD_BYTES, LENGTH_PREFIX_BYTES, OBJECT_HEADER_BYTES, TAG_BYTES } from '../format/constants.js';
import { padme } from '../format/padding.js';
import { AccountDb } from './accounts.js';
import { accountRoutes } from './api-account.js';
import { objectRoutes } from './api-objects.js';
import { AuthCache, LoginThrottle, Throttle, type LoginThrottleOptions } from './auth.js';
import { fsBackends, type BackendFactory } from './backend.js';
import { BodyBudget } from './body-budget.js';
import type { ApiDeps } from './context.js';
import { sendError, sendJson, unreadBody, type Log } from './respond.js';
import { recoverAccounts, lockDataDir } from './recover.js';
import { Router } from './router.js';

/** The largest sealed object the format produces: a padded 16 MiB payload (16.5 MiB). */
export const DEFAULT_MAX_OBJECT_BYTES = padme(MAX_PAYLOAD_BYTES + LENGTH_PREFIX_BYTES) + OBJECT_HEADER_BYTES + TAG_BYTES;

/** Default budget of request-body bytes in memory at once (BodyBudget). */
export const DEFAULT_BODY_BUDGET_BYTES = 256 * 1024 * 1024;

export interface ServerOptions {
  /** Data directory: accounts.db, server.key, accounts/<id>/objects. */
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port (tests). */
  port?: number;
  /** Quota of new accounts in bytes; default none. */
  quotaBytes?: number | null;
  maxObjectBytes?: number;
  /** Requests handled at once; more get 503 + Retry-After. Default 64. */
  maxConcurrent?: number;
  /** Request-body bytes held in memory at once over all requests (docs/protocol.md
   *  "Limits"); a body that does not fit waits. Default 256 MiB. */
  bodyBudgetBytes?: number;
  /** How long a body waits for the budget before 503 + Retry-After. Default 10 s (under
   *  the client's 30 s of silence, after which it would give up on its own). */
  bodyWaitMs?: number;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Object backends per account; default: directories under dataDir. */
  backends?: BackendFactory;
  loginThrottle?: LoginThrottleOptions;
  allowSignup?: boolean;
  /** The URL clients use (behind a proxy); default: the listening address. */
  publicUrl?: string;
  /** Behind a reverse proxy: take the client address (for throttling) from the last
   *  X-Forwarded-For entry, which the proxy appends. Never set it without a proxy. */
  trustProxy?: boolean;
  /** Add more routes (share links, the web page) to the router. */
  routes?: (router: Router, deps: ApiDeps) => void;
  log?: Log;
}

export interface RunningServer {
  url: string;
  /** Stop accepting, let requests in flight finish for up to `drainMs` (default 5000;
   *  0 drops them at once, as a crash would), then drop every connection. */
  close(opts?: { drainMs?: number }): Promise<void>;
}

async function serverSecret(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, 'server.key');
  try {
    const fh = await open(path, 'wx', 0o600);
    const secret = randomBytes(32);
    await fh.writeFile(secret);
    await fh.sync();
    await fh.close();
    return secret;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const secret = await readFile(path);
    if (secret.length !== 32) throw new StoreError('E_FORMAT', `${path} is not a 32-byte key`);
    return secret;
  }
}

/** The request target as a URL; E_USAGE for one that does not parse (an absolute-form
 *  target with a broken host, say), which would otherwise throw a TypeError (500). */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw new StoreError('E_USAGE', 'bad request target');
  }
}

function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',').pop()?.trim() : '';
  return forwarded || (req.socket.remoteAddress ?? '');
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const dataDir = resolve(opts.dataDir);
  await mkdir(join(dataDir, 'accounts'), { recursive: true, mode: 0o700 });
  const log = opts.log ?? ((line: string) => process.stderr.write(`megafs serve: ${line}\n`));
  const lock = lockDataDir(dataDir);
  let db: AccountDb | null = null;
  try {
    db = new AccountDb(join(dataDir, 'accounts.db'));
    if (!opts.backends) {
      const r = await recoverAccounts(dataDir, db);
      log(`start-up check: ${r.accounts} accounts, ${r.objects} objects, ${r.tempsRemoved} interrupted temp files removed, ` +
        `usage corrected for ${r.corrected} accounts (${r.ms} ms)`);
    }
    return await listen(opts, dataDir, db, lock, log);
  } catch (e) {
    db?.close();
    lock.release();
    throw e;
  }
}

/** Build the routes and the HTTP server on an open, checked data directory. */
async function listen(opts: ServerOptions, dataDir: string, db: AccountDb, lock: { release(): void }, log: Log): Promise<RunningServer> {
  const deps: ApiDeps = {
    db,
    backends: opts.backends ?? fsBackends(dataDir),
    loginThrottle: new LoginThrottle(opts.loginThrottle),
    signupThrottle: new Throttle({ freeFailures: 20, baseDelayMs: 10_000 }),
    authCache: new AuthCache(),
    serverSecret: await serverSecret(dataDir),
    limits: { maxObjectBytes: opts.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES, maxHeaderBytes: 64 * 1024, maxListPage: 1000 },
    defaultQuotaBytes: opts.quotaBytes ?? null,
    allowSignup: opts.allowSignup ?? true,
    log,
  };
  const router = new Router();
  accountRoutes(router, deps);
  objectRoutes(router, deps);
  opts.routes?.(router, deps);

  const maxConcurrent = opts.maxConcurrent ?? 64;
  const budget = new BodyBudget(opts.bodyBudgetBytes ?? DEFAULT_BODY_BUDGET_BYTES, opts.bodyWaitMs ?? 10_000);
  let active = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      if (active >= maxConcurrent) {
        throw Object.assign(new StoreError('E_UNAVAILABLE', 'server busy'), { retryAfterS: 1 });
      }
      active++;
      try {
        const url = requestUrl(req);
        const match = router.match(req.method ?? 'GET', url.pathname);
        if (match === null) throw new StoreError('E_NOT_FOUND', 'no such endpoint');
        if ('allowed' in match) {
          return sendJson(res, 405, { error: { code: 'E_USAGE', message: 'method not allowed' } }, {
            Allow: match.allowed.join(', '),
            ...(unreadBody(req) ? { Connection: 'close' } : {}),
          });
        }
        await match.handler({ req, res, url, params: match.params, ip: clientIp(req, opts.trustProxy ?? false), budget });
      } finally {
        active--;
      }
    } catch (err) {
      sendError(req, res, err, log);
    }
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
  const server: Server = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener)
    : createHttpServer(listener);
  server.headersTimeout = 15_000;
  server.requestTimeout = 300_000; // a whole request: a 16.5 MiB body at 0.5 Mbit/s
  server.keepAliveTimeout = 30_000;
  server.maxHeadersCount = 64;
  server.maxConnections = 1024;

  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => res());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = opts.publicUrl ?? `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;
  return {
    url,
    close: async ({ drainMs = 5000 } = {}) => {
      const closed = new Promise<void>((res) => server.close(() => res()));
      server.closeIdleConnections();
      for (const until = Date.now() + drainMs; active > 0 && Date.now() < until; ) {
        await new Promise((res) => setTimeout(res, 20));
      }
      server.closeAllConnections();
      await closed;
      db.close();
      lock.release();
    },
  };
}
