// megafs put LOCAL PATH: copy a local file into the drive without a mount. PATH may be
// an existing drive directory (the file keeps its name there).
import { constants as fsc, createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { fsError, isMegafsError } from '../errors.js';
import type { Vfs } from '../vfs/types.js';
import { drivePath, parse } from './args.js';
import { progress } from './progress.js';
import { withVfs } from './session.js';

const USAGE = 'megafs put LOCAL PATH [--password-file F]';

async function target(vfs: Vfs, path: string, local: string): Promise<string> {
  try {
    const a = await vfs.getattr(path);
    if ((a.mode & fsc.S_IFMT) === fsc.S_IFDIR) return drivePath(`${path}/${basename(local)}`);
  } catch (e) {
    if (!isMegafsError(e, 'ENOENT')) throw e;
  }
  return path;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse<{ 'password-file'?: string }>(argv, USAGE, { 'password-file': { type: 'string' } }, 2, 2);
  const [local, remote] = positionals;
  const st = await stat(local);
  if (!st.isFile()) throw fsError('EISDIR', `${local} is not a regular file`);
  await withVfs(values['password-file'], async (vfs) => {
    const path = await target(vfs, drivePath(remote), local);
    let fh: number;
    try {
      fh = await vfs.open(path, fsc.O_WRONLY | fsc.O_TRUNC);
    } catch (e) {
      if (!isMegafsError(e, 'ENOENT')) throw e;
      fh = await vfs.create(path, st.mode & 0o777, fsc.O_WRONLY);
    }
    const bar = progress(`put ${basename(local)}`, st.size);
    try {
      let position = 0;
      for await (const chunk of createReadStream(local, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        position += await vfs.write(fh, chunk, position);
        bar.add(chunk.length);
      }
      // The local file's times before the fsync, so the put lands as one version (one
      // root naming the content and its mtime), not a second one for the times.
      await vfs.utimens(path, st.atimeMs, st.mtimeMs);
      await vfs.fsync(fh, false);
      await vfs.flush(fh);
    } finally {
      await vfs.release(fh);
      bar.done();
    }
  });
  return 0;
}
