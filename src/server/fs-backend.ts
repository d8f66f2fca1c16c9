// The server's directory backend: FsObjects (the local store's layout and crash-safety,
// its metadata syscalls made synchronously: see fs-atomic.ts) plus the GET fast path: the
// whole object read into one reused buffer in one thread-pool job (native/data's
// readFile: open, fstat and read together, so an open that must read directory and inode
// blocks from a cold disk never stalls the main thread). Without native/data, or for an
// object bigger than the guess, open and fstat run on the main thread and the read on the
// pool.
import { close, fstatSync, openSync, read } from 'node:fs';
import { constants } from 'node:os';
import { errnoError, nativeData } from '../platform/native-data.js';
import { FsObjects } from '../store/fs-objects.js';
import type { ObjectBackend, WholeObject } from './backend.js';

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

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

/** The buffer a native read starts with: a full 1 MiB chunk's object and then some. */
const GUESS_BYTES = 1024 * 1024 + 64 * 1024;

/** The whole file in one reused buffer, or null when it does not exist. */
export function readWholeFile(path: string): Promise<WholeObject | null> {
  const native = nativeData;
  if (!native) return readWholeFileNode(path);
  const whole = takeBuffer(GUESS_BYTES);
  return new Promise((resolve, reject) => {
    native.readFile(path, whole, (r) => {
      if (r >= 0) return resolve({ body: whole.subarray(0, r), done: () => giveBack(whole) });
      giveBack(whole);
      if (r === -constants.errno.ENOENT) return resolve(null);
      if (r === -constants.errno.EFBIG) return void readWholeFileNode(path).then(resolve, reject);
      reject(errnoError(r, `cannot read ${path}`));
    });
  });
}

/** The whole file in one buffer of its size, or null when it does not exist. */
function readWholeFileNode(path: string): Promise<WholeObject | null> {
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
  return {
    putChecked: (id, body) => objs.putChecked(id, body),
    get: (id, range) => objs.get(id, range),
    size: (id) => objs.size(id),
    refresh: async (id) => objs.touch(id),
    delete: (id) => objs.delete(id),
    listPage: (after, limit) => objs.listPage(after, limit),
    scanPage: (after, limit) => objs.scanPage(after, limit),
    readWhole: (id) => readWholeFile(objs.pathOf(id)),
  };
}
