// Account steps against a `megafs serve` before an HttpStore exists: the KDF parameters
// (public, fetched before login), signup (init) and login (fetch the drive header with
// the auth secret). The auth secret is derived from the password elsewhere; we only send it.
import { StoreError } from '../errors.js';
import { validateKdfParams, type KdfParams } from '../format/header.js';
import { bearer, createHttpClient, toStoreError, type HttpClientOptions } from './http-client.js';

/** Connection options other than the URL (a CA for self-signed servers, timeouts). */
export type AccountOptions = Omit<HttpClientOptions, 'url'>;

async function request<T>(url: string, o: AccountOptions, what: string, run: (c: ReturnType<typeof createHttpClient>) => Promise<T>): Promise<T> {
  const client = createHttpClient({ ...o, url });
  try {
    return await run(client);
  } catch (e) {
    throw toStoreError(e, what);
  } finally {
    client.close();
  }
}

/** The KDF parameters of `user` (an unknown user gets stable fake ones: the server does
 *  not say whether a name exists). Bounded by validateKdfParams against a hostile server. */
export async function fetchKdfParams(url: string, user: string, o: AccountOptions = {}): Promise<KdfParams> {
  const body = await request(url, o, 'fetch KDF parameters', async (c) =>
    (await c.got('v1/kdf', { searchParams: { user } })).body as unknown as Buffer,
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
  await request(url, o, 'sign up', (c) => c.got.post('v1/signup', { json }));
}

/** Check the credentials and fetch the drive header. E_AUTH on a wrong user or password,
 *  E_NO_DRIVE when the account holds no header yet. */
export async function login(url: string, user: string, authSecret: Uint8Array, o: AccountOptions = {}): Promise<Uint8Array> {
  try {
    const body = await request(url, o, 'log in', async (c) =>
      (await c.got('v1/header', { headers: { authorization: bearer(user, authSecret) } })).body as unknown as Buffer,
    );
    return new Uint8Array(body.buffer, body.byteOffset, body.length);
  } catch (e) {
    if ((e as StoreError).code === 'E_NOT_FOUND') throw new StoreError('E_NO_DRIVE', 'the account holds no drive yet');
    throw e;
  }
}
