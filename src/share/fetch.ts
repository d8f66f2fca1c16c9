// Reading a link over HTTP with fetch (Node 20 and browsers alike): the sealed manifest,
// then each file's chunks, each checked against its id (SHA-256) and opened before a
// byte is handed on. Server refusals become errors with the share's own message.
// No node: imports: the browser page and its Service Worker bundle this file.
import { IntegrityError, MegafsError, type ErrorCode } from '../errors.js';
import { fromBase64, toHex } from '../format/bytes.js';
import { CHUNK_SIZE } from '../format/constants.js';
import { chunkKeyFor, openChunk } from '../crypto/chunk.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import { deriveLinkKey, openManifest } from '../crypto/link.js';
import type { ShareLink } from '../format/link.js';
import { decodeManifest, type Manifest, type ManifestFile } from './manifest.js';

/** Chunks fetched ahead of the one being consumed (memory: about this many MiB). */
const PREFETCH = 4;

interface ErrorBody { error?: { code?: string; message?: string; state?: string; reason?: string | null } }

async function refusal(res: Response): Promise<MegafsError> {
  let body: ErrorBody = {};
  try { body = await res.json() as ErrorBody; } catch { /* not JSON */ }
  const e = body.error ?? {};
  if (res.status === 451) {
    return Object.assign(new MegafsError('E_TAKEN_DOWN', `this link was taken down by the operator: ${e.reason ?? 'no reason given'}`), { reason: e.reason ?? null });
  }
  if (res.status === 410) return new MegafsError('E_GONE', e.state === 'expired' ? 'this link has expired' : 'this link was revoked by its owner');
  if (res.status === 404) return new MegafsError('E_BAD_LINK', 'no such link on this server (check that it was copied whole)');
  if (res.status === 429) return new MegafsError('E_RATE_LIMIT', 'too many requests; try again later');
  const code = (e.code ?? (res.status >= 500 ? 'E_UNAVAILABLE' : 'E_INTERNAL')) as ErrorCode;
  return new MegafsError(code, `server answered ${res.status}: ${e.message ?? res.statusText}`);
}

async function get(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch (cause) {
    throw new MegafsError('E_UNAVAILABLE', `cannot reach ${new URL(url).origin}`, { cause });
  }
  if (!res.ok) throw await refusal(res);
  return new Uint8Array(await res.arrayBuffer());
}

/** Where a link's server is: its base (https://host[:port][/prefix]) and the share id. */
export type LinkPlace = Pick<ShareLink, 'base' | 'id'>;

export function manifestUrl(link: LinkPlace): string {
  return `${link.base}/v1/s/${link.id}/manifest`;
}

export function objectUrl(link: LinkPlace, objectId: string): string {
  return `${link.base}/v1/s/${link.id}/objects/${objectId}`;
}

/** The sealed manifest; the share's own error (revoked, expired, taken down...) if refused. */
export function fetchManifest(link: LinkPlace): Promise<Uint8Array> {
  return get(manifestUrl(link));
}

/** Open the sealed manifest: E_BAD_PASSWORD for a missing or wrong password,
 *  E_INTEGRITY when the bytes or the key are wrong. */
export async function openLink(p: CryptoPlatform, link: ShareLink, sealed: Uint8Array, password?: string): Promise<Manifest> {
  const key = await deriveLinkKey(link, password);
  return decodeManifest(openManifest(p, key, link, sealed));
}

/** Plaintext bytes of chunk `i` of a file. */
export function chunkPlainBytes(file: ManifestFile, i: number): number {
  return Math.min(CHUNK_SIZE, file.size - i * CHUNK_SIZE);
}

/** SHA-256 that may run natively off the main thread (WebCrypto in the browser). */
export type AsyncHash = (bytes: Uint8Array) => Promise<Uint8Array>;

/** The key that opens a file's chunks: version 2 names it, version 1 names the file key
 *  it derives from. */
export function fileChunkKey(file: ManifestFile): Uint8Array {
  if (file.chunkKey !== undefined) return fromBase64(file.chunkKey);
  return chunkKeyFor(fromBase64(file.fileKey!));
}

/** The file's plaintext, chunk by chunk, each verified and opened; holes come as zeros.
 *  Throws E_INTEGRITY on any wrong byte, never yields it. `hash`, when given, checks the
 *  ids instead of the platform's SHA-256. */
export async function* fileChunks(p: CryptoPlatform, link: LinkPlace, file: ManifestFile, hash?: AsyncHash): AsyncGenerator<Uint8Array> {
  const count = Math.ceil(file.size / CHUNK_SIZE);
  if (file.chunks.length !== count) throw new MegafsError('E_INTEGRITY', 'the manifest\'s chunk count does not match the size');
  const chunkKey = fileChunkKey(file);
  // The drive's own chunks (version 2) may be shorter than their slot: the rest is zeros.
  const short = file.chunkKey !== undefined;
  const fileId = fromBase64(file.fileId);
  const fetchOne = (i: number): Promise<Uint8Array | null> => {
    const id = file.chunks[i];
    return id === null ? Promise.resolve(null) : get(objectUrl(link, id));
  };
  const ahead: Promise<Uint8Array | null>[] = [];
  for (let i = 0; i < Math.min(PREFETCH, count); i++) ahead.push(fetchOne(i));
  // Unobserved rejections of prefetches would crash Node; each is awaited in turn.
  for (const a of ahead) a.catch(() => undefined);
  for (let i = 0; i < count; i++) {
    const sealed = await ahead.shift()!;
    if (i + PREFETCH < count) { const n = fetchOne(i + PREFETCH); n.catch(() => undefined); ahead.push(n); }
    const want = chunkPlainBytes(file, i);
    if (sealed === null) { yield new Uint8Array(want); continue; }
    if (hash && toHex(await hash(sealed)) !== file.chunks[i]) throw new IntegrityError(`chunk ${i} does not match its id`);
    const plain = openChunk(p, chunkKey, { fileId, chunkIndex: i, isLast: i === count - 1 }, sealed, hash ? undefined : file.chunks[i]!);
    if (plain.length > want || (!short && plain.length !== want)) throw new MegafsError('E_INTEGRITY', `chunk ${i} has ${plain.length} bytes, expected ${want}`);
    if (plain.length < want) { const whole = new Uint8Array(want); whole.set(plain); yield whole; continue; }
    yield plain;
  }
}
