// The one errno table of the FUSE edge: POSIX codes map to themselves, store and
// integrity failures to what an application can act on, anything unknown to EIO.
import test from 'ava';
import { IntegrityError, MegafsError, StoreError, fsError } from '../../src/errors.js';
import { ERRNO, toErrno } from '../../src/fuse/errno.js';

test('POSIX-shaped vfs errors keep their errno', (t) => {
  t.is(toErrno(fsError('ENOENT', '/x')), -ERRNO.ENOENT);
  t.is(toErrno(fsError('ENOTEMPTY', '/d')), -ERRNO.ENOTEMPTY);
  t.is(toErrno(fsError('ENAMETOOLONG', '/n')), -ERRNO.ENAMETOOLONG);
  t.is(toErrno(fsError('ENODATA', 'user.x')), -ERRNO.ENODATA);
});

test('integrity and rollback are EIO, quota is EDQUOT, a store that is down is EIO', (t) => {
  t.is(toErrno(new IntegrityError('tampered')), -ERRNO.EIO);
  t.is(toErrno(new MegafsError('E_ROLLBACK', 'old root')), -ERRNO.EIO);
  t.is(toErrno(new StoreError('E_QUOTA', 'full')), -ERRNO.EDQUOT);
  t.is(toErrno(new StoreError('E_UNAVAILABLE', 'down')), -ERRNO.EIO);
});

test('node errors keep their errno; anything else is EIO with a log line', (t) => {
  const lines: string[] = [];
  const enoent = Object.assign(new Error('x'), { code: 'ENOENT' });
  t.is(toErrno(enoent, (l) => lines.push(l)), -ERRNO.ENOENT);
  t.is(lines.length, 0);
  t.is(toErrno(new Error('surprise'), (l) => lines.push(l)), -ERRNO.EIO);
  t.is(toErrno(new MegafsError('E_BAD_LINK', 'x'), (l) => lines.push(l)), -ERRNO.EIO);
  t.is(lines.length, 2);
});
