// This machine's record of the links it made: id, drive path, link, expiry. Kept under
// MEGAFS_HOME/state/<drive id>/shares.sealed, sealed with the drive's journal key (like
// the vfs journal): nothing readable is written to disk, and `megafs shares` can print a
// link again. The server's list (GET /v1/shares) stays the truth for state.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AAD_JOURNAL } from '../crypto/labels.js';
import { openObject, sealObject } from '../crypto/object.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import { utf8 } from '../format/bytes.js';

export interface LocalShare {
  id: string;
  path: string;
  link: string;
  createdMs: number;
  expiresMs: number | null;
  password: boolean;
}

const CONTEXT = utf8('shares');

export async function loadLocalShares(p: CryptoPlatform, journalKey: Uint8Array, file: string): Promise<LocalShare[]> {
  let bytes: Uint8Array;
  try { bytes = await readFile(file); } catch { return []; }
  return JSON.parse(new TextDecoder().decode(openObject(p, journalKey, AAD_JOURNAL, CONTEXT, bytes))) as LocalShare[];
}

export async function saveLocalShares(p: CryptoPlatform, journalKey: Uint8Array, file: string, shares: LocalShare[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const sealed = sealObject(p, journalKey, AAD_JOURNAL, CONTEXT, utf8(JSON.stringify(shares)));
  await writeFile(`${file}.tmp`, sealed.bytes, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
