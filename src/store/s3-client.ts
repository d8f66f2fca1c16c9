// Minimal S3 REST client over got: path-style URLs, SigV4 header auth, keep-alive,
// timeouts, and retries with exponential backoff on network errors and 5xx. Returns
// the raw status/headers/body; the S3 store gives them meaning. Store-down => E_UNAVAILABLE.
// GETs over plain HTTP (the object reads) go through http-get.ts's sockets, whose reads
// land straight in the body buffer: got's stream and concatenation cost ~2 ms of CPU per
// MiB more. A reply that is not a plain Content-Length body is asked again through got.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { got, RequestError, type Got } from 'got';
import { StoreError } from '../errors.js';
import { DirectGetPool, FALLBACK } from './http-get.js';
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

type Reply = Omit<S3Response, 'attempts'>;

/** A request that got no HTTP answer (refused, reset, timed out): retried. */
class NetFailure extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class S3Client {
  readonly endpoint: URL;
  private readonly http: Got;
  private readonly retries: number;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  private readonly direct: DirectGetPool | null;

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
    const e = this.endpoint;
    this.direct = e.protocol === 'http:'
      ? new DirectGetPool(e.hostname.replace(/^\[|\]$/g, ''), Number(e.port || 80), e.host, maxSockets, t)
      : null;
  }

  /** One request: a GET through the direct sockets when it can, else got. Network
   *  errors are thrown as NetFailure. */
  private async once(url: string, req: S3Request, headers: Record<string, string>): Promise<Reply> {
    if (this.direct && req.method === 'GET' && !req.body) {
      try {
        const rest = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'host')); // the pool sends Host
        return await this.direct.get(url.slice(this.endpoint.origin.length), rest);
      } catch (e) {
        if (e !== FALLBACK) throw new NetFailure((e as NodeJS.ErrnoException).code ?? (e as Error).message);
      }
    }
    try {
      const body = req.body && Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
      const r = await this.http(url, { method: req.method, headers, body });
      return { status: r.statusCode, headers: r.headers, body: r.body as unknown as Buffer }; // responseType 'buffer'
    } catch (e) {
      if (e instanceof RequestError) throw new NetFailure(e.code ?? e.message);
      throw e;
    }
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
        const res = await this.once(url, req, headers);
        if (res.status >= 500) {
          lastError = `HTTP ${res.status} ${s3ErrorCode(res.body)}`;
          continue;
        }
        return { status: res.status, headers: res.headers, body: res.body, attempts: attempt };
      } catch (e) {
        if (!(e instanceof NetFailure)) throw e;
        lastError = e.message;
      }
    }
    throw new StoreError('E_UNAVAILABLE', `S3 ${this.endpoint.host} unavailable: ${req.method} ${lastError}`);
  }

  close(): void {
    this.direct?.close();
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
