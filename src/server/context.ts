// What every API handler needs: the account database, the object backends, the login
// throttles and the limits. Built once by startServer.
import type { AccountDb, Account } from './accounts.js';
import { authenticate, type AuthCache, type LoginThrottle, type Throttle } from './auth.js';
import type { BackendFactory } from './backend.js';
import type { Ctx } from './router.js';
import type { Log } from './respond.js';

export interface Limits {
  /** Largest object or root body in bytes (413 above). */
  maxObjectBytes: number;
  /** Largest drive header and signup body in bytes. */
  maxHeaderBytes: number;
  /** Most ids in one list page. */
  maxListPage: number;
}

export interface ApiDeps {
  db: AccountDb;
  /** Set by the share routes: true while a live share of the account names the object
   *  (its DELETE is refused: the link would break). */
  objectHeld?: (accountId: string, objectId: string) => boolean;
  backends: BackendFactory;
  /** Failed logins, per (address, account) and per address. */
  loginThrottle: LoginThrottle;
  /** Signups per IP. */
  signupThrottle: Throttle;
  /** Recently accepted credentials (see AuthCache). */
  authCache?: AuthCache;
  /** 32 random bytes kept in DIR/server.key: keys the fake KDF salts of unknown users. */
  serverSecret: Buffer;
  limits: Limits;
  /** Quota of new accounts in bytes; null: none. */
  defaultQuotaBytes: number | null;
  allowSignup: boolean;
  log: Log;
}

export function requireAccount(deps: ApiDeps, ctx: Ctx): Account {
  return authenticate(deps.db, deps.loginThrottle, ctx.req.headers.authorization, ctx.ip, deps.authCache);
}
