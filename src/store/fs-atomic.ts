// Crash-safe file writes: a temporary file in DIR/tmp (same file system as the target),
// written, fsync'ed, renamed over the target, then the target's directory fsync'ed. After
// a crash a reader sees the old file or the new one, never a part; leftovers stay in tmp/.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Temp files older than this are a crashed writer's leftovers (another process sharing
 *  the directory may be writing younger ones). */
const STALE_TEMP_MS = 60 * 60 * 1000;

export function tempPath(tmpDir: string, hint: string): string {
  return join(tmpDir, `${hint}.${randomBytes(6).toString('hex')}.tmp`);
}

/** fsync a file or a directory by path. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write `bytes` to a fresh temp file and fsync it; returns its path. */
export async function writeTemp(tmpDir: string, hint: string, bytes: Uint8Array | Uint8Array[]): Promise<string> {
  const path = tempPath(tmpDir, hint);
  const fh = await open(path, 'wx', 0o600);
  let written = false;
  try {
    if (Array.isArray(bytes)) await writeAll(fh, bytes);
    else await fh.writeFile(bytes);
    await fh.sync();
    written = true;
  } finally {
    await fh.close();
    if (!written) await rm(path, { force: true });
  }
  return path;
}

/** writev until every chunk is written (writev may write less than asked). */
async function writeAll(fh: FileHandle, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest);
    while (rest.length > 0 && bytesWritten >= rest[0].length) {
      bytesWritten -= rest[0].length;
      rest = rest.slice(1);
    }
    if (bytesWritten > 0) rest = [rest[0].subarray(bytesWritten), ...rest.slice(1)];
  }
}

/** Atomically replace `target` (in `targetDir`) with `bytes`. */
export async function writeAtomic(tmpDir: string, targetDir: string, name: string, bytes: Uint8Array): Promise<void> {
  const path = await writeTemp(tmpDir, name, bytes);
  try {
    await rename(path, join(targetDir, name));
  } catch (e) {
    await rm(path, { force: true });
    throw e;
  }
  await fsyncDir(targetDir);
}

/** mkdir -p that fsyncs the parent of each directory it creates, so the new directory
 *  survives a crash together with the file renamed into it. */
export async function mkdirDurable(parent: string, names: string[]): Promise<string> {
  let dir = parent;
  for (const name of names) {
    const child = join(dir, name);
    const made = await mkdir(child, { recursive: false }).then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return false;
      throw e;
    });
    if (made) await fsyncDir(dir);
    dir = child;
  }
  return dir;
}

/** Remove temp files older than STALE_TEMP_MS from `tmpDir`; returns how many. */
export async function cleanStaleTemps(tmpDir: string, nowMs = Date.now()): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tmpDir)) {
    const path = join(tmpDir, name);
    const st = await stat(path).catch(() => null);
    if (st && nowMs - st.mtimeMs > STALE_TEMP_MS) {
      await rm(path, { force: true, recursive: true });
      removed++;
    }
  }
  return removed;
}
