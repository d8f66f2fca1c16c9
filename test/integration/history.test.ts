// Time travel from the command line, on a directory store: a file put and overwritten
// twice, more than a second apart; megafs log lists the versions, megafs versions the
// file's three states, ls --at and get --at of the middle time give the middle content
// byte for byte, a relative time works, a time before the drive existed is one line and
// exit 1, and du's places add up to what the store directory holds.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { megafs, tempHome } from '../helpers/cli.js';
import { check } from '../helpers/mount.js';

interface LogRow { version: number; time: string; timeMs: number; device: string; addedBytes: number }
interface StateRow { version: number; time: string; state: string; size?: number }
interface Tally { objects: number; bytes: number }
interface DuStore { name: string; total: Tally; live: Tally; bin: Tally; versions: Tally; shares: Tally; garbage: Tally }

test('megafs log, versions, ls --at, get --at and du on a file overwritten twice', async (t) => {
  const h = await tempHome();
  t.teardown(h.cleanup);
  const store = join(h.dir, 'store');
  check(await megafs(['init', '--store', store], h.env), 'init');
  const contents = [randomBytes(1_500_000), randomBytes(40_000), randomBytes(2_100_000)];
  const before = Date.now();
  for (const [i, c] of contents.entries()) {
    if (i > 0) await sleep(1200);
    const local = join(h.dir, `v${i}`);
    await writeFile(local, c);
    check(await megafs(['put', local, '/f.bin'], h.env), `put ${i}`);
  }

  const log = JSON.parse(check(await megafs(['log', '--json'], h.env), 'log')) as LogRow[];
  t.true(log.length >= 3, JSON.stringify(log));
  t.true(log.every((r, i) => i === 0 || r.version < log[i - 1].version), 'newest first');
  t.true(log.every((r) => /^[0-9a-f]{8}$/.test(r.device) && r.time === new Date(Math.floor(r.timeMs / 1000) * 1000).toISOString().replace('.000Z', 'Z')));
  t.true(log[0].addedBytes >= contents[2].length, 'the last put added its content');
  const text = check(await megafs(['log', '--limit', '2'], h.env), 'log text').trim().split('\n');
  t.is(text.length, 2);
  t.regex(text[0], new RegExp(`^${log[0].version}  ${log[0].time}  just now +${log[0].device}  \\+[0-9.]+ MiB$`));

  const states = JSON.parse(check(await megafs(['versions', '/f.bin', '--json'], h.env), 'versions')) as StateRow[];
  t.deepEqual(states.map((s) => s.size), contents.map((c) => c.length).reverse(), JSON.stringify(states));
  t.true(states.every((s) => s.state === 'present'));
  const vtext = check(await megafs(['versions', '/f.bin'], h.env), 'versions text').trim().split('\n');
  t.is(vtext.length, 3);

  // The middle state, by the time megafs versions printed for it.
  const middle = states[1].time;
  const ls = JSON.parse(check(await megafs(['ls', '--at', middle, '/', '--json'], h.env), 'ls --at')) as Array<{ name: string; size: number }>;
  t.deepEqual(ls.map((e) => [e.name, e.size]), [['f.bin', contents[1].length]]);
  const out = join(h.dir, 'middle');
  check(await megafs(['get', '--at', middle, '/f.bin', out], h.env), 'get --at');
  t.true((await readFile(out)).equals(contents[1]), 'the middle content, byte for byte');
  const first = join(h.dir, 'first');
  check(await megafs(['get', '/f.bin', first, '--at', states[2].time], h.env), 'get --at first');
  t.true((await readFile(first)).equals(contents[0]));
  // Without --at: the drive as it is now, as before.
  const current = join(h.dir, 'current');
  check(await megafs(['get', '/f.bin', current], h.env), 'get');
  t.true((await readFile(current)).equals(contents[2]));

  // A relative time: a second ago is after the last put (it ended more than a second ago).
  await sleep(1500);
  const rel = join(h.dir, 'rel');
  check(await megafs(['get', '--at', '1 s ago', '/f.bin', rel], h.env), 'get --at relative');
  t.true((await readFile(rel)).equals(contents[2]));
  // An hour ago, and a fixed time before the drive existed: no version.
  for (const at of ['1h', new Date(before - 60_000).toISOString()]) {
    const r = await megafs(['ls', '--at', at, '/'], h.env);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /^megafs: no version of the drive at \S+Z: the oldest it keeps is from \S+Z\n$/);
  }
  const absent = await megafs(['get', '--at', middle, '/nothing', join(h.dir, 'x')], h.env);
  t.is(absent.code, 1);
  t.regex(absent.stderr, /^megafs: ENOENT: \/nothing did not exist at /);
  t.is(absent.stderr.trim().split('\n').length, 1);
  const bad = await megafs(['ls', '--at', 'soon', '/'], h.env);
  t.is(bad.code, 2);

  // du: each place counted once; together they are what the store directory holds.
  const du = JSON.parse(check(await megafs(['du', '--json'], h.env), 'du')) as { stores: DuStore[] };
  t.is(du.stores.length, 1);
  const s = du.stores[0];
  const places = [s.live, s.bin, s.versions, s.shares, s.garbage];
  t.is(places.reduce((n, p) => n + p.objects, 0), s.total.objects);
  t.is(places.reduce((n, p) => n + p.bytes, 0), s.total.bytes);
  let files = 0;
  let bytes = 0;
  for (const f of await readdir(store, { recursive: true, withFileTypes: true })) {
    if (f.isFile() && /^[0-9a-f]{64}$/.test(f.name)) { files++; bytes += (await stat(join(f.parentPath, f.name))).size; }
  }
  t.deepEqual([s.total.objects, s.total.bytes], [files, bytes]);
  t.true(s.live.bytes >= contents[2].length);
  // The two overwritten contents went to the bin (put truncates the old file).
  t.true(s.bin.bytes >= contents[0].length + contents[1].length, JSON.stringify(s));
  t.regex(check(await megafs(['du'], h.env), 'du text'), /^root version \d+\nstore fs:.*\n {2}live \(the drive now\) +[0-9.]+ MiB +\d+ objects\n/);
});
