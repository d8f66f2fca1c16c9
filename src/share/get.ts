// `megafs get LINK [-o OUT] [--password-file F]`: download and decrypt a link with no
// account and no drive. Files are written to a temporary name beside the target and
// renamed when every chunk has been verified, so a failed download leaves no wrong file.
import { open, mkdir, rename, rm, stat, utimes, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { MegafsError, UsageError } from '../errors.js';
import type { CryptoPlatform } from '../crypto/platform.js';
import { nodePlatform } from '../platform/node.js';
import { parseLink } from '../format/link.js';
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
  path: string;
  kind: 'file' | 'folder';
  bytes: number;
  files: number;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function writeFile(p: CryptoPlatform, link: LinkPlace, file: ManifestFile, path: string, tick: (n: number) => void): Promise<void> {
  if (await exists(path)) throw new MegafsError('EEXIST', `${path} already exists; choose another place with -o`);
  const part = join(dirname(path), `.${basename(path)}.megafs-part`);
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

async function writeEntry(p: CryptoPlatform, link: LinkPlace, e: ManifestEntry, path: string, tick: (n: number) => void): Promise<number> {
  if (e.kind === 'file') { await writeFile(p, link, e, path, tick); return 1; }
  await mkdir(path, { recursive: true });
  let files = 0;
  // Names were checked by decodeManifest: no '/', '.', '..' or NUL, so joins stay inside.
  for (const child of e.entries) files += await writeEntry(p, link, child, join(path, child.name), tick);
  return files;
}

export async function getLink(linkText: string, o: GetOptions = {}, p: CryptoPlatform = nodePlatform): Promise<GetResult> {
  const link = parseLink(linkText);
  const sealed = await fetchManifest(link);
  let password = o.password;
  if (link.passwordKdf && password === undefined && o.askPassword) password = await o.askPassword();
  const manifest = await openLink(p, link, sealed, password);
  const root = manifest.root;
  let target = resolve(o.out ?? root.name);
  if (o.out !== undefined && (await stat(target).then((s) => s.isDirectory(), () => false))) target = join(target, root.name);
  if (root.kind === 'folder' && (await exists(target))) throw new MegafsError('EEXIST', `${target} already exists; choose another place with -o`);
  const total = entrySize(root);
  let done = 0;
  o.onProgress?.(0, total);
  const files = await writeEntry(p, link, root, target, (n) => { done += n; o.onProgress?.(done, total); });
  return { path: target, kind: root.kind, bytes: total, files };
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
