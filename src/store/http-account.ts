// Account steps against a `megafs serve` before an HttpStore exists: the KDF parameters
// (public, fetched before login), signup (init) and login (fetch the drive header with
// the auth secret). The auth secret is derived from the password elsewhere; we only send it.
import { StoreError } from '../errors.js';
import { validateKdfParams, type KdfParams } from '../format/header.js';
import { bearer, createHttpClient, type HttpClient, type HttpClientOptions } from './http-client.js';

/** Connection options other than the URL (a CA for self-signed servers, timeouts). */
export type AccountOptions = Omit<HttpClientOptions, 'url'>;

async function request<T>(url: string, o: AccountOptions, run: (c: HttpClient) => Promise<T>): Promise<T> {
  const client = createHttpClient({ ...o, url });
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

/** The KDF parameters of `user` (an unknown user gets stable fake ones: the server does
 *  not say whether a name exists). Bounded by validateKdfParams against a hostile server. */
export async function fetchKdfParams(url: string, user: string, o: AccountOptions = {}): Promise<KdfParams> {
  const body = await request(url, o, async (c) =>
    (await c.request({ method: 'GET', path: 'v1/kdf', query: { user } }, 'fetch KDF parameters')).body,
  );
  const kdf = (JSON.parse(body.toString('utf8')) as { kdf?: unknown }).kdf;
  validateKdfParams(kdf);
  return kdf;
}

/** Create the account; E_CONFLICT when the name is taken. `header` is the drive header. */
export async function signup(url: string, user: string, authSecret: Uint8Array, header: Uint8Array | null, o: AccountOptions = {}): Promise<void> {
  if (authSecret.length !== 32) throw new StoreError('E_USAGE', 'the auth secret must be 32 bytes');
  const json = {
    user,
    authSecret: Buffer.from(authSecret).toString('base64url'),
    ...(header ? { header: Buffer.from(header).toString('base64') } : {}),
  };
  const body = new Uint8Array(Buffer.from(JSON.stringify(json)));
  await request(url, o, (c) =>
    c.request({ method: 'POST', path: 'v1/signup', headers: { 'content-type': 'application/json' }, body }, 'sign up'),
  );
}

/** Check the credentials and fetch the drive header. E_AUTH on a wrong user or password,
 *  E_NO_DRIVE when the account holds no header yet. */
export async function login(url: string, user: string, authSecret: Uint8Array, o: AccountOptions = {}): Promise<Uint8Array> {
  try {
    const body = await request(url, o, async (c) =>
      (await c.request({ method: 'GET', path: 'v1/header', headers: { authorization: bearer(user, authSecret) } }, 'log in')).body,
    );
    return new Uint8Array(body.buffer, body.byteOffset, body.length);
  } catch (e) {
    if ((e as StoreError).code === 'E_NOT_FOUND') throw new StoreError('E_NO_DRIVE', 'the account holds no drive yet');
    throw e;
  }
}
