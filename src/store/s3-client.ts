// Minimal S3 REST client over got: path-style URLs, SigV4 header auth, keep-alive,
// timeouts, and retries with exponential backoff on network errors and 5xx. Returns
// the raw status/headers/body; the S3 store gives them meaning. Store-down => E_UNAVAILABLE.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { got, RequestError, type Got } from 'got';
import { StoreError } from '../errors.js';
import { encodePath, signS3, uriEncode, type Credentials } from './sigv4.js';

export interface S3ClientOptions {
  /** "http://127.0.0.1:40080" (path-style: bucket goes in the path). */
  endpoint: string;
  region: string;
  credentials: Credentials;
  /** Per-phase timeout in ms (connect, send, response). Default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 4 (backoff 100, 200, 400, 800 ms). */
  retries?: number;
  /** Sockets kept per host. Default 64. */
  maxSockets?: number;
}

export interface S3Request {
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE' | 'POST';
  bucket: string;
  /** Object key, raw (unencoded); omitted for bucket-level requests. */
  key?: string;
  query?: Array<[string, string]>;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Hex SHA-256 of the body when known (lets the server check it); else UNSIGNED-PAYLOAD. */
  payloadHash?: string;
}

export interface S3Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** How many attempts it took (1 = no retry); CAS uses it to detect a lost reply. */
  attempts: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class S3Client {
  readonly endpoint: URL;
  private readonly http: Got;
  private readonly retries: number;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  constructor(private readonly opts: S3ClientOptions) {
    this.endpoint = new URL(opts.endpoint);
    this.retries = opts.retries ?? 4;
    const maxSockets = opts.maxSockets ?? 64;
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets }),
      https: new HttpsAgent({ keepAlive: true, maxSockets }),
    };
    const t = opts.timeoutMs ?? 30_000;
    this.http = got.extend({
      agent: this.agents,
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      decompress: false,
      responseType: 'buffer',
      timeout: { lookup: t, connect: t, secureConnect: t, send: t, response: t },
    });
  }

  /** Send one request, retrying network errors and 5xx with backoff. */
  async send(req: S3Request): Promise<S3Response> {
    const path = `${this.endpoint.pathname.replace(/\/$/, '')}/${req.bucket}${req.key === undefined ? '' : '/' + req.key}`;
    const query = req.query ?? [];
    const qs = query.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
    const url = `${this.endpoint.origin}${encodePath(path)}${qs ? '?' + qs : ''}`;
    let lastError = '';
    for (let attempt = 1; attempt <= this.retries + 1; attempt++) {
      if (attempt > 1) await sleep(100 * 2 ** (attempt - 2) * (0.75 + Math.random() * 0.5));
      // Re-signed per attempt: x-amz-date must stay fresh.
      const headers = signS3(
        { method: req.method, path, query, headers: { ...req.headers, host: this.endpoint.host }, payloadHash: req.payloadHash },
        this.opts.credentials, this.opts.region,
      );
      try {
        const res = await this.http(url, { method: req.method, headers, body: req.body && Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength) });
        const body = res.body as unknown as Buffer; // responseType 'buffer'
        if (res.statusCode >= 500) {
          lastError = `HTTP ${res.statusCode} ${s3ErrorCode(body)}`;
          continue;
        }
        return { status: res.statusCode, headers: res.headers, body, attempts: attempt };
      } catch (e) {
        if (!(e instanceof RequestError)) throw e;
        lastError = e.code ?? e.message;
      }
    }
    throw new StoreError('E_UNAVAILABLE', `S3 ${this.endpoint.host} unavailable: ${req.method} ${lastError}`);
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** The <Code> of an S3 XML error body ("NoSuchKey", "PreconditionFailed"), or "". */
export function s3ErrorCode(body: Buffer): string {
  return /<Code>([^<]*)<\/Code>/.exec(body.toString('utf8'))?.[1] ?? '';
}

/** Throw the StoreError an unexpected S3 status means. */
export function s3Fail(what: string, res: S3Response): never {
  const code = s3ErrorCode(res.body);
  if (res.status === 401 || res.status === 403) throw new StoreError('E_AUTH', `S3 ${what}: ${res.status} ${code}`);
  throw new StoreError('E_INTERNAL', `S3 ${what}: unexpected ${res.status} ${code}`);
}
