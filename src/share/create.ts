// Creating a share from the drive: the file (or every file under a folder) is read through
// the vfs and sealed again under a fresh file key and file id, chunk by chunk as the drive
// does (src/crypto/chunk.ts), so the link exposes no key of the drive: a snapshot that
// later edits do not change. All-zero chunks become holes. The chunks go to the owner's
// store, the manifest is sealed under the link key, and the server records which objects
// the share may serve.
import { constants } from 'node:fs';
import { MegafsError } from '../errors.js';
import { toBase64 } from '../format/bytes.js';
import { CHUNK_SIZE, FILE_ID_BYTES, KEY_BYTES } from '../format/constants.js';
import { formatLink, type LinkKdf } from '../format/link.js';
import { deriveLinkKey, newShareLink, sealManifest } from '../crypto/link.js';
import { chunkKeyFor, sealChunk } from '../crypto/chunk.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import type { Store } from '../store/store.js';
import type { Vfs } from '../vfs/types.js';
import type { ShareApi, ShareRecord } from './api.js';
import { encodeManifest, MANIFEST_VERSION, manifestObjectIds, type ManifestEntry, type ManifestFile } from './manifest.js';

export interface ShareOptions {
  /** Milliseconds from now; undefined: never expires. */
  expiresInMs?: number;
  password?: string;
  /** Argon2id cost of the link password (default DEFAULT_LINK_KDF; tests lower it). */
  passwordKdf?: LinkKdf;
  /** Called with plaintext bytes sealed so far. */
  onProgress?: (doneBytes: number) => void;
}

export interface CreatedShare {
  link: string;
  record: ShareRecord;
  entry: ManifestEntry;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** Chunk uploads in flight at once. */
const UPLOADS = 4;

interface Ctx { p: CryptoPlatform; vfs: Vfs; store: Store; done: number; onProgress?: (n: number) => void; }

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

async function sealFile(c: Ctx, path: string, name: string, size: number, mtimeMs: number): Promise<ManifestFile> {
  const fileKey = c.p.randomBytes(KEY_BYTES);
  const fileId = c.p.randomBytes(FILE_ID_BYTES);
  const chunkKey = chunkKeyFor(fileKey);
  const count = Math.ceil(size / CHUNK_SIZE);
  const chunks: (string | null)[] = [];
  const inflight = new Set<Promise<void>>();
  const fh = await c.vfs.open(path, constants.O_RDONLY);
  try {
    for (let i = 0; i < count; i++) {
      const want = Math.min(CHUNK_SIZE, size - i * CHUNK_SIZE);
      const buf = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const n = await c.vfs.read(fh, buf.subarray(got), want - got, i * CHUNK_SIZE + got);
        if (n === 0) throw new MegafsError('E_CONFLICT', `${path} shrank while it was being shared; try again`);
        got += n;
      }
      if (isZero(buf)) { chunks.push(null); continue; }
      const sealed = sealChunk(c.p, chunkKey, { fileId, chunkIndex: i, isLast: i === count - 1 }, buf);
      chunks.push(sealed.id);
      const up: Promise<void> = c.store.put(sealed.id, sealed.bytes).then(() => { inflight.delete(up); });
      inflight.add(up);
      if (inflight.size >= UPLOADS) await Promise.race(inflight);
      c.done += want;
      c.onProgress?.(c.done);
    }
    await Promise.all(inflight);
  } finally {
    await Promise.allSettled(inflight);
    await c.vfs.release(fh);
  }
  return { kind: 'file', name, size, mtimeMs, fileId: toBase64(fileId), fileKey: toBase64(fileKey), chunks };
}

async function sealEntry(c: Ctx, path: string, name: string): Promise<ManifestEntry | null> {
  const attr = await c.vfs.getattr(path);
  const type = attr.mode & S_IFMT;
  if (type === S_IFREG) return sealFile(c, path, name, attr.size, attr.mtimeMs);
  if (type !== S_IFDIR) return null; // symlinks and specials are not shared
  const entries: ManifestEntry[] = [];
  for (const d of await c.vfs.readdir(path)) {
    if (d.name === '.' || d.name === '..') continue;
    const e = await sealEntry(c, path === '/' ? `/${d.name}` : `${path}/${d.name}`, d.name);
    if (e) entries.push(e);
  }
  return { kind: 'folder', name, mtimeMs: attr.mtimeMs, entries };
}

/** Share the file or folder at `path` (a path inside the drive, '/'-rooted). */
export async function createShare(p: CryptoPlatform, vfs: Vfs, store: Store, api: ShareApi, path: string, opts: ShareOptions = {}): Promise<CreatedShare> {
  const clean = '/' + path.split('/').filter((s) => s !== '' && s !== '.').join('/');
  const name = clean === '/' ? 'drive' : clean.slice(clean.lastIndexOf('/') + 1);
  const entry = await sealEntry({ p, vfs, store, done: 0, onProgress: opts.onProgress }, clean, name);
  if (!entry) throw new MegafsError('E_USAGE', `${path} is neither a file nor a folder`);
  if (opts.password === '') throw new MegafsError('E_USAGE', 'a link password may not be empty');
  // The id and secret are ours (random); the server only checks that the id is new.
  const link = newShareLink(p, api.origin, { password: opts.password !== undefined, passwordKdf: opts.password !== undefined ? opts.passwordKdf : undefined });
  const key = await deriveLinkKey(link, opts.password);
  const sealed = sealManifest(p, key, link, encodeManifest({ v: MANIFEST_VERSION, root: entry }));
  const expiresMs = opts.expiresInMs !== undefined ? Date.now() + opts.expiresInMs : null;
  const record = await api.create(link.id, sealed.bytes, [...manifestObjectIds(entry)], expiresMs);
  return { link: formatLink(link), record, entry };
}
