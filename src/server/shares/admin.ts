// The operator's API key: `megafs serve --admin-token-file F` reads a token; requests
// carry `Authorization: Bearer <token>`; the server keeps only its sha256 and compares in
// constant time. Failures count in the login throttle, as the account ":admin" (a name no
// user can have) of the client's address.
import { createHash, timingSafeEqual } from 'node:crypto';
import { StoreError } from '../../errors.js';
import { rateLimited, type LoginThrottle } from '../auth.js';
import type { Ctx } from '../router.js';

const ADMIN = ':admin';

export function hashAdminToken(token: string): Buffer {
  return createHash('sha256').update(token.trim()).digest();
}

export function checkAdmin(ctx: Ctx, tokenHash: Buffer | null, throttle: LoginThrottle): void {
  if (tokenHash === null) throw new StoreError('E_FORBIDDEN', 'this server has no admin token (megafs serve --admin-token-file)');
  const waitMs = throttle.waitMs(ctx.ip, ADMIN);
  if (waitMs > 0) throw rateLimited('too many failed attempts from this address; try again later', waitMs);
  const m = /^Bearer (\S+)$/.exec(ctx.req.headers.authorization ?? '');
  if (!m || !timingSafeEqual(hashAdminToken(m[1]), tokenHash)) {
    throttle.fail(ctx.ip, ADMIN);
    throw new StoreError('E_AUTH', 'wrong or missing admin token');
  }
  throttle.succeed(ctx.ip, ADMIN);
}
