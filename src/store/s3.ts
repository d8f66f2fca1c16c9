// The S3 backend: a drive as objects in any S3-compatible bucket (path-style URLs).
// Layout under PREFIX: objects/<id>, header.json, root. The root's compare-and-swap is
// S3 conditional writes (If-None-Match: * / If-Match: etag); see docs/design.md "S3 backend".
import { createHash, randomBytes } from 'node:crypto';
import { IntegrityError, StoreError } from '../errors.js';
import { bodyMatches, sha256Hex } from './body-hash.js';
import { S3Client, s3ErrorCode, s3Fail, type S3Request, type S3Response } from './s3-client.js';
import type { Credentials } from './sigv4.js';
import { isObjectId, type ByteRange, type CasResult, type ObjectId, type ObjectInfo, type RootRecord, type Store, type StoreUsage } from './store.js';

export interface S3StoreOptions {
  endpoint: string;
  region: string;
  bucket: string;
  /** Key prefix without leading/trailing slash ("" for the bucket root). */
  prefix: string;
  credentials: Credentials;
  /** Create the bucket when missing (init, tests). */
  create?: boolean;
  timeoutMs?: number;
  retries?: number;
  /** ListObjectsV2 max-keys (default: the server's, 1000); small in tests of paging. */
  listPageSize?: number;
}

/** Parse "s3://BUCKET/PREFIX?endpoint=URL&region=R" (credentials come from the environment). */
export function parseS3Spec(spec: string, env: NodeJS.ProcessEnv = process.env): S3StoreOptions {
  const u = new URL(spec);
  if (u.protocol !== 's3:' || !u.hostname) throw new StoreError('E_USAGE', `not an s3://BUCKET/PREFIX spec: ${spec}`);
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new StoreError('E_AUTH', 'S3 store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  const region = u.searchParams.get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const endpoint = u.searchParams.get('endpoint') ?? env.S3_ENDPOINT ?? `https://s3.${region}.amazonaws.com`;
  return {
    endpoint, region, bucket: u.hostname,
    prefix: decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, ''),
    credentials: { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) },
  };
}

/** The root object is NONCE_BYTES random bytes, then the sealed root: S3 ETags are the
 *  MD5 of the body, so the nonce gives every write a new etag (no ABA on equal bytes). */
const NONCE_BYTES = 16;
const unquote = (etag: string): string => etag.replace(/^(W\/)?"|"$/g, '');
const header = (res: S3Response, name: string): string => String(res.headers[name] ?? '');

export class S3Store implements Store {
  readonly name: string;
  private readonly client: S3Client;
  private readonly base: string;
  /** Some servers compare If-Match against the quoted ETag, RGW 16.2 against the bare one;
   *  we start bare and switch once if a matching etag is refused. */
  private quoteIfMatch = false;

  private constructor(private readonly opts: S3StoreOptions) {
    this.client = new S3Client(opts);
    this.base = opts.prefix ? opts.prefix + '/' : '';
    this.name = `s3://${opts.bucket}/${opts.prefix} (${this.client.endpoint.host})`;
  }

  static async open(opts: S3StoreOptions): Promise<S3Store> {
    const store = new S3Store(opts);
    const head = await store.send({ method: 'HEAD', bucket: opts.bucket });
    if (head.status === 404 && opts.create) {
      const made = await store.send({ method: 'PUT', bucket: opts.bucket });
      if (made.status !== 200 && s3ErrorCode(made.body) !== 'BucketAlreadyOwnedByYou') s3Fail('create bucket', made);
    } else if (head.status === 404) {
      store.client.close();
      throw new StoreError('E_NOT_FOUND', `S3 bucket ${opts.bucket} does not exist`);
    } else if (head.status !== 200) {
      store.client.close();
      s3Fail('head bucket', head);
    }
    return store;
  }

  private send(req: S3Request): Promise<S3Response> {
    return this.client.send(req);
  }

  private objectReq(method: S3Request['method'], id: ObjectId, extra: Partial<S3Request> = {}): Promise<S3Response> {
    if (!isObjectId(id)) throw new StoreError('E_BAD_ID', `bad object id: ${JSON.stringify(id).slice(0, 80)}`);
    return this.send({ method, bucket: this.opts.bucket, key: `${this.base}objects/${id}`, ...extra });
  }

  async put(id: ObjectId, body: Uint8Array): Promise<void> {
    if (!isObjectId(id)) throw new StoreError('E_BAD_ID', 'bad object id');
    if (!(await bodyMatches(body, id))) throw new StoreError('E_HASH_MISMATCH', `body does not hash to ${id}`);
    // The id is the body's SHA-256: sign it, so the server checks the bytes it stores too.
    const res = await this.objectReq('PUT', id, { body, payloadHash: id });
    if (res.status !== 200) s3Fail('put object', res);
  }

  async get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> {
    if (range && range.length <= 0) {
      if (!(await this.has(id))) throw new StoreError('E_NOT_FOUND', `object ${id}`);
      return new Uint8Array(0);
    }
    const headers: Record<string, string> = range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {};
    const res = await this.objectReq('GET', id, { headers });
    if (res.status === 200 || res.status === 206) {
      const bytes = new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength);
      // A whole object is checked against its id (a range cannot be): wrong bytes never pass.
      if (res.status === 200 && !range && !(await bodyMatches(bytes, id))) throw new IntegrityError(`S3 served wrong bytes for ${id}`);
      return bytes;
    }
    if (res.status === 404) throw new StoreError('E_NOT_FOUND', `object ${id}`);
    if (res.status === 416) return new Uint8Array(0); // range starts past the end
    s3Fail('get object', res);
  }

  async has(id: ObjectId): Promise<boolean> {
    const res = await this.objectReq('HEAD', id);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    s3Fail('head object', res);
  }

  async delete(id: ObjectId): Promise<void> {
    const res = await this.objectReq('DELETE', id);
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) s3Fail('delete object', res);
  }

  /** The object's size from a HEAD, or null when absent (no body read). */
  async sizeOf(id: ObjectId): Promise<number | null> {
    const res = await this.objectReq('HEAD', id);
    if (res.status === 404) return null;
    if (res.status !== 200) s3Fail('head object', res);
    return Number(header(res, 'content-length'));
  }

  /** ListObjectsV2 pages under PREFIX/objects/, from the first id greater than `after`:
   *  ascending (S3 lists keys in UTF-8 byte order; ids are lowercase hex). The mtime is
   *  LastModified, the time of the last PUT (a repeated PUT of an object refreshes it). */
  async *scanFrom(after: ObjectId | null): AsyncIterable<ObjectInfo> {
    if (after !== null && !isObjectId(after)) throw new StoreError('E_BAD_ID', 'bad object id');
    const prefix = `${this.base}objects/`;
    let token: string | null = null;
    do {
      const query: Array<[string, string]> = [['list-type', '2'], ['prefix', prefix]];
      if (token) query.push(['continuation-token', token]);
      else if (after !== null) query.push(['start-after', prefix + after]);
      if (this.opts.listPageSize) query.push(['max-keys', String(this.opts.listPageSize)]);
      const res = await this.send({ method: 'GET', bucket: this.opts.bucket, query });
      if (res.status !== 200) s3Fail('list objects', res);
      const xml = res.body.toString('utf8');
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = xmlText(/<Key>([^<]*)<\/Key>/.exec(m[1])?.[1]) ?? '';
        const size = Number(/<Size>(\d+)<\/Size>/.exec(m[1])?.[1] ?? 0);
        const mtimeMs = Date.parse(/<LastModified>([^<]*)<\/LastModified>/.exec(m[1])?.[1] ?? '');
        if (!Number.isFinite(mtimeMs)) throw new StoreError('E_FORMAT', 'S3 list: an object without a LastModified time');
        const id = key.startsWith(prefix) ? key.slice(prefix.length) : '';
        if (isObjectId(id)) yield { id, size, mtimeMs };
      }
      const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
      token = truncated ? xmlText(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1]) : null;
      if (truncated && !token) throw new StoreError('E_INTERNAL', 'S3 list: truncated page without a continuation token');
    } while (token);
  }

  scan(): AsyncIterable<ObjectInfo> {
    return this.scanFrom(null);
  }

  async *list(): AsyncIterable<ObjectId> {
    for await (const o of this.scanFrom(null)) yield o.id;
  }

  async getRoot(): Promise<RootRecord | null> {
    const res = await this.send({ method: 'GET', bucket: this.opts.bucket, key: `${this.base}root` });
    if (res.status === 404) return null;
    if (res.status !== 200) s3Fail('get root', res);
    if (res.body.length < NONCE_BYTES) throw new StoreError('E_FORMAT', 'S3 root object shorter than its nonce');
    return { bytes: new Uint8Array(res.body.subarray(NONCE_BYTES)), etag: unquote(header(res, 'etag')) };
  }

  async casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    const body = Buffer.concat([randomBytes(NONCE_BYTES), bytes]);
    const payloadHash = sha256Hex(body);
    const put = (cond: Record<string, string>): Promise<S3Response> =>
      this.send({ method: 'PUT', bucket: this.opts.bucket, key: `${this.base}root`, body, headers: cond, payloadHash });
    const mine = (etag: string): boolean => etag === createHash('md5').update(body).digest('hex');
    const ifMatch = (q: boolean): Record<string, string> => ({ 'if-match': q ? `"${expected}"` : (expected as string) });
    let res = await put(expected === null ? { 'if-none-match': '*' } : ifMatch(this.quoteIfMatch));
    if (res.status === 200) return { ok: true, etag: unquote(header(res, 'etag')) };
    if (res.status !== 412 && res.status !== 404 && res.status !== 409) s3Fail('put root', res);
    let current = await this.getRoot();
    if (current && expected !== null && current.etag === expected) {
      // A matching etag refused: this server wants the other quoting. Switch for good.
      this.quoteIfMatch = !this.quoteIfMatch;
      res = await put(ifMatch(this.quoteIfMatch));
      if (res.status === 200) return { ok: true, etag: unquote(header(res, 'etag')) };
      current = await this.getRoot();
    }
    // A retried PUT whose first attempt landed sees its own write (same nonce): a win.
    if (res.attempts > 1 && current && mine(current.etag)) return { ok: true, etag: current.etag };
    return { ok: false, current };
  }

  async getHeader(): Promise<Uint8Array | null> {
    const res = await this.send({ method: 'GET', bucket: this.opts.bucket, key: `${this.base}header.json` });
    if (res.status === 404) return null;
    if (res.status !== 200) s3Fail('get header', res);
    return new Uint8Array(res.body);
  }

  async putHeader(bytes: Uint8Array): Promise<void> {
    const res = await this.send({ method: 'PUT', bucket: this.opts.bucket, key: `${this.base}header.json`, body: bytes,
      payloadHash: sha256Hex(bytes) });
    if (res.status !== 200) s3Fail('put header', res);
  }

  async usage(): Promise<StoreUsage> {
    let usedBytes = 0;
    let objectCount = 0;
    for await (const { size } of this.scanFrom(null)) {
      usedBytes += size;
      objectCount++;
    }
    return { usedBytes, objectCount, quotaBytes: null };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

function xmlText(s: string | undefined): string | null {
  if (s === undefined) return null;
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
