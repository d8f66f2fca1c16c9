// The megafs command line in child processes: help and version, one clear line and a
// non-zero exit for each bad input, put/get/ls/rm/mkdir without a mount, passwd.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { megafs, run, tempHome, type Home, type Result } from '../helpers/cli.js';
import { check, testMount } from '../helpers/mount.js';
import { startTestServer } from '../helpers/server.js';

async function home(t: ExecutionContext, init = false): Promise<Home> {
  const h = await tempHome();
  t.teardown(h.cleanup);
  if (init) check(await megafs(['init'], h.env), 'init');
  return h;
}

/** One line on stderr and the expected exit code. */
function failsWith(t: ExecutionContext, r: Result, code: number): void {
  t.is(r.code, code, r.stderr);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.regex(r.stderr, /^megafs: /);
}

test('--help lists the commands; COMMAND --help prints its usage', async (t) => {
  const h = await home(t);
  const r = await megafs(['--help'], h.env);
  t.is(r.code, 0);
  for (const c of ['init', 'login', 'mount', 'unmount', 'status', 'ls', 'put', 'get', 'rm', 'mkdir', 'passwd', 'fsck', 'serve']) {
    t.regex(r.stdout, new RegExp(`^  ${c} `, 'm'));
  }
  const put = await megafs(['put', '--help'], h.env);
  t.is(put.code, 0);
  t.regex(put.stdout, /usage: megafs put/);
});

test('--version prints the package version', async (t) => {
  const h = await home(t);
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  t.is((await megafs(['--version'], h.env)).stdout, `megafs ${pkg.version}\n`);
});

test('usage errors: unknown command, unknown flag, missing arguments (exit 2)', async (t) => {
  const h = await home(t);
  failsWith(t, await megafs(['frobnicate'], h.env), 2);
  failsWith(t, await megafs(['ls', '--bogus'], h.env), 2);
  failsWith(t, await megafs(['put', 'only-one'], h.env), 2);
  failsWith(t, await megafs(['mount', '--cache-size', 'lots', join(h.dir, 'x')], h.env), 2);
});

test('no drive (exit 4), wrong password (exit 3), init over a drive (exit 4)', async (t) => {
  const h = await home(t);
  failsWith(t, await megafs(['ls'], h.env), 4);
  check(await megafs(['init'], h.env), 'init');
  failsWith(t, await megafs(['ls'], { ...h.env, MEGAFS_PASSWORD: 'wrong' }), 3);
  failsWith(t, await megafs(['ls', '--password-file', await h.passwordFile('also wrong')], h.env), 3);
  failsWith(t, await megafs(['init'], h.env), 4);
});

test('mount point missing, not a directory, not empty (exit 7)', async (t) => {
  const h = await home(t, true);
  failsWith(t, await megafs(['mount', join(h.dir, 'missing')], h.env), 7);
  await writeFile(join(h.dir, 'file'), 'x');
  failsWith(t, await megafs(['mount', join(h.dir, 'file')], h.env), 7);
  await mkdir(join(h.dir, 'full'));
  await writeFile(join(h.dir, 'full/x'), 'x');
  failsWith(t, await megafs(['mount', join(h.dir, 'full')], h.env), 7);
});

test('mount point busy (exit 7); unmount of nothing mounted (exit 7)', async (t) => {
  const m = await testMount(t);
  failsWith(t, await megafs(['mount', m.dir], m.home.env), 7);
  await m.unmount();
  failsWith(t, await megafs(['unmount', m.dir], m.home.env), 7);
});

test('FUSE missing says how to install it (exit 7)', async (t) => {
  const h = await home(t, true);
  await mkdir(join(h.dir, 'mnt'));
  const r = await megafs(['mount', join(h.dir, 'mnt')], { ...h.env, PATH: '/nonexistent', MEGAFS_FUSE: 'fuse-native' });
  failsWith(t, r, 7);
  t.regex(r.stderr, /apt-get install libfuse2 fuse/);
});

test('store unreachable (exit 5)', async (t) => {
  const h = await home(t);
  failsWith(t, await megafs(['login', '--store', 'http://127.0.0.1:1', '--user', 'alice'], h.env), 5);
});

test('put, ls, get, rm and mkdir without a mount', async (t) => {
  const h = await home(t, true);
  const data = randomBytes(3 * 1024 * 1024 + 17);
  await writeFile(join(h.dir, 'local.bin'), data);
  check(await megafs(['mkdir', '-p', '/docs/deep'], h.env), 'mkdir');
  check(await megafs(['put', join(h.dir, 'local.bin'), '/docs'], h.env), 'put');
  const listed = JSON.parse(check(await megafs(['ls', '/docs', '--json'], h.env), 'ls')) as Array<{ name: string; type: string; size: number }>;
  t.deepEqual(listed.map((e) => [e.name, e.type, e.type === 'file' ? e.size : 0]), [['deep', 'dir', 0], ['local.bin', 'file', data.length]]);
  check(await megafs(['get', '/docs/local.bin', join(h.dir, 'back.bin')], h.env), 'get');
  t.true(data.equals(await readFile(join(h.dir, 'back.bin'))));
  t.is(check(await megafs(['ls', '/docs'], h.env), 'ls'), 'deep/\nlocal.bin\n');
  check(await megafs(['rm', '/docs/local.bin'], h.env), 'rm');
  failsWith(t, await megafs(['get', '/docs/local.bin', join(h.dir, 'gone.bin')], h.env), 1);
  check(await megafs(['rm', '-r', '/docs'], h.env), 'rm -r');
  t.is(check(await megafs(['ls'], h.env), 'ls'), '');
});

test('names that are not UTF-8: ls prints \\xHH, paths take it back (put, get, rm)', async (t) => {
  const h = await home(t, true);
  await writeFile(join(h.dir, 'a'), 'first\n');
  await writeFile(join(h.dir, 'b'), 'second\n');
  check(await megafs(['put', join(h.dir, 'a'), '/q-\\xff'], h.env), 'put');
  check(await megafs(['put', join(h.dir, 'b'), '/q-\\xfe'], h.env), 'put');
  check(await megafs(['put', join(h.dir, 'b'), '/back\\\\slash'], h.env), 'put');
  t.is(check(await megafs(['ls'], h.env), 'ls'), 'back\\\\slash\nq-\\xfe\nq-\\xff\n');
  const listed = JSON.parse(check(await megafs(['ls', '--json'], h.env), 'ls')) as Array<{ name: string; nameBytes?: string }>;
  t.deepEqual(listed.map((e) => [e.name, e.nameBytes && Buffer.from(e.nameBytes, 'base64').toString('hex')]),
    [['back\\\\slash', Buffer.from('back\\slash').toString('hex')], ['q-\\xfe', '712dfe'], ['q-\\xff', '712dff']]);
  t.is(check(await megafs(['get', '/q-\\xff', '-'], h.env), 'get'), 'first\n');
  t.is(check(await megafs(['get', '/q-\\xfe', '-'], h.env), 'get'), 'second\n');
  failsWith(t, await megafs(['put', join(h.dir, 'a'), '/a\\x2fb'], h.env), 2);
  check(await megafs(['rm', '/q-\\xff'], h.env), 'rm');
  t.is(check(await megafs(['ls'], h.env), 'ls'), 'back\\\\slash\nq-\\xfe\n');
});

test('get to stdout', async (t) => {
  const h = await home(t, true);
  await writeFile(join(h.dir, 'note.txt'), 'hello from the drive\n');
  check(await megafs(['put', join(h.dir, 'note.txt'), '/note.txt'], h.env), 'put');
  t.is(check(await megafs(['get', '/note.txt', '-'], h.env), 'get'), 'hello from the drive\n');
});

test('passwd: the old password stops working, the data stays', async (t) => {
  const h = await home(t, true);
  await writeFile(join(h.dir, 'keep.txt'), 'kept across passwd\n');
  check(await megafs(['put', join(h.dir, 'keep.txt'), '/keep.txt'], h.env), 'put');
  check(await megafs(['passwd', '--new-password-file', await h.passwordFile('a new password')], h.env), 'passwd');
  failsWith(t, await megafs(['ls'], h.env), 3);
  const env = { ...h.env, MEGAFS_PASSWORD: 'a new password' };
  t.is(check(await megafs(['get', '/keep.txt', '-'], env), 'get'), 'kept across passwd\n');
});

test('status --json while mounted', async (t) => {
  const m = await testMount(t);
  const s = JSON.parse(check(await megafs(['status', '--json'], m.home.env), 'status')) as {
    mounts: Array<{ mountpoint: string; vfs: { dirtyBytes: number }; stores: Array<{ ok: boolean }> }>;
  };
  t.is(s.mounts.length, 1);
  t.is(s.mounts[0].mountpoint, m.dir);
  t.true(s.mounts[0].stores.every((x) => x.ok));
});

test('the same drive mounted twice (exit 7)', async (t) => {
  const m = await testMount(t);
  const other = join(m.home.dir, 'second');
  await mkdir(other);
  failsWith(t, await megafs(['mount', other], m.home.env), 7);
});

test('fsck: a clean drive passes; a tampered object fails (exit 6)', async (t) => {
  const h = await home(t, true);
  await writeFile(join(h.dir, 'f.bin'), randomBytes(200_000));
  check(await megafs(['put', join(h.dir, 'f.bin'), '/f.bin'], h.env), 'put');
  const report = JSON.parse(check(await megafs(['fsck', '--json'], h.env), 'fsck')) as { checked: { files: number }; damaged: unknown[] };
  t.is(report.checked.files, 1);
  t.deepEqual(report.damaged, []);
  const objects = check(await run('find', [join(h.dir, 'store/objects'), '-type', 'f']), 'find').trim().split('\n');
  for (const o of objects) {
    const bytes = await readFile(o);
    bytes[bytes.length - 20] ^= 1;
    await writeFile(o, bytes);
  }
  await rm(join(h.dir, 'cache'), { recursive: true, force: true });
  t.is((await megafs(['fsck'], h.env)).code, 6);
});

test('init on megafs serve, then login from a second machine sees the files', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const a = await home(t);
  check(await megafs(['init', '--store', server.url, '--user', 'bob'], a.env), 'init');
  await writeFile(join(a.dir, 'shared.txt'), 'from machine A\n');
  check(await megafs(['put', join(a.dir, 'shared.txt'), '/shared.txt'], a.env), 'put');
  const b = await home(t);
  failsWith(t, await megafs(['login', '--store', server.url, '--user', 'bob'], { ...b.env, MEGAFS_PASSWORD: 'wrong' }), 3);
  check(await megafs(['login', '--store', server.url, '--user', 'bob'], b.env), 'login');
  t.is(check(await megafs(['get', '/shared.txt', '-'], b.env), 'get'), 'from machine A\n');
});
