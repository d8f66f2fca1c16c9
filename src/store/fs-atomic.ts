// Crash-safe file writes: a temporary file in DIR/tmp (same file system as the target),
// written, fsync'ed, renamed over the target, then the target's directory fsync'ed. After
// a crash a reader sees the old file or the new one, never a part; leftovers stay in tmp/.
import { randomBytes } from 'node:crypto';
import { closeSync, fsync, mkdirSync, openSync, rmSync, writev } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Temp files older than this are a crashed writer's leftovers (another process sharing
 *  the directory may be writing younger ones). */
const STALE_TEMP_MS = 60 * 60 * 1000;

export function tempPath(tmpDir: string, hint: string): string {
  return join(tmpDir, `${hint}.${randomBytes(6).toString('hex')}.tmp`);
}

/** fsync an open descriptor on the thread pool (it may wait on the disk). */
function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
}

// The short metadata calls (open, close, link, mkdir, stat, unlink) are made synchronously
// here and only the calls that may wait on the disk (write, fsync) go to the thread pool:
// each thread-pool hop costs two thread wake-ups, which dominated a 1 MiB put on this kind
// of virtual machine (~12 hops through fs/promises, 3 this way).

/** fsync a file or a directory by path. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write `bytes` to a fresh temp file and fsync it; returns its path. */
export async function writeTemp(tmpDir: string, hint: string, bytes: Uint8Array | Uint8Array[]): Promise<string> {
  const path = tempPath(tmpDir, hint);
  const fd = openSync(path, 'wx', 0o600);
  let written = false;
  try {
    await writeAll(fd, Array.isArray(bytes) ? bytes : [bytes]);
    await fsyncFd(fd);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) rmSync(path, { force: true });
  }
  return path;
}

/** writev until every chunk is written (writev may write less than asked). */
async function writeAll(fd: number, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length > 0) {
    let n = await new Promise<number>((resolve, reject) => writev(fd, rest, (e, written) => (e ? reject(e) : resolve(written))));
    while (rest.length > 0 && n >= rest[0].length) {
      n -= rest[0].length;
      rest = rest.slice(1);
    }
    if (n > 0) rest = [rest[0].subarray(n), ...rest.slice(1)];
  }
}

/** Create `dir` if missing; true when this call created it. */
export function mkdirIfMissing(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
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
    if (mkdirIfMissing(child)) await fsyncDir(dir);
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
