// /v1/objects: content-addressed objects of the authenticated account (docs/protocol.md).
// The account comes from the credentials only, never from the URL, so no request can name
// another account's objects; ids are validated before they reach a backend.
// Usage is exact because a put and a delete of one object of one account never interleave
// (oneAtATime, below): each checks whether the object is there and then writes or deletes
// it, counting its size once. This process is the only writer of the account's objects
// (the data directory's lock, recover.ts).
import { StoreError } from '../errors.js';
import { hashOf } from '../store/body-hash.js';
import { checkId } from '../store/fs-objects.js';
import type { ByteRange, ObjectId } from '../store/store.js';
import { checkDeclaredLength, readBody } from './body.js';
import type { Account } from './accounts.js';
import type { ObjectBackend } from './backend.js';
import { requireAccount, type ApiDeps } from './context.js';
import { sendBytes, sendEmpty, sendJson } from './respond.js';
import type { Ctx, Router } from './router.js';

const OBJECT = /^\/v1\/objects\/([^/]*)$/;

/** Parse `Range: bytes=a-b` or `bytes=a-` (one range only); null when absent. */
export function parseRange(header: string | undefined): { start: number; end: number | null } | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(header.trim());
  if (!m) throw new StoreError('E_USAGE', 'unsupported Range header');
  const start = Number(m[1]);
  const end = m[2] === '' ? null : Number(m[2]);
  if (end !== null && end < start) throw new StoreError('E_USAGE', 'unsupported Range header');
  return { start, end };
}

/** Runs the calls made with one key one after the other, in the order they came. */
type Serializer = <T>(key: string, op: () => Promise<T>) => Promise<T>;

function oneAtATime(): Serializer {
  const tails = new Map<string, Promise<unknown>>();
  return async (key, op) => {
    const run = (tails.get(key) ?? Promise.resolve()).then(op);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

async function putObject(deps: ApiDeps, serial: Serializer, ctx: Ctx): Promise<void> {
  const id = ctx.params[0];
  checkId(id);
  const acct = requireAccount(deps, ctx);
  const declared = checkDeclaredLength(ctx, deps.limits.maxObjectBytes);
  const backend = await deps.backends(acct.id);
  // A body that cannot fit is refused before it is read (an object there costs nothing).
  // Looked at in turn with this id's puts and deletes, or a delete between the two reads
  // would refuse a body that fits; the reservation in storeObject is what holds.
  const key = `${acct.id}/${id}`;
  if (declared !== null && acct.quotaBytes !== null) {
    const quotaBytes = acct.quotaBytes;
    const full = await serial(key, async () =>
      (await backend.size(id)) === null && deps.db.usage(acct.id).usedBytes + declared > quotaBytes);
    if (full) throw new StoreError('E_QUOTA', 'quota exceeded');
  }
  // The body is read even when the object exists, to keep the connection reusable.
  const body = await readBody(ctx, deps.limits.maxObjectBytes);
  // Hashed once the body is in, on the thread pool: the event loop goes on serving.
  if ((await hashOf(body.chunks)) !== id) throw new StoreError('E_HASH_MISMATCH', 'object body does not match its id');
  const created = await serial(key, () => storeObject(deps, acct, backend, id, body));
  sendEmpty(ctx.res, created ? 201 : 200);
}

/** Store a checked body; true when this call created the object. One that is there is
 *  refreshed (its mtime is now: a collector's grace period starts again) and costs
 *  nothing; a new one reserves its bytes first. */
async function storeObject(deps: ApiDeps, acct: Account, backend: ObjectBackend, id: ObjectId, body: { chunks: Uint8Array[]; length: number }): Promise<boolean> {
  if (await backend.refresh(id, body.chunks)) return false;
  if (!deps.db.reserve(acct.id, body.length, 1)) throw new StoreError('E_QUOTA', 'quota exceeded');
  let created = false;
  try {
    created = await backend.putChecked(id, body.chunks);
  } finally {
    if (!created) deps.db.adjust(acct.id, -body.length, -1);
  }
  return created;
}

async function getObject(deps: ApiDeps, ctx: Ctx, headOnly: boolean): Promise<void> {
  const id = ctx.params[0];
  checkId(id);
  const acct = requireAccount(deps, ctx);
  const backend = await deps.backends(acct.id);
  const r = parseRange(ctx.req.headers.range);
  if (!r && !headOnly) {
    // The hot path: one read of the whole object, sent with its headers in one write.
    const whole = await backend.readWhole(id);
    if (whole === null) throw new StoreError('E_NOT_FOUND', 'object not found');
    return sendBytes(ctx.res, 200, whole.body, { 'Accept-Ranges': 'bytes' }, whole.done);
  }
  const size = await backend.size(id);
  if (size === null) throw new StoreError('E_NOT_FOUND', 'object not found');
  if (headOnly || !r) return sendEmpty(ctx.res, 200, { 'Content-Length': size, 'Accept-Ranges': 'bytes' });
  if (r.start >= size) return sendEmpty(ctx.res, 416, { 'Content-Range': `bytes */${size}` });
  const end = Math.min(r.end ?? size - 1, size - 1);
  const range: ByteRange = { offset: r.start, length: end - r.start + 1 };
  const bytes = await backend.get(id, range);
  sendBytes(ctx.res, 206, bytes, { 'Content-Range': `bytes ${r.start}-${r.start + bytes.length - 1}/${size}` });
}

async function deleteObject(deps: ApiDeps, serial: Serializer, ctx: Ctx): Promise<void> {
  const id = ctx.params[0];
  checkId(id);
  const acct = requireAccount(deps, ctx);
  const backend = await deps.backends(acct.id);
  await serial(`${acct.id}/${id}`, async () => {
    if (deps.objectHeld?.(acct.id, id)) throw new StoreError('E_CONFLICT', 'the object is held by a live share link');
    const freed = await backend.delete(id);
    if (freed !== null) deps.db.adjust(acct.id, -freed, -1);
  });
  sendEmpty(ctx.res, 204);
}

/** `?after=ID&limit=N`: a page of ids; with `detail=1` of objects with size and mtime. */
async function listObjects(deps: ApiDeps, ctx: Ctx): Promise<void> {
  const acct = requireAccount(deps, ctx);
  const q = ctx.url.searchParams;
  const after = q.get('after');
  if (after !== null) checkId(after);
  const limitParam = q.get('limit');
  const limit = limitParam === null ? deps.limits.maxListPage : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 1 || limit > deps.limits.maxListPage) {
    throw new StoreError('E_USAGE', `limit must be 1..${deps.limits.maxListPage}`);
  }
  const detail = q.get('detail');
  if (detail !== null && detail !== '0' && detail !== '1') throw new StoreError('E_USAGE', 'detail must be 0 or 1');
  const backend = await deps.backends(acct.id);
  if (detail === '1') return sendJson(ctx.res, 200, await backend.scanPage(after, limit));
  const ids = await backend.listPage(after, limit);
  sendJson(ctx.res, 200, { ids, next: ids.length === limit ? ids[ids.length - 1] : null });
}

export function objectRoutes(router: Router, deps: ApiDeps): void {
  const serial = oneAtATime();
  router
    .add('GET', /^\/v1\/objects$/, (ctx) => listObjects(deps, ctx))
    .add('PUT', OBJECT, (ctx) => putObject(deps, serial, ctx))
    .add('GET', OBJECT, (ctx) => getObject(deps, ctx, false))
    .add('HEAD', OBJECT, (ctx) => getObject(deps, ctx, true))
    .add('DELETE', OBJECT, (ctx) => deleteObject(deps, serial, ctx));
}
