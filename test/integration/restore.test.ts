// megafs restore PATH --at TIME [--to DEST] from the command line: a file as it was
// (the current content goes to the bin), a whole folder --to a new place, nothing copied
// (the store grows by tree objects only); bad input is one line and its exit code.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { megafs, tempHome } from '../helpers/cli.js';
import { check } from '../helpers/mount.js';

async function storeBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(join(dir, 'objects'), { recursive: true, withFileTypes: true })) {
    if (f.isFile()) n += (await stat(join(f.parentPath, f.name))).size;
  }
  return n;
}

test('megafs restore --at: a file as it was, a folder --to elsewhere, nothing copied', async (t) => {
  const h = await tempHome();
  t.teardown(h.cleanup);
  const store = join(h.dir, 'store');
  check(await megafs(['init', '--store', store], h.env), 'init');
  const put = async (local: string, path: string, body: Uint8Array | string) => {
    await writeFile(join(h.dir, local), body);
    check(await megafs(['put', join(h.dir, local), path], h.env), `put ${path}`);
  };
  const big = randomBytes(2_500_000);
  check(await megafs(['mkdir', '/proj'], h.env), 'mkdir');
  await put('a', '/proj/a.txt', 'first\n');
  await put('big', '/proj/big.bin', big);
  await new Promise((r) => setTimeout(r, 1100));
  const log = JSON.parse(check(await megafs(['log', '--json'], h.env), 'log')) as Array<{ time: string }>;
  const then = log[0].time;
  await new Promise((r) => setTimeout(r, 1100));
  await put('a2', '/proj/a.txt', 'second\n');
  check(await megafs(['rm', '-r', '/proj/big.bin'], h.env), 'rm');

  const before = await storeBytes(store);
  const asks = await megafs(['restore', '/proj/a.txt', '--at', then], h.env);
  t.is(asks.code, 1);
  t.is(asks.stderr, 'megafs: /proj/a.txt exists: --force replaces it (its content now goes to the bin), or restore it --to DEST\n');
  t.is(check(await megafs(['get', '/proj/a.txt', '-'], h.env), 'get'), 'second\n', 'nothing changed');
  t.regex(check(await megafs(['restore', '/proj/a.txt', '--at', then, '--force'], h.env), 'restore'), /^restored \/proj\/a\.txt as it was at .* \(version \d+\)\n$/);
  t.is(check(await megafs(['get', '/proj/a.txt', '-'], h.env), 'get'), 'first\n');
  const bin = JSON.parse(check(await megafs(['trash', 'ls', '--json'], h.env), 'trash')) as Array<{ path: string; size: number }>;
  t.true(bin.some((r) => r.path === '/proj/a.txt' && r.size === 7), 'the replaced content is in the bin');

  t.regex(check(await megafs(['restore', '/proj', '--at', then, '--to', '/proj-then'], h.env), 'restore dir'), /\(the whole folder\)/);
  t.deepEqual(check(await megafs(['ls', '/proj-then'], h.env), 'ls').split('\n').filter(Boolean).sort(), ['a.txt', 'big.bin']);
  check(await megafs(['get', '/proj-then/big.bin', join(h.dir, 'big.out')], h.env), 'get big');
  t.true((await readFile(join(h.dir, 'big.out'))).equals(big));
  t.true(await storeBytes(store) - before < 64 * 1024, 'restoring copied no content');

  const folder = await megafs(['restore', '/proj', '--at', then], h.env);
  t.is(folder.code, 1);
  t.is(folder.stderr, 'megafs: /proj is a folder now: restore it elsewhere with --to DEST\n');
  const absent = await megafs(['restore', '/nope', '--at', then], h.env);
  t.is(absent.code, 1);
  t.regex(absent.stderr, /^megafs: \/nope did not exist at .*\n$/);
  const early = await megafs(['restore', '/proj/a.txt', '--at', '2001-01-01T00:00:00Z'], h.env);
  t.is(early.code, 1);
  t.regex(early.stderr, /^megafs: no version of the drive at 2001-01-01T00:00:00Z: the oldest it keeps is from /);
  const noAt = await megafs(['restore', '/proj/a.txt'], h.env);
  t.is(noAt.code, 2);
  t.regex(noAt.stderr, /^megafs: restore needs --at TIME/);
});
