// The FUSE adapter alone, over the in-memory Vfs on each binding: errors reach programs
// as the right errno, data round-trips, and the less common calls (append, truncate,
// hard links, xattrs, rename over) are wired.
import test from 'ava';
import { join } from 'node:path';
import { run } from '../helpers/cli.js';
import { BINDINGS, check, memMount } from '../helpers/mount.js';

const PY_ERRNO = `
import errno, os, sys
d = sys.argv[1]
def code(f):
    try:
        f(); return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
os.mkdir(d + '/dir'); open(d + '/dir/f', 'w').close()
print(code(lambda: os.stat(d + '/missing')), code(lambda: os.rmdir(d + '/dir')), code(lambda: os.mkdir(d + '/dir')),
      code(lambda: os.open(d + '/dir/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY)), code(lambda: os.rmdir(d + '/dir/f')),
      code(lambda: os.getxattr(d + '/dir/f', 'user.none')), code(lambda: os.listdir(d + '/dir/f')))
`;

const PY_CALLS = `
import os, sys
d = sys.argv[1]
with open(d + '/a', 'w') as f: f.write('one')
with open(d + '/a', 'a') as f: f.write('two')
os.truncate(d + '/a', 5)
os.link(d + '/a', d + '/b')
os.setxattr(d + '/a', 'user.k', b'v')
with open(d + '/new', 'w') as f: f.write('new')
os.replace(d + '/new', d + '/b2')
os.chmod(d + '/a', 0o600)
os.utime(d + '/a', ns=(1_000_000_000_000_000_000, 1_500_000_000_123_000_000))
st = os.stat(d + '/a')
print(open(d + '/b').read(), st.st_nlink, os.getxattr(d + '/a', 'user.k').decode(), os.listxattr(d + '/a'),
      open(d + '/b2').read(), oct(st.st_mode & 0o777), st.st_mtime_ns, sorted(os.listdir(d)))
`;

for (const binding of BINDINGS) {
  test(`[${binding}] errors reach programs as errno`, async (t) => {
    const dir = await memMount(t, binding);
    const out = check(await run('python3', ['-c', PY_ERRNO, dir]), 'errno script').trim();
    t.is(out, 'ENOENT ENOTEMPTY EEXIST EEXIST ENOTDIR ENODATA ENOTDIR');
  });

  test(`[${binding}] append, truncate, hard link, xattr, rename over, chmod, utimens`, async (t) => {
    const dir = await memMount(t, binding);
    const out = check(await run('python3', ['-c', PY_CALLS, dir]), 'calls script').trim();
    t.is(out, "onetw 2 v ['user.k'] new 0o600 1500000000123000000 ['a', 'b', 'b2']");
  });

  test(`[${binding}] 20 MiB of random data round-trips`, async (t) => {
    const dir = await memMount(t, binding);
    const file = join(dir, 'r.bin');
    const written = check(await run('sh', ['-c', `head -c 20971520 /dev/urandom | tee ${file} | sha256sum`]), 'write');
    const read = check(await run('sh', ['-c', `cat ${file} | sha256sum`]), 'read');
    t.is(read, written);
  });
}
