// The operator's API key: `megafs serve --admin-token-file F` reads a token; requests
// carry `Authorization: Bearer <token>`; the server keeps only its sha256 and compares in
// constant time. Failures count against the IP in the login throttle.
import { createHash, timingSafeEqual } from 'node:crypto';
import { StoreError } from '../../errors.js';
import type { Throttle } from '../auth.js';
import type { Ctx } from '../router.js';

export function hashAdminToken(token: string): Buffer {
  return createHash('sha256').update(token.trim()).digest();
}

export function checkAdmin(ctx: Ctx, tokenHash: Buffer | null, throttle: Throttle): void {
  if (tokenHash === null) throw new StoreError('E_FORBIDDEN', 'this server has no admin token (megafs serve --admin-token-file)');
  const key = [`admin:${ctx.ip}`];
  if (throttle.waitMs(key) > 0) throw new StoreError('E_RATE_LIMIT', 'too many failed attempts; try again later');
  const m = /^Bearer (\S+)$/.exec(ctx.req.headers.authorization ?? '');
  if (!m || !timingSafeEqual(hashAdminToken(m[1]), tokenHash)) {
    throttle.fail(key);
    throw new StoreError('E_AUTH', 'wrong or missing admin token');
  }
}
