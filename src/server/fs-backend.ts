// The server's directory backend: FsObjects' layout and crash-safety (temp file, fsync,
// link(2), fsync of the leaf directory), with the short metadata syscalls (open, fstat,
// close, link, unlink, stat) made synchronously on the event loop and only the calls
// that may wait on the disk (write, read, fsync) sent to the thread pool. Each thread-pool
// hop costs two thread wake-ups, and on this kind of virtual machine those dominated a
// PUT: ~12 hops per object through fs/promises, 3 here (GET: 1 instead of 5). New shard
// directories are fsync'ed concurrently with the object's directory, not one by one.
import { close, closeSync, fstatSync, fsync, linkSync, mkdirSync, openSync, read, renameSync, statSync, unlinkSync, writev } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { tempPath } from '../store/fs-atomic.js';
import { checkId, FsObjects } from '../store/fs-objects.js';
import type { ObjectId } from '../store/store.js';
import type { ObjectBackend, WholeObject } from './backend.js';

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

const fsyncFd = (fd: number): Promise<void> => new Promise((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())));

/** writev until every chunk is written (writev may write less than asked). */
async function writeAll(fd: number, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks.filter((c) => c.length > 0);
  while (rest.length > 0) {
    let n = await new Promise<number>((res, rej) => writev(fd, rest, (e, written) => (e ? rej(e) : res(written))));
    while (rest.length > 0 && n >= rest[0].length) {
      n -= rest[0].length;
      rest = rest.slice(1);
    }
    if (n > 0) rest = [rest[0].subarray(n), ...rest.slice(1)];
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** link(2) `temp` to `final`: true when created, false when it existed, 'no-dir' when the
 *  shard directory is missing; rename(2) where hard links are unsupported (FsObjects' rule). */
function publish(temp: string, final: string): boolean | 'no-dir' {
  try {
    linkSync(temp, final);
    return true;
  } catch (e) {
    const code = errno(e);
    if (code === 'EEXIST') return false;
    if (code === 'ENOENT') return 'no-dir';
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
  }
  try {
    renameSync(temp, final);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return 'no-dir';
    throw e;
  }
}

/** Create `dir` if missing; true when this call created it. */
function mkdirIfMissing(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (e) {
    if (errno(e) === 'EEXIST') return false;
    throw e;
  }
}

/** Read buffers given back after their response was sent, reused for the next GETs.
 *  Only buffers up to POOL_BUFFER_MAX_BYTES, at most POOL_MAX_BYTES in all. */
const POOL_BUFFER_MAX_BYTES = 4 * 1024 * 1024;
const POOL_MAX_BYTES = 32 * 1024 * 1024;
const pool: Buffer[] = [];
let pooledBytes = 0;

function takeBuffer(size: number): Buffer {
  for (let i = pool.length - 1; i >= 0; i--) {
    const b = pool[i];
    // A much bigger buffer would hold memory a small object does not need.
    if (b.length >= size && b.length <= 2 * size + 65536) {
      pool.splice(i, 1);
      pooledBytes -= b.length;
      return b;
    }
  }
  return Buffer.allocUnsafe(size);
}

function giveBack(b: Buffer): void {
  if (b.length > POOL_BUFFER_MAX_BYTES || pooledBytes + b.length > POOL_MAX_BYTES) return;
  pool.push(b);
  pooledBytes += b.length;
}

/** The whole file in one buffer of its size, or null when it does not exist. */
export function readWholeFile(path: string): Promise<WholeObject | null> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if (errno(e) === 'ENOENT') return Promise.resolve(null);
    throw e;
  }
  const done = (): void => close(fd, () => undefined); // a close error on a read-only fd says nothing
  let whole: Buffer;
  let size: number;
  try {
    size = fstatSync(fd).size;
    whole = takeBuffer(size);
  } catch (e) {
    done();
    throw e;
  }
  const finish = (got: number): WholeObject => ({ body: whole.subarray(0, got), done: () => giveBack(whole) });
  return new Promise((resolve, reject) => {
    const step = (got: number): void => {
      if (got === size) return void (done(), resolve(finish(got)));
      read(fd, whole, got, size - got, got, (err, n) => {
        if (err) return void (done(), reject(err));
        if (n === 0) return void (done(), resolve(finish(got))); // truncated meanwhile
        step(got + n);
      });
    };
    step(0);
  });
}

/** The objects of one account under `dir` (DIR/accounts/<id>): objects/ab/cd/<id>, tmp/. */
export async function fsBackend(dir: string): Promise<ObjectBackend> {
  const objs = await FsObjects.open(dir); // creates the directories, cleans stale temps
  const objectsDir = join(dir, 'objects');
  const tmpDir = join(dir, 'tmp');
  const pathOf = (id: ObjectId): string => {
    checkId(id); // the only place an id becomes a path
    return join(objectsDir, id.slice(0, 2), id.slice(2, 4), id);
  };
  return {
    async putChecked(id, body) {
      const final = pathOf(id);
      const temp = tempPath(tmpDir, id.slice(0, 16));
      const fd = openSync(temp, 'wx', 0o600);
      try {
        try {
          await writeAll(fd, Array.isArray(body) ? body : [body]);
          await fsyncFd(fd);
        } finally {
          closeSync(fd);
        }
        const l1 = join(objectsDir, id.slice(0, 2));
        const leaf = join(l1, id.slice(2, 4));
        // Directories whose entries changed: fsync'ed together (one journal commit on
        // ext4 instead of one per level) before the put is acknowledged.
        const changed: string[] = [];
        let created = publish(temp, final);
        if (created === 'no-dir') {
          if (mkdirIfMissing(l1)) changed.push(objectsDir);
          if (mkdirIfMissing(leaf)) changed.push(l1);
          created = publish(temp, final);
        }
        if (created === 'no-dir') throw new StoreError('E_INTERNAL', 'object directory vanished');
        if (created) changed.push(leaf);
        await Promise.all(changed.map(fsyncDir));
        return created;
      } finally {
        try {
          unlinkSync(temp);
        } catch {
          // renamed into place, or already gone
        }
      }
    },
    get: (id, range) => objs.get(id, range),
    size: async (id) => {
      try {
        return statSync(pathOf(id)).size;
      } catch (e) {
        if (errno(e) === 'ENOENT') return null;
        throw e;
      }
    },
    delete: (id) => objs.delete(id),
    listPage: (after, limit) => objs.listPage(after, limit),
    readWhole: (id) => readWholeFile(pathOf(id)),
  };
}
