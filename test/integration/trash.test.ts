// megafs trash from the command line, and the bin through a real mount: rm (CLI) and
// rm, an editor-style save (write a temporary file, rename it over) and `>` (O_TRUNC)
// in the mount put the old content in the bin; the mount shows no bin folder; trash ls
// lists it; restore brings it back byte-exact (to its place, or --to elsewhere, a whole
// removed folder too); empty drops it; bad input is one line with the documented code.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { megafs, tempHome } from '../helpers/cli.js';
import { check, testMount } from '../helpers/mount.js';

interface Rec { path: string; size: number; deleted: string; type: string }

test('megafs trash: rm, an editor save and O_TRUNC in the mount fill the bin; restore and empty from the CLI', async (t) => {
  const m = await testMount(t);
  const a = randomBytes(1_500_000);
  await writeFile(join(m.dir, 'a.bin'), a);
  await m.sh('mkdir', ['-p', 'docs/sub']);
  await writeFile(join(m.dir, 'docs/sub/note.txt'), 'first draft\n');
  await writeFile(join(m.dir, 'docs/plan.txt'), 'plan v1\n');
  await writeFile(join(m.dir, 'log.txt'), 'old log\n');
  await m.sh('sync', []);
  await new Promise((r) => setTimeout(r, 1500)); // committed and uploaded
  // An editor's save: a new file renamed over the old one; a shell's `>`; an rm.
  await m.sh('sh', ['-c', 'printf "plan v2\\n" > docs/.plan.swp && mv docs/.plan.swp docs/plan.txt']);
  await m.sh('sh', ['-c', 'printf "new log\\n" > log.txt']);
  await m.sh('rm', ['a.bin']);
  await m.sh('rm', ['-r', 'docs/sub']);
  t.deepEqual((await m.sh('ls', ['-A'])).split('\n').filter(Boolean).sort(), ['docs', 'log.txt'], 'no bin folder in the mount');
  await m.unmount();

  const ls = JSON.parse(check(await megafs(['trash', 'ls', '--json'], m.home.env), 'trash ls')) as Rec[];
  t.deepEqual(ls.map((r) => r.path).sort(), ['/a.bin', '/docs/plan.txt', '/docs/sub/note.txt', '/log.txt']);
  t.is(ls.find((r) => r.path === '/a.bin')!.size, a.length);
  t.regex(check(await megafs(['trash', 'ls'], m.home.env), 'trash ls'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +just now +1\.4 MiB +\/a\.bin$/m);

  t.regex(check(await megafs(['trash', 'restore', '/a.bin'], m.home.env), 'restore'), /^restored \/a\.bin \(1\.4 MiB, removed /);
  check(await megafs(['get', '/a.bin', join(m.home.dir, 'a.out')], m.home.env), 'get');
  t.true((await readFile(join(m.home.dir, 'a.out'))).equals(a));
  // The old plan is restored beside the new one; the removed folder comes back whole.
  const taken = await megafs(['trash', 'restore', '/docs/plan.txt'], m.home.env);
  t.is(taken.code, 1);
  t.is(taken.stderr, 'megafs: /docs/plan.txt exists: restore it elsewhere with --to DEST\n');
  check(await megafs(['trash', 'restore', '/docs/plan.txt', '--to', '/docs/plan-v1.txt'], m.home.env), 'restore --to');
  check(await megafs(['trash', 'restore', '/docs/sub'], m.home.env), 'restore folder');
  t.is(check(await megafs(['get', '/docs/plan-v1.txt', '-'], m.home.env), 'get'), 'plan v1\n');
  t.is(check(await megafs(['get', '/docs/plan.txt', '-'], m.home.env), 'get'), 'plan v2\n');
  t.is(check(await megafs(['get', '/docs/sub/note.txt', '-'], m.home.env), 'get'), 'first draft\n');

  const left = JSON.parse(check(await megafs(['trash', 'ls', '--json'], m.home.env), 'trash ls')) as Rec[];
  t.deepEqual(left.map((r) => r.path), ['/log.txt']);
  t.regex(check(await megafs(['trash', 'empty', '--older-than', '1d'], m.home.env), 'empty'), /^emptied 0 entries/);
  t.regex(check(await megafs(['trash', 'empty'], m.home.env), 'empty'), /^emptied 1 entries \(8 B\)/);
  t.is(check(await megafs(['trash', 'ls'], m.home.env), 'trash ls'), 'the bin is empty\n');

  const none = await megafs(['trash', 'restore', '/never'], m.home.env);
  t.is(none.code, 1);
  t.is(none.stderr, 'megafs: nothing in the bin was at /never (megafs trash ls lists it)\n');
  const bad = await megafs(['trash', 'sweep'], m.home.env);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^megafs: usage: megafs trash ls/);
  await m.mount();
  t.is(await m.sh('cat', ['docs/sub/note.txt']), 'first draft\n');
});

test('megafs trash on a drive with no mount: rm then restore through the CLI only', async (t) => {
  const h = await tempHome();
  t.teardown(h.cleanup);
  check(await megafs(['init', '--store', join(h.dir, 'store')], h.env), 'init');
  await writeFile(join(h.dir, 'f'), 'content\n');
  check(await megafs(['put', join(h.dir, 'f'), '/f'], h.env), 'put');
  check(await megafs(['rm', '/f'], h.env), 'rm');
  t.is(check(await megafs(['ls', '/'], h.env), 'ls'), '');
  check(await megafs(['trash', 'restore', '/f'], h.env), 'restore');
  t.is(check(await megafs(['get', '/f', '-'], h.env), 'get'), 'content\n');
});
