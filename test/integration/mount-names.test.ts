// Names are bytes through a real mount (docs/format.md "Format version 2", 1.): names that
// are not UTF-8 stay distinct, list back byte for byte, count 255 bytes, and survive an
// unmount and a remount. A python3 child does the file system calls with bytes paths.
// Native binding only: fuse-native hands names over as UTF-8 text and cannot carry them.
import test from 'ava';
import { testMount } from '../helpers/mount.js';

/** Writes the names; prints what it saw as JSON (names in hex). */
const WRITE = String.raw`
import os, json, errno
os.chdir(os.environ['MNT'])
for name, data in ((b'q-\xff', b'first'), (b'q-\xfe', b'second')):
    with open(name, 'wb') as f: f.write(data)
long_ok = b'\xfe' * 255
with open(long_ok, 'wb') as f: f.write(b'long')
try:
    open(b'\xfe' * 256, 'wb')
    too_long = 'created'
except OSError as e:
    too_long = errno.errorcode[e.errno]
os.mkdir(b'd-\x80\x81')
os.symlink(b'target-\xff/x', b'd-\x80\x81/l-\xc3')
os.rename(b'q-\xfe', b'd-\x80\x81/moved-\xfe')
os.setxattr(b'q-\xff', b'user.n-\xff', b'v')
print(json.dumps({'tooLong': too_long}))
`;

/** Lists and reads everything back. */
const READ = String.raw`
import os, json
os.chdir(os.environ['MNT'])
out = {'top': sorted(n.hex() for n in os.listdir(b'.')), 'sub': sorted(n.hex() for n in os.listdir(b'd-\x80\x81'))}
out['q-ff'] = open(b'q-\xff', 'rb').read().decode()
out['moved'] = open(b'd-\x80\x81/moved-\xfe', 'rb').read().decode()
out['long'] = open(b'\xfe' * 255, 'rb').read().decode()
out['target'] = os.readlink(b'd-\x80\x81/l-\xc3').hex()
out['xattrs'] = sorted(os.fsencode(n).hex() for n in os.listxattr(b'q-\xff'))  # str names, surrogateescape
out['xattr'] = os.getxattr(b'q-\xff', b'user.n-\xff').decode()
out['lstat'] = os.lstat(b'd-\x80\x81/l-\xc3').st_size
print(json.dumps(out))
`;

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

test('[native] names that are not UTF-8: distinct, listed as bytes, 255 bytes, across a remount', async (t) => {
  const m = await testMount(t, { binding: 'native' });
  const py = async (script: string): Promise<Record<string, unknown>> =>
    JSON.parse(await m.sh('env', [`MNT=${m.dir}`, 'python3', '-c', script])) as Record<string, unknown>;
  t.deepEqual(await py(WRITE), { tooLong: 'ENAMETOOLONG' });
  const want = {
    top: [hex('d-\x80\x81'), hex('q-\xff'), 'fe'.repeat(255)].sort(),
    sub: [hex('l-\xc3'), hex('moved-\xfe')].sort(),
    'q-ff': 'first', moved: 'second', long: 'long',
    target: hex('target-\xff/x'), xattrs: [hex('user.n-\xff')], xattr: 'v', lstat: 10,
  };
  t.deepEqual(await py(READ), want);
  await m.unmount();
  await m.mount();
  t.deepEqual(await py(READ), want, 'after a remount (read from the store objects)');
});
