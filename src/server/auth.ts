// Request authentication: `Authorization: Bearer <b64url(user)>.<b64url(secret)>` where the
// secret is the 32-byte value the client derives from the password. The server keeps only
// sha256(secret) and compares hashes in constant time; an unknown user is compared against
// a dummy hash so the timing does not tell whether the name exists. Failures are
// throttled per user name and per client IP (docs/protocol.md "Brute force").
import { createHash, timingSafeEqual } from 'node:crypto';
import { StoreError } from '../errors.js';
import type { Account, AccountDb } from './accounts.js';

export const SECRET_BYTES = 32;
const USER_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const DUMMY_HASH = createHash('sha256').update('megafs: no such user').digest();

export function isUserName(name: string): boolean {
  return USER_RE.test(name);
}

export function hashSecret(secret: Uint8Array): Buffer {
  return createHash('sha256').update(secret).digest();
}

export interface Credentials {
  user: string;
  secret: Buffer;
}

/** Parse the Authorization header; null when absent or malformed. */
export function parseAuthorization(header: string | undefined): Credentials | null {
  const m = /^Bearer ([A-Za-z0-9_-]{1,100})\.([A-Za-z0-9_-]{43})$/.exec(header ?? '');
  if (!m) return null;
  const user = Buffer.from(m[1], 'base64url').toString('utf8');
  const secret = Buffer.from(m[2], 'base64url');
  return isUserName(user) && secret.length === SECRET_BYTES ? { user, secret } : null;
}

export interface ThrottleOptions {
  /** Failures allowed before delays start (per user, per IP). Default 5. */
  freeFailures?: number;
  /** First delay in ms; doubles per further failure. Default 1000. */
  baseDelayMs?: number;
  /** Longest delay in ms. Default 15 minutes. */
  maxDelayMs?: number;
}

interface Failures {
  count: number;
  untilMs: number;
}

/** Counts failed logins per key and says how long a key must wait before its next try. */
export class Throttle {
  private readonly failures = new Map<string, Failures>();
  private readonly free: number;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(o: ThrottleOptions = {}) {
    this.free = o.freeFailures ?? 5;
    this.baseMs = o.baseDelayMs ?? 1000;
    this.maxMs = o.maxDelayMs ?? 15 * 60_000;
  }

  /** Milliseconds the caller must still wait (0: go ahead). */
  waitMs(keys: string[], nowMs = Date.now()): number {
    return Math.max(0, ...keys.map((k) => (this.failures.get(k)?.untilMs ?? 0) - nowMs));
  }

  fail(keys: string[], nowMs = Date.now()): void {
    if (this.failures.size > 100_000) this.prune(nowMs);
    for (const k of keys) {
      const f = this.failures.get(k) ?? { count: 0, untilMs: 0 };
      f.count++;
      const over = f.count - this.free;
      if (over >= 0) f.untilMs = nowMs + Math.min(this.maxMs, this.baseMs * 2 ** Math.min(over, 30));
      this.failures.set(k, f);
    }
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private prune(nowMs: number): void {
    for (const [k, f] of this.failures) if (f.untilMs < nowMs) this.failures.delete(k);
  }
}

/** Authorization headers that opened an account in the last few seconds, so a stream of
 *  object requests does not cost a SQLite lookup and a SHA-256 each. Only successes are
 *  kept; an account's secret never changes through the API, and its quota is re-read by
 *  the reservation itself (AccountDb.reserve), so a stale entry is harmless. */
export class AuthCache {
  private readonly entries = new Map<string, { account: Account; untilMs: number }>();

  constructor(private readonly ttlMs = 5000, private readonly maxEntries = 10_000) {}

  get(header: string, nowMs: number): Account | null {
    const e = this.entries.get(header);
    return e && e.untilMs > nowMs ? e.account : null;
  }

  set(header: string, account: Account, nowMs: number): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(header, { account, untilMs: nowMs + this.ttlMs });
  }
}

/** The account the request's credentials open. E_AUTH when missing or wrong (the same
 *  answer for an unknown user and a wrong secret), E_RATE_LIMIT while throttled. */
export function authenticate(db: AccountDb, throttle: Throttle, header: string | undefined, ip: string, cache?: AuthCache): Account {
  const cred = parseAuthorization(header);
  if (!cred) throw new StoreError('E_AUTH', 'missing or malformed credentials');
  const keys = [`u:${cred.user}`, `ip:${ip}`];
  const nowMs = Date.now();
  const waitMs = throttle.waitMs(keys, nowMs);
  if (waitMs > 0) {
    throw Object.assign(new StoreError('E_RATE_LIMIT', 'too many failed attempts; try again later'), {
      retryAfterS: Math.ceil(waitMs / 1000),
    });
  }
  const cached = cache?.get(header!, nowMs);
  if (cached) return cached;
  const account = db.byName(cred.user);
  const ok = timingSafeEqual(hashSecret(cred.secret), account?.secretHash ?? DUMMY_HASH) && account !== null;
  if (!ok) {
    throttle.fail(keys);
    throw new StoreError('E_AUTH', 'authentication failed');
  }
  throttle.succeed(keys[0]);
  cache?.set(header!, account, nowMs);
  return account;
}
