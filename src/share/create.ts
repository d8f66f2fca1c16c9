// Creating a share from the drive, without a copy (docs/design.md "Shares without a
// copy"): the vfs captures the file or folder as it is (each file sealed, its chunk map
// frozen and its key marked exposed, so its next change moves it to a new key), the
// manifest names the drive's own chunk objects with each file's id and chunk key (never
// the file key), the drive records the share (DRIVE.shares: the collector keeps its
// snapshot), and the server is told which of the account's objects the link may serve.
// Sharing costs a manifest and a few small tree objects, whatever the size shared.
import { MegafsError } from '../errors.js';
import { toBase64, toHex } from '../format/bytes.js';
import { CHUNK_SIZE } from '../format/constants.js';
import { formatLink, fromBase64Url, LINK_ID_BYTES, type LinkKdf } from '../format/link.js';
import { deriveLinkKey, newShareLink, sealManifest } from '../crypto/link.js';
import { chunkKeyFor } from '../crypto/chunk.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import type { Store } from '../store/store.js';
import type { Vfs } from '../vfs/types.js';
import type { Captured, VfsShares } from '../vfs/shares.js';
import type { ShareApi, ShareRecord } from './api.js';
import { encodeManifest, entrySize, MANIFEST_VERSION, manifestObjectIds, type ManifestEntry } from './manifest.js';

export interface ShareOptions {
  /** Milliseconds from now; undefined: never expires. */
  expiresInMs?: number;
  password?: string;
  /** Argon2id cost of the link password (default DEFAULT_LINK_KDF; tests lower it). */
  passwordKdf?: LinkKdf;
  /** Called with the plaintext bytes shared once the share is made. */
  onProgress?: (doneBytes: number) => void;
  /** The drive's store, when the serve store is one of several (replicated): objects the
   *  serve store lacks (it was away when they were written) are copied to it from here. */
  driveStore?: Store;
}

export interface CreatedShare {
  link: string;
  record: ShareRecord;
  entry: ManifestEntry;
}

/** A vfs that can share (openVfs's; the in-memory debugging Vfs cannot). */
export type SharingVfs = Vfs & { shares?: VfsShares };

/** The manifest (version 2) entry of a capture: chunk ids resolved, holes null. */
export function manifestEntry(c: Captured): ManifestEntry {
  if (c.kind === 'dir') return { kind: 'folder', name: c.entry.name, mtimeMs: c.entry.mtimeMs, entries: c.children.map(manifestEntry) };
  const count = Math.ceil(c.entry.size / CHUNK_SIZE);
  const chunks: (string | null)[] = Array.from({ length: count }, (_, i) => c.chunks.get(i) ?? null);
  const file = c.entry.file!;
  return {
    kind: 'file', name: c.entry.name, size: c.entry.size, mtimeMs: c.entry.mtimeMs,
    fileId: toBase64(file.fileId), chunkKey: toBase64(chunkKeyFor(file.fileKey)), chunks,
  };
}

/** Put on `serve` what it lacks of `ids`, from `from` (only after it refused one). */
async function fillServeStore(serve: Store, from: Store, ids: string[]): Promise<void> {
  for (const id of ids) if (!(await serve.has(id))) await serve.put(id, await from.get(id));
}

/** Share the file or folder at `path` (a path inside the drive, '/'-rooted). */
export async function createShare(
  p: CryptoPlatform, vfs: SharingVfs, serveStore: Store, api: ShareApi, path: string, opts: ShareOptions = {},
): Promise<CreatedShare> {
  const shares = vfs.shares;
  if (!shares) throw new MegafsError('E_USAGE', 'this vfs cannot make links (MEGAFS_VFS=memory?)');
  if (opts.password === '') throw new MegafsError('E_USAGE', 'a link password may not be empty');
  const clean = '/' + path.split('/').filter((s) => s !== '' && s !== '.').join('/');
  const name = clean === '/' ? 'drive' : clean.slice(clean.lastIndexOf('/') + 1);
  let capture: Captured;
  try {
    capture = await shares.capture(clean, name);
  } catch (e) {
    if ((e as { code?: string }).code === 'EINVAL') throw new MegafsError('E_USAGE', `${path} is neither a file nor a folder`, { cause: e });
    throw e;
  }
  const entry = manifestEntry(capture);
  // The id and secret are ours (random); the server only checks that the id is new.
  const link = newShareLink(p, api.origin, { password: opts.password !== undefined, passwordKdf: opts.password !== undefined ? opts.passwordKdf : undefined });
  const key = await deriveLinkKey(link, opts.password);
  const sealed = sealManifest(p, key, link, encodeManifest({ v: MANIFEST_VERSION, root: entry }));
  const createdMs = Date.now();
  const expiresMs = opts.expiresInMs !== undefined ? createdMs + opts.expiresInMs : null;
  const linkId = toHex(fromBase64Url(link.id, LINK_ID_BYTES, 'link id'));
  const text = formatLink(link);
  // First the drive's record (and every object the snapshot names, on the stores), then
  // the server: a link never exists that the drive does not know of.
  shares.add({ linkId, link: text, createdMs, expiresMs, path: clean }, capture);
  await vfs.sync();
  const ids = [...manifestObjectIds(entry)];
  let record: ShareRecord;
  try {
    try {
      record = await api.create(link.id, sealed.bytes, ids, expiresMs);
    } catch (e) {
      if ((e as { code?: string }).code !== 'E_NOT_FOUND' || !opts.driveStore || opts.driveStore === serveStore) throw e;
      await fillServeStore(serveStore, opts.driveStore, ids);
      record = await api.create(link.id, sealed.bytes, ids, expiresMs);
    }
  } catch (e) {
    // No link: the record becomes a tombstone (the keys stay marked exposed, harmlessly).
    await shares.revoke(linkId).then(() => vfs.sync()).catch(() => undefined);
    throw e;
  }
  opts.onProgress?.(entrySize(entry));
  return { link: text, record, entry };
}
