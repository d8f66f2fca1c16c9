// The whole of a file through the vfs API (its size from getattr), for tests.
import { constants as fsc } from 'node:fs';
import type { Vfs } from '../../src/vfs/types.js';

export async function readWhole(v: Vfs, path: string): Promise<Buffer> {
  const size = (await v.getattr(path)).size;
  const fh = await v.open(path, fsc.O_RDONLY);
  const buf = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const n = await v.read(fh, buf.subarray(at), size - at, at);
    if (n === 0) break;
    at += n;
  }
  await v.release(fh);
  return buf;
}
