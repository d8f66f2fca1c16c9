// AWS Signature Version 4 (header auth) for the S3 client: canonical request, string to
// sign, derived key, Authorization header. Checked against AWS's published SigV4 test
// suite (test/vectors/sigv4.json). S3 rule: the path is URI-encoded once, never twice.
import { createHash, createHmac } from 'node:crypto';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** STS session token (AWS_SESSION_TOKEN), sent as x-amz-security-token. */
  sessionToken?: string;
}

export interface SignableRequest {
  method: string;
  /** Raw, unencoded path ("/bucket/a b"); encoded here once per segment. */
  path: string;
  /** Raw, unencoded query pairs in any order. */
  query: ReadonlyArray<readonly [string, string]>;
  /** Every header here is signed; must include `host`. Names in any case. */
  headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body, or 'UNSIGNED-PAYLOAD'. */
  payloadHash: string;
}

export interface Scope {
  region: string;
  service: string;
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** RFC 3986 encoding as SigV4 wants it: only A-Z a-z 0-9 - . _ ~ stay literal. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** The path as sent on the wire and as signed: each segment encoded, slashes kept. */
export function encodePath(path: string): string {
  return path.split('/').map(uriEncode).join('/');
}

export function canonicalQuery(query: SignableRequest['query']): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Lowercased, sorted header names and their trimmed, space-collapsed values. */
function canonicalHeaders(headers: SignableRequest['headers']): { text: string; signed: string } {
  const rows = Object.entries(headers)
    .map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, ' ')] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    text: rows.map(([k, v]) => `${k}:${v}\n`).join(''),
    signed: rows.map(([k]) => k).join(';'),
  };
}

export function canonicalRequest(req: SignableRequest): { text: string; signedHeaders: string } {
  const h = canonicalHeaders(req.headers);
  const text = [req.method, encodePath(req.path), canonicalQuery(req.query), h.text, h.signed, req.payloadHash].join('\n');
  return { text, signedHeaders: h.signed };
}

const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string): Buffer => createHmac('sha256', key).update(s, 'utf8').digest();

/** Signing keys change once a day per (secret, region, service): cache the last one. */
let keyCache: { id: string; key: Buffer } | null = null;
function signingKey(secret: string, day: string, scope: Scope): Buffer {
  const id = `${secret}\n${day}\n${scope.region}\n${scope.service}`;
  if (keyCache?.id === id) return keyCache.key;
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, day), scope.region), scope.service), 'aws4_request');
  keyCache = { id, key };
  return key;
}

/** "20150830T123600Z" */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The Authorization header value for `req` as given (x-amz-date must already be in its headers). */
export function authorization(req: SignableRequest, creds: Credentials, scope: Scope, date: Date): string {
  const stamp = amzDate(date);
  const day = stamp.slice(0, 8);
  const credScope = `${day}/${scope.region}/${scope.service}/aws4_request`;
  const creq = canonicalRequest(req);
  const toSign = ['AWS4-HMAC-SHA256', stamp, credScope, sha256Hex(creq.text)].join('\n');
  const signature = createHmac('sha256', signingKey(creds.secretAccessKey, day, scope)).update(toSign, 'utf8').digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${credScope}, SignedHeaders=${creq.signedHeaders}, Signature=${signature}`;
}

/** Sign an S3 request: adds x-amz-date, x-amz-content-sha256, the session token and
 *  Authorization to `headers` (which must hold `host`) and returns them. */
export function signS3(
  req: Omit<SignableRequest, 'payloadHash'> & { payloadHash?: string },
  creds: Credentials,
  region: string,
  date = new Date(),
): Record<string, string> {
  const payloadHash = req.payloadHash ?? UNSIGNED_PAYLOAD;
  const headers: Record<string, string> = { ...req.headers, 'x-amz-date': amzDate(date), 'x-amz-content-sha256': payloadHash };
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
  headers.authorization = authorization({ ...req, headers, payloadHash }, creds, { region, service: 's3' }, date);
  return headers;
}
