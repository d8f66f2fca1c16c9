// fallocate(2) through a real mount: plain allocation grows the file with holes (nothing
// stored, no zeros uploaded), KEEP_SIZE leaves the size, PUNCH_HOLE and ZERO_RANGE read
// back as zeros and free whole chunks; everything survives a remount. Unknown modes are
// EOPNOTSUPP. The native binding only (fuse-native has no fallocate callback).
import test from 'ava';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { testMount, type TestMount } from '../helpers/mount.js';

async function py(m: TestMount, code: string): Promise<string> {
  return (await m.sh('python3', ['-c', code])).trim();
}

async function storeBytes(m: TestMount): Promise<number> {
  let total = 0;
  for (const n of await readdir(join(m.storeDir, 'objects'), { recursive: true })) {
    const s = await stat(join(m.storeDir, 'objects', n));
    if (s.isFile()) total += s.size;
  }
  return total;
}

const LIBC = `
import os, ctypes, ctypes.util, errno
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
def fa(fd, mode, off, ln):
    if libc.fallocate(fd, mode, off, ln) != 0: return errno.errorcode[ctypes.get_errno()]
    return 'ok'
M = 1 << 20
`;

test('[native] fallocate: allocation is holes, KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE read back as zeros, across a remount', async (t) => {
  const m = await testMount(t, { binding: 'native' });
  const before = await storeBytes(m);
  t.is(await py(m, `${LIBC}
fd = os.open('big', os.O_RDWR | os.O_CREAT, 0o644)
print(fa(fd, 0, 0, 1 << 30), os.fstat(fd).st_size)
os.fsync(fd); os.close(fd)
`), 'ok 1073741824');
  t.true((await storeBytes(m)) - before < 64 * 1024, 'a 1 GiB allocation stores no zeros');

  t.is(await py(m, `${LIBC}
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b'\\x01' * (5 * M), 0)
r = [fa(fd, 1, 0, 8 * M), str(os.fstat(fd).st_size)]         # KEEP_SIZE
r.append(fa(fd, 3, M, 2 * M))                                  # PUNCH_HOLE | KEEP_SIZE
r.append(fa(fd, 0x10, 4 * M + 100, 100))                       # ZERO_RANGE inside a chunk
r.append(fa(fd, 0x10, 5 * M, M))                               # ZERO_RANGE past the end: grows
r.append(str(os.fstat(fd).st_size))
r.append(fa(fd, 2, 0, M))                                      # PUNCH_HOLE without KEEP_SIZE (the kernel says no)
r.append(fa(fd, 0x08, 0, M))                                   # COLLAPSE_RANGE
os.fsync(fd); os.close(fd)
print(' '.join(r))
`), `ok ${5 * 2 ** 20} ok ok ok ${6 * 2 ** 20} ENOTSUP ENOTSUP`); // EOPNOTSUPP is ENOTSUP on Linux; the kernel refuses PUNCH_HOLE without KEEP_SIZE itself
  const expect = `
M = 1 << 20
d = open('f', 'rb').read()
ok = (d[:M] == b'\\x01' * M and d[M:3 * M] == bytes(2 * M) and d[3 * M:4 * M + 100] == b'\\x01' * (M + 100)
      and d[4 * M + 100:4 * M + 200] == bytes(100) and d[4 * M + 200:5 * M] == b'\\x01' * (M - 200) and d[5 * M:] == bytes(M))
print(len(d), ok)
`;
  t.is(await py(m, expect), `${6 * 2 ** 20} True`);
  await m.unmount();
  await m.mount();
  t.is(await py(m, expect), `${6 * 2 ** 20} True`);
  t.is((await stat(join(m.dir, 'big'))).size, 2 ** 30);
});
