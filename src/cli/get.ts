// megafs get PATH LOCAL [--at TIME]: copy a drive file out without a mount ("-" writes to
// stdout); --at copies it as it was at TIME, read from that version's chunks
// (src/drive/entry-reader.ts), not the vfs.
import { constants as fsc, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { fsError } from '../errors.js';
import { PathResolver } from '../drive/history.js';
import { entryBytes } from '../drive/entry-reader.js';
import { ENTRY_FILE } from '../format/tree.js';
import { escapeName } from '../format/names.js';
import { drivePath, parse } from './args.js';
import { versionAtText, withHistory } from './history-session.js';
import { progress } from './progress.js';
import { withVfs } from './session.js';
import { formatInstant } from './when.js';

const USAGE = 'megafs get PATH LOCAL [--at TIME] [--password-file F]';
const PIECE_BYTES = 1024 * 1024;

async function localTarget(local: string, name: string): Promise<string> {
  const st = await stat(local).catch(() => null);
  return st?.isDirectory() ? join(local, name) : local;
}

function write(out: Writable, data: Uint8Array): Promise<void> {
  return new Promise((ok, fail) => out.write(data, (e) => (e ? fail(e) : ok())));
}

export async function run(argv: string[]): Promise<number> {
  // `megafs get LINK`: a share link needs no account and no drive (src/share/get.ts).
  if (argv[0] !== undefined && /^https?:\/\/[^/]+\/s\//.test(argv[0])) return (await import('../share/get.js')).getLinkCommand(argv);
  const { values, positionals } = parse<{ at?: string; 'password-file'?: string }>(argv, USAGE, {
    at: { type: 'string' }, 'password-file': { type: 'string' },
  }, 2, 2);
  const path = drivePath(positionals[0]);
  if (values.at !== undefined) return getAt(values['password-file'], path, positionals[1], values.at);
  await withVfs(values['password-file'], async (vfs) => {
    const attr = await vfs.getattr(path);
    if ((attr.mode & fsc.S_IFMT) !== fsc.S_IFREG) throw fsError('EISDIR', `${path} is not a regular file`);
    const toStdout = positionals[1] === '-';
    const fh = await vfs.open(path, fsc.O_RDONLY);
    const out = toStdout ? process.stdout : createWriteStream(await localTarget(positionals[1], path.split('/').pop()!));
    const bar = progress(`get ${path}`, attr.size);
    try {
      for (let position = 0; ;) {
        const buf = new Uint8Array(PIECE_BYTES);
        const n = await vfs.read(fh, buf, PIECE_BYTES, position);
        if (n === 0) break;
        await write(out, buf.subarray(0, n));
        position += n;
        bar.add(n);
      }
    } finally {
      await vfs.release(fh);
      bar.done();
      if (!toStdout) await new Promise<void>((ok) => out.end(() => ok()));
    }
  });
  return 0;
}

/** `path` as it was in the version that stood at `at`, chunk by chunk into `local`. */
async function getAt(passwordFile: string | undefined, path: string, local: string, at: string): Promise<number> {
  await withHistory(passwordFile, async (h) => {
    const v = versionAtText(h.now.versions, at);
    const e = await new PathResolver(h.io).resolve(v.topDir, path);
    const when = `at ${formatInstant(v.timeMs)} (version ${v.rootVersion})`;
    if (!e) throw fsError('ENOENT', `${escapeName(path)} did not exist ${when}`);
    if (e.type !== ENTRY_FILE) throw fsError('EISDIR', `${escapeName(path)} was not a regular file ${when}`);
    const toStdout = local === '-';
    const out = toStdout ? process.stdout : createWriteStream(await localTarget(local, e.name));
    const bar = progress(`get ${path}`, e.size);
    try {
      for await (const piece of entryBytes(h.io, h.fetch, e, escapeName(path), h.storeFetch)) {
        await write(out, piece);
        bar.add(piece.length);
      }
    } finally {
      bar.done();
      if (!toStdout) await new Promise<void>((ok) => out.end(() => ok()));
    }
  });
  return 0;
}
