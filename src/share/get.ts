// `megafs get LINK [-o OUT] [--password-file F]`: download and decrypt a link with no
// account and no drive. Files are written to a temporary name beside the target and
// renamed when every chunk has been verified, so a failed download leaves no wrong file.
import { open, mkdir, rename, rm, stat, utimes, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MegafsError, UsageError } from '../errors.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import { nodePlatform } from '../platform/node.js';
import { parseLink } from '../format/link.js';
import { decodeName, encodeName, escapeName } from '../format/names.js';
import { fetchManifest, fileChunks, openLink, type LinkPlace } from './fetch.js';
import { entrySize, type ManifestEntry, type ManifestFile } from './manifest.js';
import { progressBar } from './progress.js';
import { promptHidden } from './prompt.js';

export interface GetOptions {
  /** Target path; default: the shared name in the current directory. An existing directory
   *  receives the file or folder inside it. */
  out?: string;
  password?: string;
  /** Asked when the link needs a password and none was given. */
  askPassword?: () => Promise<string>;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface GetResult {
  /** Where it went, in the escaped form of names (src/format/names.ts escapeName). */
  path: string;
  kind: 'file' | 'folder';
  bytes: number;
  files: number;
}

// Local paths are Buffers: a shared name is bytes and need not be UTF-8.
const inDir = (dir: Buffer, name: string, prefix = '', suffix = ''): Buffer =>
  Buffer.concat([dir, Buffer.from(`/${prefix}`), encodeName(name), Buffer.from(suffix)]);
const shown = (path: Buffer): string => escapeName(decodeName(path));

async function exists(path: Buffer): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function writeFile(p: CryptoPlatform, link: LinkPlace, file: ManifestFile, dir: Buffer, name: string, tick: (n: number) => void): Promise<void> {
  const path = inDir(dir, name);
  if (await exists(path)) throw new MegafsError('EEXIST', `${shown(path)} already exists; choose another place with -o`);
  const part = inDir(dir, name, '.', '.megafs-part');
  const fh = await open(part, 'w', 0o644);
  try {
    let position = 0;
    for await (const chunk of fileChunks(p, link, file)) {
      await fh.write(chunk, 0, chunk.length, position);
      position += chunk.length;
      tick(chunk.length);
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(part, { force: true });
    throw e;
  }
  await fh.close();
  await rename(part, path);
  const t = new Date(file.mtimeMs);
  await utimes(path, t, t);
}

/** Write `e` as `name` (its own name, or the -o target's last part) inside `dir`. */
async function writeEntry(p: CryptoPlatform, link: LinkPlace, e: ManifestEntry, dir: Buffer, name: string, tick: (n: number) => void): Promise<number> {
  if (e.kind === 'file') { await writeFile(p, link, e, dir, name, tick); return 1; }
  const path = inDir(dir, name);
  await mkdir(path, { recursive: true });
  let files = 0;
  // Names were checked by decodeManifest: no '/', '.', '..' or NUL, so joins stay inside.
  for (const child of e.entries) files += await writeEntry(p, link, child, path, child.name, tick);
  return files;
}

export async function getLink(linkText: string, o: GetOptions = {}, p: CryptoPlatform = nodePlatform): Promise<GetResult> {
  const link = parseLink(linkText);
  const sealed = await fetchManifest(link);
  let password = o.password;
  if (link.passwordKdf && password === undefined && o.askPassword) password = await o.askPassword();
  const manifest = await openLink(p, link, sealed, password);
  const root = manifest.root;
  // The target as (directory, last name): the shared name, unless -o names another.
  let dir = Buffer.from(resolve('.'));
  let name = root.name;
  if (o.out !== undefined) {
    const out = resolve(o.out);
    if (await stat(out).then((st) => st.isDirectory(), () => false)) dir = Buffer.from(out);
    else { const cut = out.lastIndexOf('/'); dir = Buffer.from(out.slice(0, cut) || '/'); name = out.slice(cut + 1); }
  }
  if (dir.length === 1) dir = Buffer.alloc(0); // '/': inDir adds the slash
  const target = inDir(dir, name);
  if (root.kind === 'folder' && (await exists(target))) throw new MegafsError('EEXIST', `${shown(target)} already exists; choose another place with -o`);
  const total = entrySize(root);
  let done = 0;
  o.onProgress?.(0, total);
  const files = await writeEntry(p, link, root, dir, name, (n) => { done += n; o.onProgress?.(done, total); });
  return { path: shown(target), kind: root.kind, bytes: total, files };
}

/** argv after `get`: LINK [-o OUT] [--password-file F] [--json]. */
export async function getLinkCommand(argv: string[]): Promise<number> {
  let linkText: string | undefined;
  let out: string | undefined;
  let passwordFile: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-o' || a === '--output') out = argv[++i];
    else if (a === '--password-file') passwordFile = argv[++i];
    else if (a === '--json') json = true;
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a} (megafs get LINK [-o OUT] [--password-file F])`);
    else if (linkText === undefined) linkText = a;
    else throw new UsageError('megafs get LINK takes one link');
  }
  if (linkText === undefined || (out === undefined && argv.includes('-o'))) throw new UsageError('usage: megafs get LINK [-o OUT] [--password-file F]');
  const password = passwordFile !== undefined ? (await readFile(passwordFile, 'utf8')).replace(/\r?\n$/, '') : undefined;
  const bar = process.stderr.isTTY && !json ? progressBar(process.stderr) : null;
  const askPassword = process.stdin.isTTY ? () => promptHidden('Link password: ') : undefined;
  try {
    const r = await getLink(linkText, { out, password, askPassword, onProgress: bar?.update });
    bar?.done();
    if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`${r.path} (${r.kind === 'folder' ? `${r.files} files, ` : ''}${r.bytes} bytes)\n`);
    return 0;
  } catch (e) {
    bar?.done();
    throw e;
  }
}
