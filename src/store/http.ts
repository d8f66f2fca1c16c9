// HttpStore: a Store over the `megafs serve` API (docs/protocol.md). Idempotent requests
// are retried with backoff; the root compare-and-swap never is (its outcome after a lost
// reply is unknown: the caller re-reads the root). A full object read is checked against
// its id, so a server serving wrong bytes is caught here (E_INTEGRITY).
import { FormatError, IntegrityError, StoreError } from '../errors.js';
import { bodyMatches } from './body-hash.js';
import { checkId } from './fs-objects.js';
import { bearer, createHttpClient, type HttpClient, type HttpClientOptions, type HttpRequest, type HttpResponse, type HttpStoreError } from './http-client.js';
import { isObjectId, type ByteRange, type CasResult, type ObjectId, type ObjectInfo, type RootRecord, type Store, type StoreUsage } from './store.js';

export interface HttpStoreOptions extends HttpClientOptions {
  user: string;
  /** 32 bytes derived from the password elsewhere; only transported here. */
  authSecret: Uint8Array;
  /** Ids per list request (server maximum 1000). */
  listPageSize?: number;
  /** Check whole-object reads against their id (default true). A wrapper that checks
   *  itself (ReplicatedStore) may turn it off to save a SHA-256 per read (~2 ms/MiB). */
  verifyReads?: boolean;
}

const statusOf = (e: unknown): number | undefined => (e as HttpStoreError).status;
const unquote = (etag: string | string[] | undefined): string => String(etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');

export class HttpStore implements Store {
  readonly name: string;
  private readonly client: HttpClient;
  private readonly auth: string;
  private readonly pageSize: number;
  private readonly verifyReads: boolean;

  constructor(o: HttpStoreOptions) {
    this.name = `http:${o.url} (${o.user})`;
    this.client = createHttpClient(o);
    this.auth = bearer(o.user, o.authSecret);
    this.pageSize = o.listPageSize ?? 1000;
    this.verifyReads = o.verifyReads ?? true;
  }

  private async call(r: HttpRequest, what: string): Promise<HttpResponse> {
    return this.client.request({ ...r, headers: { authorization: this.auth, ...r.headers } }, what);
  }

  async put(id: ObjectId, body: Uint8Array): Promise<void> {
    checkId(id);
    await this.call({ method: 'PUT', path: `v1/objects/${id}`, body }, 'put object');
  }

  async get(id: ObjectId, range?: ByteRange): Promise<Uint8Array> {
    checkId(id);
    if (range && range.length <= 0) {
      if (!(await this.has(id))) throw new StoreError('E_NOT_FOUND', 'get object: object not found');
      return new Uint8Array(0);
    }
    const headers = range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : undefined;
    try {
      const { body } = await this.call({ method: 'GET', path: `v1/objects/${id}`, headers }, 'get object');
      const bytes = new Uint8Array(body.buffer, body.byteOffset, body.length);
      if (!range && this.verifyReads && !(await bodyMatches(bytes, id))) throw new IntegrityError('the store returned an object whose hash is not its id');
      return bytes;
    } catch (e) {
      // 416: the range starts at or past the end of the object.
      if (range && statusOf(e) === 416) return new Uint8Array(0);
      throw e;
    }
  }

  async has(id: ObjectId): Promise<boolean> {
    checkId(id);
    try {
      await this.call({ method: 'HEAD', path: `v1/objects/${id}` }, 'check object');
      return true;
    } catch (e) {
      if ((e as StoreError).code === 'E_NOT_FOUND') return false;
      throw e;
    }
  }

  async delete(id: ObjectId): Promise<void> {
    checkId(id);
    await this.call({ method: 'DELETE', path: `v1/objects/${id}` }, 'delete object');
  }

  async *list(): AsyncIterable<ObjectId> {
    let after: string | null = null;
    while (true) {
      const query: Record<string, string> = { limit: String(this.pageSize), ...(after ? { after } : {}) };
      const { body } = await this.call({ method: 'GET', path: 'v1/objects', query }, 'list objects');
      const page = JSON.parse(body.toString('utf8')) as { ids: ObjectId[]; next: ObjectId | null };
      yield* page.ids;
      if (!page.next) return;
      after = page.next;
    }
  }

  /** `GET /v1/objects?detail=1` pages: ids with sizes and the server's mtimes. */
  async *scan(): AsyncIterable<ObjectInfo> {
    let after: string | null = null;
    do {
      const query: Record<string, string> = { detail: '1', limit: String(this.pageSize), ...(after ? { after } : {}) };
      const { body } = await this.call({ method: 'GET', path: 'v1/objects', query }, 'scan objects');
      const page = JSON.parse(body.toString('utf8')) as { objects?: unknown; next?: unknown };
      // A server from before scan ignores `detail` and answers ids only.
      if (!Array.isArray(page.objects)) throw new StoreError('E_VERSION', 'scan objects: this megafs serve does not report object sizes and times (too old)');
      for (const o of page.objects as ObjectInfo[]) {
        if (!isObjectId(o?.id) || !Number.isSafeInteger(o.size) || o.size < 0 || !Number.isFinite(o.mtimeMs)) {
          throw new FormatError('E_FORMAT', 'scan objects: the server sent a malformed entry');
        }
        yield { id: o.id, size: o.size, mtimeMs: o.mtimeMs };
      }
      if (page.next === null) after = null;
      else if (typeof page.next === 'string' && isObjectId(page.next)) after = page.next;
      else throw new FormatError('E_FORMAT', 'scan objects: the server sent a malformed next id');
    } while (after !== null);
  }

  async getRoot(): Promise<RootRecord | null> {
    try {
      const { body, headers } = await this.call({ method: 'GET', path: 'v1/root' }, 'get root');
      return { bytes: new Uint8Array(body.buffer, body.byteOffset, body.length), etag: unquote(headers.etag) };
    } catch (e) {
      if ((e as StoreError).code === 'E_NOT_FOUND') return null;
      throw e;
    }
  }

  async casRoot(expected: string | null, bytes: Uint8Array): Promise<CasResult> {
    const headers: Record<string, string> = expected === null ? { 'if-none-match': '*' } : { 'if-match': `"${expected}"` };
    try {
      const res = await this.call({ method: 'PUT', path: 'v1/root', headers, body: bytes, retry: false }, 'compare-and-swap root');
      return { ok: true, etag: unquote(res.headers.etag) };
    } catch (e) {
      if (statusOf(e) !== 412) throw e;
      return { ok: false, current: await this.getRoot() };
    }
  }

  async getHeader(): Promise<Uint8Array | null> {
    try {
      const { body } = await this.call({ method: 'GET', path: 'v1/header' }, 'get header');
      return new Uint8Array(body.buffer, body.byteOffset, body.length);
    } catch (e) {
      if ((e as StoreError).code === 'E_NOT_FOUND') return null;
      throw e;
    }
  }

  async putHeader(bytes: Uint8Array): Promise<void> {
    await this.call({ method: 'PUT', path: 'v1/header', body: bytes }, 'put header');
  }

  async usage(): Promise<StoreUsage> {
    const { body } = await this.call({ method: 'GET', path: 'v1/usage' }, 'usage');
    return JSON.parse(body.toString('utf8')) as StoreUsage;
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
