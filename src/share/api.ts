// The owner's side of the share routes (docs/protocol.md "Shares"): create, list, revoke,
// authenticated like every other request of the account.
import { MegafsError, StoreError, type ErrorCode } from '../errors.js';
import { toBase64 } from '../format/bytes.js';

export interface ShareRecord {
  id: string;
  createdMs: number;
  expiresMs: number | null;
  revoked: boolean;
  takenDown: boolean;
  reason: string | null;
  /** Ciphertext bytes the share exposes (manifest + objects). */
  objectBytes: number;
}

export interface ShareApi {
  /** The server's public base URL, for links (https://host[:port][/prefix]). */
  readonly origin: string;
  /** E_CONFLICT when the id is taken (never, for 128 random bits). */
  create(id: string, manifest: Uint8Array, objects: string[], expiresMs: number | null): Promise<ShareRecord>;
  list(): Promise<ShareRecord[]>;
  revoke(id: string): Promise<void>;
}

async function check(res: Response): Promise<Response> {
  if (res.ok) return res;
  let e: { code?: string; message?: string } = {};
  try { e = ((await res.json()) as { error?: typeof e }).error ?? {}; } catch { /* not JSON */ }
  throw new StoreError((e.code ?? 'E_UNAVAILABLE') as ErrorCode, `server: ${e.message ?? `HTTP ${res.status}`}`);
}

/** `authorization` is the account's Authorization header value (src/server/auth.ts). */
export function httpShareApi(origin: string, authorization: string): ShareApi {
  const base = origin.replace(/\/+$/, '');
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    try {
      return await check(await fetch(`${base}${path}`, {
        method,
        headers: { Authorization: authorization, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      }));
    } catch (e) {
      if (e instanceof MegafsError) throw e;
      throw new StoreError('E_UNAVAILABLE', `cannot reach ${base}`, { cause: e });
    }
  };
  return {
    origin: base,
    async create(id, manifest, objects, expiresMs) {
      return await (await call('POST', '/v1/shares', { id, manifest: toBase64(manifest), objects, expiresMs })).json() as ShareRecord;
    },
    async list() {
      return ((await (await call('GET', '/v1/shares')).json()) as { shares: ShareRecord[] }).shares;
    },
    async revoke(id) {
      await call('DELETE', `/v1/shares/${encodeURIComponent(id)}`);
    },
  };
}
