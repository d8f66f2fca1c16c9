// Account routes (docs/protocol.md): signup, the pre-login KDF parameters, the drive
// header, the root with compare-and-swap, and usage.
import { createHmac } from 'node:crypto';
import { StoreError } from '../errors.js';
import { DEFAULT_KDF } from '../format/constants.js';
import { validateKdfParams, type KdfParams } from '../format/header.js';
import { addressKey, hashSecret, isUserName, rateLimited, SECRET_BYTES } from './auth.js';
import { decodeBase64Field, joined, optionalStringField, readBody, readJsonObject, stringField } from './body.js';
import { requireAccount, type ApiDeps } from './context.js';
import { sendBytes, sendEmpty, sendJson } from './respond.js';
import type { Ctx, Router } from './router.js';

async function signup(deps: ApiDeps, ctx: Ctx): Promise<void> {
  if (!deps.allowSignup) throw new StoreError('E_FORBIDDEN', 'signup is closed on this server');
  const key = [addressKey(ctx.ip)];
  const wait = deps.signupThrottle.waitMs(key);
  if (wait > 0) throw rateLimited('too many signups from this address; try again later', wait);
  const b = await readJsonObject(ctx, deps.limits.maxHeaderBytes * 2);
  const user = stringField(b, 'user');
  if (!isUserName(user)) throw new StoreError('E_USAGE', 'bad user name');
  const secret = decodeBase64Field(stringField(b, 'authSecret'), 'authSecret', 'base64url');
  if (secret.length !== SECRET_BYTES) throw new StoreError('E_USAGE', 'authSecret must be 32 bytes, base64url');
  const headerText = optionalStringField(b, 'header');
  const header = headerText === undefined ? null : decodeBase64Field(headerText, 'header', 'base64');
  if (header && header.length > deps.limits.maxHeaderBytes) throw new StoreError('E_TOO_LARGE', 'header too large');
  deps.signupThrottle.fail(key);
  deps.db.create(user, hashSecret(secret), header, deps.defaultQuotaBytes);
  sendJson(ctx.res, 201, { user });
}

/** KDF parameters of a user, before login. Unknown users (and users without a header)
 *  get default parameters with a salt derived from the server secret and the name, so
 *  the answer is stable and does not reveal whether the name exists. */
function kdf(deps: ApiDeps, ctx: Ctx): void {
  const user = ctx.url.searchParams.get('user') ?? '';
  if (!isUserName(user)) throw new StoreError('E_USAGE', 'bad user name');
  const acct = deps.db.byName(user);
  const real = acct ? kdfOfHeader(deps.db.header(acct.id)) : null;
  const salt = createHmac('sha256', deps.serverSecret).update(`megafs fake kdf salt\0${user}`).digest().subarray(0, 16);
  const params: KdfParams = real ?? { alg: 'argon2id', ...DEFAULT_KDF, salt: salt.toString('base64') };
  sendJson(ctx.res, 200, { kdf: params });
}

function kdfOfHeader(header: Buffer | null): KdfParams | null {
  if (!header) return null;
  try {
    const k = (JSON.parse(header.toString('utf8')) as { kdf?: unknown }).kdf;
    validateKdfParams(k);
    return { alg: k.alg, memKiB: k.memKiB, passes: k.passes, parallelism: k.parallelism, salt: k.salt };
  } catch {
    return null;
  }
}

function getHeader(deps: ApiDeps, ctx: Ctx): void {
  const acct = requireAccount(deps, ctx);
  const header = deps.db.header(acct.id);
  if (!header) throw new StoreError('E_NOT_FOUND', 'no drive header');
  sendBytes(ctx.res, 200, header);
}

async function putHeader(deps: ApiDeps, ctx: Ctx): Promise<void> {
  const acct = requireAccount(deps, ctx);
  deps.db.setHeader(acct.id, joined(await readBody(ctx, deps.limits.maxHeaderBytes)));
  sendEmpty(ctx.res, 204);
}

function getRoot(deps: ApiDeps, ctx: Ctx): void {
  const acct = requireAccount(deps, ctx);
  const root = deps.db.root(acct.id);
  if (!root) throw new StoreError('E_NOT_FOUND', 'no root');
  sendBytes(ctx.res, 200, root.bytes, { ETag: `"${root.version}"` });
}

/** PUT /v1/root with If-Match: "<etag>" or If-None-Match: *; 412 when another write won. */
async function putRoot(deps: ApiDeps, ctx: Ctx): Promise<void> {
  const acct = requireAccount(deps, ctx);
  const ifMatch = ctx.req.headers['if-match'];
  const ifNoneMatch = ctx.req.headers['if-none-match'];
  if ((ifMatch === undefined) === (ifNoneMatch === undefined) || (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*')) {
    return sendJson(ctx.res, 428, { error: { code: 'E_USAGE', message: 'send exactly one of If-Match: "<etag>" or If-None-Match: *' } });
  }
  const bytes = joined(await readBody(ctx, deps.limits.maxObjectBytes));
  const m = /^"(\d{1,15})"$/.exec(ifMatch?.trim() ?? '"0"');
  const expected = m ? Number(m[1]) : -1;
  const version = expected > 0 || ifNoneMatch !== undefined ? deps.db.casRoot(acct.id, expected, bytes) : null;
  if (version === null) return sendJson(ctx.res, 412, { error: { code: 'E_CONFLICT', message: 'the root changed' } });
  sendJson(ctx.res, 200, { etag: String(version) }, { ETag: `"${version}"` });
}

function usage(deps: ApiDeps, ctx: Ctx): void {
  const acct = requireAccount(deps, ctx);
  sendJson(ctx.res, 200, deps.db.usage(acct.id));
}

export function accountRoutes(router: Router, deps: ApiDeps): void {
  router
    .add('POST', /^\/v1\/signup$/, (ctx) => signup(deps, ctx))
    .add('GET', /^\/v1\/kdf$/, (ctx) => kdf(deps, ctx))
    .add('GET', /^\/v1\/header$/, (ctx) => getHeader(deps, ctx))
    .add('PUT', /^\/v1\/header$/, (ctx) => putHeader(deps, ctx))
    .add('GET', /^\/v1\/root$/, (ctx) => getRoot(deps, ctx))
    .add('PUT', /^\/v1\/root$/, (ctx) => putRoot(deps, ctx))
    .add('GET', /^\/v1\/usage$/, (ctx) => usage(deps, ctx));
}
