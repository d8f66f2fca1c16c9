// The recovery key shown once at init unlocks the drive alone: `megafs passwd
// --recovery-key-file` sets a new password without the old one, and the files stay.
// And a store that hands out weak Argon2id parameters is refused outside tests.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { megafs, tempHome } from '../helpers/cli.js';
import { check } from '../helpers/mount.js';

test('recovery key resets a forgotten password; a typo and another drive\'s key are refused', async (t) => {
  const h = await tempHome();
  t.teardown(h.cleanup);
  const init = check(await megafs(['init', '--json'], h.env), 'init');
  const { recoveryKey } = JSON.parse(init) as { recoveryKey: string };
  const local = join(h.dir, 'note.txt');
  await writeFile(local, 'kept through a password reset\n');
  check(await megafs(['put', local, '/note.txt'], h.env), 'put');

  const other = await tempHome();
  t.teardown(other.cleanup);
  const otherKey = (JSON.parse(check(await megafs(['init', '--json'], other.env), 'init other')) as { recoveryKey: string }).recoveryKey;

  const forgot = { ...h.env, MEGAFS_PASSWORD: 'not the password' };
  const newPw = await h.passwordFile('a brand new password');
  const wrongKeyFile = join(h.dir, 'wrong-key');
  await writeFile(wrongKeyFile, `${otherKey}\n`);
  const wrong = await megafs(['passwd', '--recovery-key-file', wrongKeyFile, '--new-password-file', newPw], forgot);
  t.is(wrong.code, 3, wrong.stderr);
  t.regex(wrong.stderr, /another drive/);

  const typoFile = join(h.dir, 'typo-key');
  const typo = recoveryKey.slice(0, 10) + (recoveryKey[10] === 'A' ? 'B' : 'A') + recoveryKey.slice(11);
  await writeFile(typoFile, `${typo}\n`);
  const bad = await megafs(['passwd', '--recovery-key-file', typoFile, '--new-password-file', newPw], forgot);
  t.is(bad.code, 3, bad.stderr);

  const keyFile = join(h.dir, 'recovery-key');
  await writeFile(keyFile, `${recoveryKey.toLowerCase()}\n`);
  check(await megafs(['passwd', '--recovery-key-file', keyFile, '--new-password-file', newPw], forgot), 'passwd via recovery key');

  t.is((await megafs(['ls', '/'], h.env)).code, 3, 'the old password no longer opens the drive');
  const out = join(h.dir, 'back.txt');
  check(await megafs(['get', '--password-file', newPw, '/note.txt', out], forgot), 'get with the new password');
  t.is(await readFile(out, 'utf8'), 'kept through a password reset\n');
});

test('a drive whose header asks for weak Argon2id parameters is refused outside tests', async (t) => {
  const h = await tempHome();
  t.teardown(h.cleanup);
  check(await megafs(['init'], h.env), 'init'); // MEGAFS_TEST_KDF=1: cheap parameters
  const { MEGAFS_TEST_KDF: _cheap, ...env } = h.env;
  const r = await megafs(['ls', '/'], env);
  t.not(r.code, 0);
  t.regex(r.stderr, /^megafs: .*weak Argon2id parameters/);
  t.is(r.stderr.trim().split('\n').length, 1);
});
