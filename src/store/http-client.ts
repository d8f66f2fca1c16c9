// The got client that HttpStore and the account helpers share: keep-alive agents,
// timeouts, retries with exponential backoff for idempotent requests only, and the one
// translation of HTTP failures into StoreError codes (the inverse of src/server/respond.ts).
// A server that does not answer is E_UNAVAILABLE: the data is not lost, only out of reach.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { got, HTTPError, RequestError, type Got } from 'got';
import { StoreError, type ErrorCode } from '../errors.js';

export interface HttpClientOptions {
  /** Server base URL, e.g. "https://store.example:8443". */
  url: string;
  /** Extra CA certificates (PEM) to trust, e.g. a self-signed server's. */
  ca?: string | Buffer;
  /** Timeout in ms to connect and to wait for the answer's first byte. Default 30 000. */
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

export interface HttpClient {
  got: Got;
  close(): void;
}

export function createHttpClient(o: HttpClientOptions): HttpClient {
  const agentOpts = { keepAlive: true, maxSockets: o.maxSockets ?? 32 };
  const agents = { http: new HttpAgent(agentOpts), https: new HttpsAgent(agentOpts) };
  const timeoutMs = o.timeoutMs ?? 30_000;
  const baseMs = o.retryBaseMs ?? 100;
  const instance = got.extend({
    prefixUrl: o.url.replace(/\/+$/, ''),
    agent: agents,
    https: o.ca ? { certificateAuthority: o.ca } : {},
    timeout: { connect: timeoutMs, secureConnect: timeoutMs, send: o.sendTimeoutMs ?? 300_000, response: timeoutMs },
    responseType: 'buffer',
    decompress: false, // objects are ciphertext: nothing to gain, CPU to lose
    retry: {
      limit: o.retries ?? 5,
      // POST is never retried; PUT /v1/root (compare-and-swap) turns retries off itself.
      methods: ['GET', 'HEAD', 'PUT', 'DELETE'],
      statusCodes: [408, 429, 500, 502, 503, 504],
      maxRetryAfter: 10_000,
      calculateDelay: ({ computedValue, attemptCount, error }) => {
        if (computedValue === 0) return 0;
        if (error.response?.headers['retry-after'] !== undefined) return computedValue;
        return Math.min(5000, baseMs * 2 ** (attemptCount - 1)) + Math.random() * baseMs;
      },
    },
  });
  return {
    got: instance,
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
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

/** Translate what got threw into a StoreError (non-got errors pass through unchanged).
 *  got's error is NOT kept as the cause: it holds the request options, Authorization
 *  header (the auth secret) included, and would print them wherever it is logged. */
export function toStoreError(e: unknown, what: string): unknown {
  if (e instanceof HTTPError) {
    const status = e.response.statusCode;
    let bodyCode: string | undefined;
    let message: string | undefined;
    try {
      const body = JSON.parse(String(e.response.body)) as { error?: { code?: string; message?: string } };
      bodyCode = body.error?.code;
      message = body.error?.message;
    } catch {
      // not a megafs error body (a proxy's page): go by the status
    }
    const code: ErrorCode =
      bodyCode && PASS_THROUGH.has(bodyCode) ? (bodyCode as ErrorCode) : CODE_FOR_STATUS[status] ?? (status >= 500 ? 'E_UNAVAILABLE' : 'E_INTERNAL');
    return Object.assign(new StoreError(code, `${what}: ${message ?? `HTTP ${status}`}`), { status });
  }
  if (e instanceof RequestError) {
    return new StoreError('E_UNAVAILABLE', `${what}: store unreachable (${e.code}: ${e.message.split('\n')[0]})`);
  }
  return e;
}

/** The Authorization header value for `user` and its 32-byte auth secret. */
export function bearer(user: string, authSecret: Uint8Array): string {
  return `Bearer ${Buffer.from(user, 'utf8').toString('base64url')}.${Buffer.from(authSecret).toString('base64url')}`;
}
