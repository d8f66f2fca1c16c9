// Request authentication: `Authorization: Bearer <b64url(user)>.<b64url(secret)>` where the
// secret is the 32-byte value the client derives from the password. The server keeps only
// sha256(secret) and compares hashes in constant time; an unknown user is compared against
// a dummy hash so the timing does not tell whether the name exists. Failures are
// throttled per (client address, user) and per client address, never per user alone
// (docs/protocol.md "Brute force").
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
  /** Failures allowed before delays start (per key). Default 5. */
  freeFailures?: number;
  /** First delay in ms; doubles per further failure. Default 1000. */
  baseDelayMs?: number;
  /** Longest delay in ms. Default 15 minutes. */
  maxDelayMs?: number;
  /** A key with no failure for this long is forgotten (its count starts again). Default 24 h. */
  forgetMs?: number;
}

interface Failures {
  count: number;
  lastMs: number;
  untilMs: number;
}

/** Most keys a Throttle remembers; past it the oldest are dropped (memory stays bounded). */
const MAX_KEYS = 100_000;

/** Counts failures per key and says how long a key must wait before its next try. */
export class Throttle {
  private readonly failures = new Map<string, Failures>();
  private readonly free: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly forgetMs: number;

  constructor(o: ThrottleOptions = {}) {
    this.free = o.freeFailures ?? 5;
    this.baseMs = o.baseDelayMs ?? 1000;
    this.maxMs = o.maxDelayMs ?? 15 * 60_000;
    this.forgetMs = o.forgetMs ?? 24 * 3600_000;
  }

  /** Milliseconds the caller must still wait (0: go ahead). */
  waitMs(keys: string[], nowMs = Date.now()): number {
    return Math.max(0, ...keys.map((k) => (this.failures.get(k)?.untilMs ?? 0) - nowMs));
  }

  fail(keys: string[], nowMs = Date.now()): void {
    if (this.failures.size >= MAX_KEYS) this.prune(nowMs);
    for (const k of keys) {
      let f = this.failures.get(k);
      if (!f || nowMs - f.lastMs > this.forgetMs) f = { count: 0, lastMs: nowMs, untilMs: 0 };
      f.count++;
      f.lastMs = nowMs;
      const over = f.count - this.free;
      if (over >= 0) f.untilMs = nowMs + Math.min(this.maxMs, this.baseMs * 2 ** Math.min(over, 30));
      this.failures.set(k, f);
    }
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  /** Drop forgotten keys; if that is not enough, the oldest half (insertion order). */
  private prune(nowMs: number): void {
    for (const [k, f] of this.failures) if (nowMs - f.lastMs > this.forgetMs && f.untilMs < nowMs) this.failures.delete(k);
    if (this.failures.size < MAX_KEYS) return;
    let drop = this.failures.size / 2;
    for (const k of this.failures.keys()) {
      if (drop-- <= 0) break;
      this.failures.delete(k);
    }
  }
}

/** The part of a client address a throttle counts: an IPv4 address (also when written
 *  IPv4-mapped, ::ffff:a.b.c.d), or the /64 prefix of an IPv6 address (one host usually
 *  holds a whole /64, so single addresses would give it 2^64 fresh keys). */
export function addressKey(ip: string): string {
  const bare = ip.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return mapped[1];
  if (!bare.includes(':')) return bare.slice(0, 64);
  const [head, tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface LoginThrottleOptions extends ThrottleOptions {
  /** Failures one address may make over all accounts before its delays start. Default 20. */
  freeFailuresPerAddress?: number;
}

/** Failed logins slow down the guesser, never the owner: failures count per (client
 *  address, account) and per client address, never per account alone, so wrong secrets
 *  sent from elsewhere can never delay the owner's right one. While a key waits, its
 *  requests get E_RATE_LIMIT without a check (a throttled guesser learns nothing). A
 *  success clears its (address, account) key only: logging in to one's own account
 *  between guesses must not reset an address's count. (Guessing from many addresses at
 *  once stays possible; the secret is 32 bytes derived from the password by Argon2id, so
 *  each guess costs the guesser that derivation.) */
export class LoginThrottle {
  private readonly pairs: Throttle;
  private readonly addresses: Throttle;

  constructor(o: LoginThrottleOptions = {}) {
    this.pairs = new Throttle(o);
    this.addresses = new Throttle({ ...o, freeFailures: o.freeFailuresPerAddress ?? 20 });
  }

  /** `account`: a user name, or a name no user can have (":admin") for other secrets. */
  waitMs(ip: string, account: string, nowMs = Date.now()): number {
    const a = addressKey(ip);
    return Math.max(this.pairs.waitMs([`${a} ${account}`], nowMs), this.addresses.waitMs([a], nowMs));
  }

  fail(ip: string, account: string, nowMs = Date.now()): void {
    const a = addressKey(ip);
    this.pairs.fail([`${a} ${account}`], nowMs);
    this.addresses.fail([a], nowMs);
  }

  succeed(ip: string, account: string): void {
    this.pairs.succeed(`${addressKey(ip)} ${account}`);
  }
}

/** The E_RATE_LIMIT error for a wait of `waitMs`, with its Retry-After. */
export function rateLimited(message: string, waitMs: number): StoreError {
  return Object.assign(new StoreError('E_RATE_LIMIT', message), { retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) });
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
 *  answer for an unknown user and a wrong secret), E_RATE_LIMIT while this address (for
 *  this account, or over all accounts) is throttled. */
export function authenticate(db: AccountDb, throttle: LoginThrottle, header: string | undefined, ip: string, cache?: AuthCache): Account {
  const cred = parseAuthorization(header);
  if (!cred) throw new StoreError('E_AUTH', 'missing or malformed credentials');
  const nowMs = Date.now();
  const waitMs = throttle.waitMs(ip, cred.user, nowMs);
  if (waitMs > 0) throw rateLimited('too many failed attempts from this address; try again later', waitMs);
  const cached = cache?.get(header!, nowMs);
  if (cached) return cached;
  const account = db.byName(cred.user);
  const ok = timingSafeEqual(hashSecret(cred.secret), account?.secretHash ?? DUMMY_HASH) && account !== null;
  if (!ok) {
    throttle.fail(ip, cred.user, nowMs);
    throw new StoreError('E_AUTH', 'authentication failed');
  }
  throttle.succeed(ip, cred.user);
  cache?.set(header!, account, nowMs);
  return account;
}
