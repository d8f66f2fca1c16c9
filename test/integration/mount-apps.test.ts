// Real programs on a real mount (megafs mount, local directory store): cp -a / diff -r,
// tar, rsync, git, sqlite3, fio with verification, an editor-style save. Then the store
// and cache are searched for the plaintext and the names: none may appear.
import test from 'ava';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BINDINGS, grepFor, testMount } from '../helpers/mount.js';

const LONG_NAME = `${'n'.repeat(250)}.long`; // 255 bytes
const MARK = 'megafsPlainMarker7q3';

/** A local tree with symlinks and odd names; returns its path. */
async function oddTree(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'megafs-tree-'));
  await mkdir(join(root, 'dir with spaces/ünïcödé ☃'), { recursive: true });
  await writeFile(join(root, 'dir with spaces/ünïcödé ☃/file name.txt'), `${MARK} inside a unicode dir\n`);
  await writeFile(join(root, LONG_NAME), Buffer.alloc(300_000, 7));
  await writeFile(join(root, 'empty'), '');
  await writeFile(join(root, `${MARK}-named-file`), 'x');
  await symlink('dir with spaces', join(root, 'link to dir'));
  await symlink('does-not-exist', join(root, 'dangling'));
  await symlink(LONG_NAME, join(root, 'link-to-long'));
  return root;
}

for (const binding of BINDINGS) {
  test(`[${binding}] cp -a and diff -r of a tree with symlinks and odd names; nothing readable in the store`, async (t) => {
    const m = await testMount(t, { binding });
    const src = await oddTree();
    t.teardown(() => rm(src, { recursive: true, force: true }));
    await m.sh('cp', ['-a', `${src}/.`, join(m.dir, 'copy')]);
    await m.sh('diff', ['-r', '--no-dereference', src, join(m.dir, 'copy')]);
    t.is((await m.sh('readlink', [join(m.dir, 'copy/link to dir')])).trim(), 'dir with spaces');
    await m.unmount();
    const leaks = await grepFor([m.storeDir, join(m.home.dir, 'cache'), join(m.home.dir, 'state')], [MARK, 'dir with spaces', 'ünïcödé', LONG_NAME]);
    t.deepEqual(leaks, []);
    const named = await m.sh('find', [m.home.dir, '-name', `*${MARK}*`], { cwd: '/' });
    t.is(named.trim(), '');
    await m.mount();
    await m.sh('diff', ['-r', '--no-dereference', src, join(m.dir, 'copy')]);
  });

  test(`[${binding}] tar x and tar c round trip`, async (t) => {
    const m = await testMount(t, { binding });
    const src = await oddTree();
    const work = await mkdtemp(join(tmpdir(), 'megafs-tar-'));
    t.teardown(() => Promise.all([rm(src, { recursive: true, force: true }), rm(work, { recursive: true, force: true })]));
    await m.sh('tar', ['cf', join(work, 'in.tar'), '-C', src, '.']);
    await mkdir(join(work, 'x'));
    await m.sh('mkdir', ['t']);
    await m.sh('tar', ['xf', join(work, 'in.tar'), '-C', join(m.dir, 't')]);
    await m.sh('diff', ['-r', '--no-dereference', src, join(m.dir, 't')]);
    await m.sh('tar', ['cf', join(m.dir, 'out.tar'), '-C', join(m.dir, 't'), '.']);
    await m.sh('tar', ['xf', join(m.dir, 'out.tar'), '-C', join(work, 'x')], { cwd: work });
    await m.sh('diff', ['-r', '--no-dereference', src, join(work, 'x')], { cwd: work });
    t.pass();
  });

  test(`[${binding}] rsync -a, then a second rsync -a finds nothing to do`, async (t) => {
    const m = await testMount(t, { binding });
    const src = await oddTree();
    t.teardown(() => rm(src, { recursive: true, force: true }));
    await m.sh('rsync', ['-a', `${src}/`, join(m.dir, 'r/')]);
    await m.sh('diff', ['-r', '--no-dereference', src, join(m.dir, 'r')]);
    const second = await m.sh('rsync', ['-a', '-i', `${src}/`, join(m.dir, 'r/')]);
    t.is(second.trim(), '');
  });

  test(`[${binding}] git init, commit, gc and fsck`, async (t) => {
    const m = await testMount(t, { binding });
    const repo = join(m.dir, 'repo');
    const git = (...args: string[]): Promise<string> =>
      m.sh('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd: repo });
    await m.sh('mkdir', ['repo']);
    await git('init', '-q');
    for (let i = 0; i < 5; i++) {
      await m.sh('sh', ['-c', `seq 1 ${1000 * (i + 1)} > file${i}.txt`], { cwd: repo });
      await git('add', '.');
      await git('commit', '-q', '-m', `commit ${i}`);
    }
    await git('gc', '-q');
    await git('fsck', '--full', '--strict');
    t.is((await git('rev-list', '--count', 'HEAD')).trim(), '5');
  });

  test(`[${binding}] sqlite3 database passes PRAGMA integrity_check`, async (t) => {
    const m = await testMount(t, { binding });
    const sql = [
      'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);',
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) INSERT INTO t(v) SELECT hex(randomblob(40)) FROM c;',
      'CREATE INDEX tv ON t(v);',
      'DELETE FROM t WHERE id % 3 = 0;',
      'VACUUM;',
    ].join('\n');
    await m.sh('sqlite3', [join(m.dir, 'db.sqlite'), sql]);
    t.is((await m.sh('sqlite3', [join(m.dir, 'db.sqlite'), 'PRAGMA integrity_check;'])).trim(), 'ok');
    t.is((await m.sh('sqlite3', [join(m.dir, 'db.sqlite'), 'SELECT count(*) FROM t;'])).trim(), String(20000 - Math.floor(20000 / 3)));
  });

  test(`[${binding}] editor-style save: write temp, fsync, rename over`, async (t) => {
    const m = await testMount(t, { binding });
    await m.sh('sh', ['-c', 'printf "version 1\\n" > doc.txt']);
    const save = 'printf "version 2\\n" > .doc.txt.swp && sync .doc.txt.swp && mv -f .doc.txt.swp doc.txt && sync .';
    await m.sh('sh', ['-c', save]);
    t.is(await m.sh('cat', ['doc.txt']), 'version 2\n');
    t.is((await m.sh('ls', ['-A'])).trim(), 'doc.txt');
    await m.unmount();
    await m.mount();
    t.is(await m.sh('cat', ['doc.txt']), 'version 2\n');
  });

  test(`[${binding}] file capabilities: setcap sticks, and a write drops them (also after a remount)`, async (t) => {
    // The kernel asks for security.capability before every write and removes it when it
    // is there; the native binding answers "none" itself only while no file has one.
    const m = await testMount(t, { binding });
    await m.sh('sh', ['-c', 'echo one > f && echo one > g']);
    t.is((await m.sh('getcap', ['f'])).trim(), '');
    await m.sh('setcap', ['cap_net_raw+ep', 'f']);
    await m.sh('setcap', ['cap_net_raw+ep', 'g']);
    t.regex(await m.sh('getcap', ['f']), /cap_net_raw=ep/);
    await m.sh('sh', ['-c', 'echo two >> f']);
    t.is((await m.sh('getcap', ['f'])).trim(), '', 'a write drops file capabilities');
    t.is(await m.sh('cat', ['f']), 'one\ntwo\n');
    await m.unmount();
    await m.mount();
    t.regex(await m.sh('getcap', ['g']), /cap_net_raw=ep/);
    await m.sh('sh', ['-c', 'echo two >> g']);
    t.is((await m.sh('getcap', ['g'])).trim(), '', 'loaded from the tree: still dropped by a write');
  });

  test(`[${binding}] fio verify=crc32c over a 256 MiB file`, async (t) => {
    const m = await testMount(t, { binding });
    const out = await m.sh('fio', [
      '--name=verify', `--filename=${join(m.dir, 'fio.dat')}`, '--size=256M', '--bs=128k', '--rw=write',
      '--verify=crc32c', '--do_verify=1', '--fsync_on_close=1', '--ioengine=psync', '--output-format=terse',
    ]);
    t.notRegex(out, /verify: bad/);
    await m.unmount();
    await m.mount();
    await m.sh('fio', [
      '--name=verify-again', `--filename=${join(m.dir, 'fio.dat')}`, '--size=256M', '--bs=128k', '--rw=read',
      '--verify=crc32c', '--verify_only=1', '--ioengine=psync', '--output-format=terse',
    ]);
    t.pass();
  });
}
