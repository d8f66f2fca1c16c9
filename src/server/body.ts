// Request bodies, bounded twice: per request (a declared Content-Length over the route's
// limit is refused before a byte is read; a chunked body is cut off as soon as it passes
// it) and across the server (every body first reserves its bytes from the BodyBudget and
// holds them until its answer is finished). JSON bodies are checked here once: strict
// UTF-8, JSON, an object; the routes then check their fields with the helpers below, so
// every malformed body is a 400 with a stable code (docs/protocol.md "Errors").
import { isUtf8 } from 'node:buffer';
import { StoreError } from '../errors.js';
import type { Ctx } from './router.js';

export interface Body {
  /** The body as it arrived, in chunks (not concatenated: a 1 MiB copy saved per request). */
  chunks: Buffer[];
  length: number;
}

/** A JSON body's budget charge per byte: besides the bytes, their text and the values
 *  parsed from it (a base64 manifest, its decoded bytes and the canonical-form check)
 *  live for a while (measured: a 48 MiB share creation raised the RSS by ~200 MB). */
const JSON_CHARGE_PER_BYTE = 4;

/** Throws E_TOO_LARGE when the declared length is over the limit (nothing read). */
export function checkDeclaredLength(ctx: Pick<Ctx, 'req'>, limitBytes: number): number | null {
  const declared = ctx.req.headers['content-length'];
  if (declared === undefined) return null;
  const n = Number(declared);
  if (!/^\d{1,16}$/.test(declared) || !Number.isSafeInteger(n)) throw new StoreError('E_USAGE', 'bad Content-Length');
  if (n > limitBytes) throw new StoreError('E_TOO_LARGE', `request body over the limit of ${limitBytes} bytes`);
  return n;
}

/** The bytes a body may occupy: its declared length, or the limit for a chunked one. */
function expectedBytes(ctx: Pick<Ctx, 'req'>, limitBytes: number): number {
  const declared = checkDeclaredLength(ctx, limitBytes);
  if (declared !== null) return declared;
  return ctx.req.headers['transfer-encoding'] === undefined ? 0 : limitBytes;
}

/** Read the whole body, after reserving its bytes (times `chargePerByte`) from the
 *  server's budget; they are given back when the answer is finished (or the request fails). */
export async function readBody(ctx: Ctx, limitBytes: number, chargePerByte = 1): Promise<Body> {
  const expected = expectedBytes(ctx, limitBytes);
  const { req, res } = ctx;
  const reservation = await ctx.budget.reserve(expected * chargePerByte, (cancel) => {
    req.once('close', () => cancel(new StoreError('E_USAGE', 'request body cut short')));
  });
  res.once('close', reservation.release);
  try {
    return await receive(ctx, limitBytes);
  } catch (e) {
    reservation.release();
    throw e;
  }
}

function receive({ req }: Ctx, limitBytes: number): Promise<Body> {
  // 'data' events rather than `for await`: the async iterator costs ~1 ms of CPU per MiB.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limitBytes) {
        req.off('data', onData);
        req.pause();
        reject(new StoreError('E_TOO_LARGE', `request body over the limit of ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve({ chunks, length: total }));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new StoreError('E_USAGE', 'request body cut short'));
    });
  });
}

/** The whole body in one buffer. */
export function joined(b: Body): Buffer {
  return b.chunks.length === 1 ? b.chunks[0] : Buffer.concat(b.chunks, b.length);
}

/** A JSON object body: E_FORMAT when it is not strict UTF-8, not JSON, or not an object
 *  (null, a number, a string, an array); E_TOO_LARGE over the limit. */
export async function readJsonObject(ctx: Ctx, limitBytes: number): Promise<Record<string, unknown>> {
  let text: string;
  {
    const bytes = joined(await readBody(ctx, limitBytes, JSON_CHARGE_PER_BYTE));
    // Checked first: toString would turn invalid UTF-8 into U+FFFD without a word.
    if (!isUtf8(bytes)) throw new StoreError('E_FORMAT', 'request body is not valid UTF-8');
    text = bytes.toString('utf8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StoreError('E_FORMAT', 'request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StoreError('E_FORMAT', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

const fieldError = (name: string, what: string): StoreError => new StoreError('E_USAGE', `field '${name}' must be ${what}`);

/** A string field; E_USAGE when missing or not a string. */
export function stringField(o: Record<string, unknown>, name: string): string {
  const v = o[name];
  if (typeof v !== 'string') throw fieldError(name, 'a string');
  return v;
}

/** A string field that may be absent or null (undefined then). */
export function optionalStringField(o: Record<string, unknown>, name: string): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fieldError(name, 'a string');
  return v;
}

/** An integer field that may be absent or null (null then). */
export function optionalIntegerField(o: Record<string, unknown>, name: string): number | null {
  const v = o[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw fieldError(name, 'an integer or null');
  return v;
}

/** An array of strings each passing `ok`. */
export function stringArrayField(o: Record<string, unknown>, name: string, ok: (s: string) => boolean, what: string): string[] {
  const v = o[name];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && ok(s))) throw fieldError(name, `an array of ${what}`);
  return v as string[];
}

/** Decode a base64 (padded) or base64url (unpadded) field strictly: Buffer.from skips
 *  stray characters (white space, anything outside the alphabet) and would decode garbage,
 *  so the decoded length must be the one the text's length promises. Checked by length,
 *  not by a copy or a regular expression over a text of megabytes. */
export function decodeBase64Field(value: string, name: string, alphabet: 'base64' | 'base64url'): Buffer {
  const bytes = Buffer.from(value, alphabet);
  const pad = alphabet === 'base64' ? (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0) : 0;
  const expected = alphabet === 'base64' ? (value.length / 4) * 3 - pad : Math.floor((value.length * 6) / 8);
  const shapeOk = alphabet === 'base64' ? value.length % 4 === 0 : value.length % 4 !== 1;
  if (!shapeOk || bytes.length !== expected) {
    throw fieldError(name, alphabet === 'base64' ? 'base64 (padded)' : 'base64url (unpadded)');
  }
  return bytes;
}
