// The HTTP client that HttpStore and the account helpers share, on node:http directly (got's
// stream machinery cost ~4 ms of CPU per MiB read): keep-alive agents, an inactivity
// timeout, retries with exponential backoff for idempotent requests only, and the one
// translation of HTTP failures into StoreError codes (the inverse of src/server/respond.ts).
// A server that does not answer is E_UNAVAILABLE: the data is not lost, only out of reach.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { StoreError, type ErrorCode } from '../errors.js';
import { DirectGetPool, FALLBACK } from './http-get.js';

export interface HttpClientOptions {
  /** Server base URL, e.g. "https://store.example:8443". */
  url: string;
  /** Extra CA certificates (PEM) to trust, e.g. a self-signed server's. */
  ca?: string | Buffer;
  /** Timeout in ms to connect, and of silence while waiting for or reading an answer. Default 30 000. */
  timeoutMs?: number;
  /** Timeout in ms to upload a request body. Default 300 000 (a 16.5 MiB object at 0.5 Mbit/s). */
  sendTimeoutMs?: number;
  /** Retries after the first attempt for idempotent requests. Default 5. */
  retries?: number;
  /** First retry delay in ms, doubling per attempt (capped at 5 s). Default 100. */
  retryBaseMs?: number;
  /** Sockets kept per host. Default 32. */
  maxSockets?: number;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'POST';
  /** Relative to the base URL, e.g. "v1/objects/<id>". */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Retry failures; default true except for POST. PUT /v1/root (compare-and-swap) turns it off. */
  retry?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpClient {
  /** One request; status >= 400 and network failures throw a StoreError (see toStoreError). */
  request(r: HttpRequest, what: string): Promise<HttpResponse>;
  close(): void;
}

/** Statuses worth another try: the server or a proxy was overloaded or restarting. */
const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** A Retry-After longer than this is not waited for: the error goes to the caller. */
const MAX_RETRY_AFTER_MS = 10_000;
/** A declared Content-Length up to this is read into one buffer allocated up front. */
const PREALLOC_MAX_BYTES = 64 * 1024 * 1024;

/** A failed exchange: the status when the server answered, else the network error code. */
class Failure extends Error {
  constructor(readonly status: number | undefined, readonly netCode: string | undefined, readonly res?: HttpResponse) {
    super(status === undefined ? `network error ${netCode}` : `HTTP ${status}`);
  }
}

export function createHttpClient(o: HttpClientOptions): HttpClient {
  const base = new URL(o.url.replace(/\/+$/, ''));
  const tls = base.protocol === 'https:';
  const agentOpts = { keepAlive: true, maxSockets: o.maxSockets ?? 32, ...(tls && o.ca ? { ca: o.ca } : {}) };
  const agent = tls ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
  const send = tls ? httpsRequest : httpRequest;
  const hostname = base.hostname.replace(/^\[|\]$/g, '');
  const port = base.port || (tls ? 443 : 80);
  const basePath = base.pathname.replace(/\/+$/, '');
  const timeoutMs = o.timeoutMs ?? 30_000;
  const sendTimeoutMs = o.sendTimeoutMs ?? 300_000;
  const retries = o.retries ?? 5;
  const baseMs = o.retryBaseMs ?? 100;
  const maxSockets = o.maxSockets ?? 32;
  // Plain-HTTP GETs (the object reads) skip node:http: see http-get.ts.
  const direct = tls ? null : new DirectGetPool(hostname, Number(port), base.host, maxSockets, timeoutMs);
  const pathOf = (r: HttpRequest): string => `${basePath}/${r.path}${r.query ? `?${new URLSearchParams(r.query).toString()}` : ''}`;

  const onceDirect = async (d: DirectGetPool, r: HttpRequest): Promise<HttpResponse> => {
    let res;
    try {
      res = await d.get(pathOf(r), r.headers ?? {});
    } catch (e) {
      if (e === FALLBACK) return once(r);
      throw new Failure(undefined, (e as NodeJS.ErrnoException).code ?? 'ECONNRESET');
    }
    const out = { status: res.status, headers: res.headers as IncomingHttpHeaders, body: res.body };
    if (out.status >= 400) throw new Failure(out.status, undefined, out);
    return out;
  };

  const once = (r: HttpRequest): Promise<HttpResponse> => new Promise((resolve, reject) => {
    const path = pathOf(r);
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body) headers['content-length'] = r.body.length;
    const req = send({ hostname, port, path, method: r.method, agent, headers });
    let sendTimer: NodeJS.Timeout | undefined;
    const fail = (netCode: string): void => {
      clearTimeout(sendTimer);
      reject(new Failure(undefined, netCode));
    };
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? 'ERROR'));
    req.on('response', (res: IncomingMessage) => {
      clearTimeout(sendTimer);
      readBody(res, r.method === 'HEAD').then((body) => {
        const out = { status: res.statusCode ?? 0, headers: res.headers, body };
        if (out.status >= 400) reject(new Failure(out.status, undefined, out));
        else resolve(out);
      }, (e: NodeJS.ErrnoException) => fail(e.code ?? 'ECONNRESET'));
    });
    if (r.body && r.body.length > 0) {
      sendTimer = setTimeout(() => req.destroy(Object.assign(new Error('send timeout'), { code: 'ETIMEDOUT' })), sendTimeoutMs);
      req.once('finish', () => clearTimeout(sendTimer));
      req.end(r.body);
    } else {
      req.end();
    }
  });

  let closed = false;
  return {
    async request(r, what) {
      const limit = (r.retry ?? r.method !== 'POST') ? retries : 0;
      for (let attempt = 1; ; attempt++) {
        try {
          return await (direct && r.method === 'GET' ? onceDirect(direct, r) : once(r));
        } catch (e) {
          const f = e as Failure;
          if (attempt > limit || closed || (f.status !== undefined && !RETRY_STATUS.has(f.status))) throw toStoreError(f, what);
          const retryAfter = f.res?.headers['retry-after'];
          let delayMs = Math.min(5000, baseMs * 2 ** (attempt - 1)) + Math.random() * baseMs;
          if (retryAfter !== undefined) {
            const s = Number(retryAfter);
            delayMs = Number.isFinite(s) ? s * 1000 : Math.max(0, Date.parse(retryAfter) - Date.now());
            if (!(delayMs <= MAX_RETRY_AFTER_MS)) throw toStoreError(f, what);
          }
          await new Promise((res) => setTimeout(res, delayMs));
        }
      }
    },
    close: () => {
      closed = true;
      agent.destroy();
      direct?.close();
    },
  };
}

/** The whole body. With a Content-Length it is copied into one buffer allocated up front
 *  (no concat of a list of 64 KiB chunks); a short or long body is an error. */
function readBody(res: IncomingMessage, headOnly: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (headOnly) {
      res.resume();
      res.once('end', () => resolve(Buffer.alloc(0)));
      res.once('error', reject);
      return;
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    const sized = Number.isSafeInteger(declared) && declared >= 0 && declared <= PREALLOC_MAX_BYTES;
    const buf = sized ? Buffer.allocUnsafe(declared) : null;
    const chunks: Buffer[] = [];
    let received = 0;
    res.on('data', (c: Buffer) => {
      if (buf) {
        if (received + c.length > buf.length) return void res.destroy(Object.assign(new Error('long body'), { code: 'EPROTO' }));
        c.copy(buf, received);
      } else {
        chunks.push(c);
      }
      received += c.length;
    });
    res.once('error', reject);
    res.once('end', () => {
      if (!res.complete || (buf && received !== buf.length)) return reject(Object.assign(new Error('short body'), { code: 'ECONNRESET' }));
      resolve(buf ?? Buffer.concat(chunks, received));
    });
  });
}

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: 'E_USAGE', 401: 'E_AUTH', 403: 'E_AUTH', 404: 'E_NOT_FOUND', 409: 'E_CONFLICT',
  410: 'E_GONE', 412: 'E_CONFLICT', 413: 'E_TOO_LARGE', 422: 'E_HASH_MISMATCH',
  429: 'E_RATE_LIMIT', 451: 'E_TAKEN_DOWN', 507: 'E_QUOTA',
};

/** Codes a server may name in its error body that we pass on as they are. */
const PASS_THROUGH = new Set<string>(['E_BAD_ID', 'E_FORBIDDEN', 'E_USAGE', 'E_FORMAT', 'E_CONFLICT', 'E_QUOTA', 'E_TOO_LARGE', 'E_HASH_MISMATCH']);

/** A StoreError from an HTTP answer, with its status. */
export type HttpStoreError = StoreError & { status?: number };

/** Translate a failed exchange into a StoreError (anything else passes through unchanged).
 *  Nothing of the request (its Authorization header holds the auth secret) is kept. */
export function toStoreError(e: unknown, what: string): unknown {
  if (!(e instanceof Failure)) return e;
  if (e.status === undefined) return new StoreError('E_UNAVAILABLE', `${what}: store unreachable (${e.netCode})`);
  const status = e.status;
  let bodyCode: string | undefined;
  let message: string | undefined;
  try {
    const body = JSON.parse(String(e.res?.body)) as { error?: { code?: string; message?: string } };
    bodyCode = body.error?.code;
    message = body.error?.message;
  } catch {
    // not a megafs error body (a proxy's page): go by the status
  }
  const code: ErrorCode =
    bodyCode && PASS_THROUGH.has(bodyCode) ? (bodyCode as ErrorCode) : CODE_FOR_STATUS[status] ?? (status >= 500 ? 'E_UNAVAILABLE' : 'E_INTERNAL');
  return Object.assign(new StoreError(code, `${what}: ${message ?? `HTTP ${status}`}`), { status });
}

/** The Authorization header value for `user` and its 32-byte auth secret. */
export function bearer(user: string, authSecret: Uint8Array): string {
  return `Bearer ${Buffer.from(user, 'utf8').toString('base64url')}.${Buffer.from(authSecret).toString('base64url')}`;
}
