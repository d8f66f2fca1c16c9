// megafs gc from the command line on a real `megafs serve` with a quota: an account that
// is full frees what a removed file held and puts again; the server's usage goes down by
// what was deleted; a dry run says what would go and deletes nothing; the drive checks
// clean (fsck) and every file left reads back.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { megafs, tempHome } from '../helpers/cli.js';
import { check } from '../helpers/mount.js';
import { startTestServer } from '../helpers/server.js';
import { shareRoutes } from '../../src/server/shares/routes.js';

interface Report { stores: Array<{ objects: number; bytes: number; garbage: number; garbageBytes: number; deleted: number; deletedBytes: number }>; versions: { kept: number; forgotten: number } }

test('megafs gc on a full megafs serve account: the removed file\'s bytes go, usage drops, the next put fits', async (t) => {
  const MiB = 1 << 20;
  const dataDir = await mkdtemp(join(tmpdir(), 'megafs-gc-serve-'));
  const server = await startTestServer({ dataDir, quotaBytes: 12 * MiB, routes: shareRoutes({ dataDir, adminTokenHash: null }) });
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  t.teardown(() => server.close());
  const h = await tempHome();
  t.teardown(h.cleanup);
  check(await megafs(['init', '--store', server.url, '--user', 'gina'], h.env), 'init');
  const put = async (name: string, bytes: Uint8Array) => {
    const local = join(h.dir, `local-${name}`);
    await writeFile(local, bytes);
    return megafs(['put', local, `/${name}`], h.env);
  };
  const keep = randomBytes(100_000);
  check(await put('keep.bin', keep), 'put keep');
  check(await put('big.bin', randomBytes(8 * MiB)), 'put big');
  // A link names the drive's own chunks; the share's record (DRIVE.shares) keeps them,
  // also once the file is gone from the tree.
  const link = (JSON.parse(check(await megafs(['share', '/keep.bin', '--json'], h.env), 'share')) as { link: string }).link;
  const gone = randomBytes(50_000);
  check(await put('gone.bin', gone), 'put gone');
  const goneLink = (JSON.parse(check(await megafs(['share', '/gone.bin', '--json'], h.env), 'share')) as { link: string }).link;
  check(await megafs(['rm', '/gone.bin'], h.env), 'rm gone');
  check(await megafs(['rm', '/big.bin'], h.env), 'rm');
  check(await megafs(['trash', 'empty'], h.env), 'trash empty'); // else the bin keeps it
  const used = async (): Promise<number> => {
    let n = 0;
    for (const f of await readdir(server.dataDir, { recursive: true, withFileTypes: true })) if (f.isFile() && /^[0-9a-f]{64}$/.test(f.name)) n += (await stat(join(f.parentPath, f.name))).size;
    return n;
  };
  const before = await used();
  t.true(before + 8 * MiB > 12 * MiB, `${before} bytes held: another 8 MiB does not fit the 12 MiB quota`);

  const dry = await megafs(['gc', '--dry-run', '--json', '--forget-older-than', '0', '--clock-allowance', '0'], h.env);
  t.is(dry.code, 0, dry.stderr);
  const d = JSON.parse(dry.stdout) as Report;
  t.true(d.stores[0].garbageBytes >= 8 * MiB, dry.stdout);
  t.is(d.stores[0].deleted, 0);

  const gc = await megafs(['gc', '--json', '--forget-older-than', '0', '--clock-allowance', '0'], h.env);
  t.is(gc.code, 0, gc.stderr);
  const r = JSON.parse(gc.stdout) as Report;
  t.true(r.stores[0].deletedBytes >= 8 * MiB, gc.stdout);
  t.is(r.versions.kept, 1);
  t.deepEqual((r as unknown as { sessions: { live: number } }).sessions.live, 0, 'every CLI command gave its lease back');
  // The collector never tried to delete what a live link names (the server would refuse).
  t.is((r.stores[0] as { shared?: number }).shared, 0, gc.stdout);
  const out = join(h.dir, 'via-link');
  check(await megafs(['get', link, '-o', out], h.env), 'get link');
  t.true((await readFile(out)).equals(keep));
  check(await megafs(['get', goneLink, '-o', join(h.dir, 'via-link-gone')], h.env), 'get link of a removed file');
  t.true((await readFile(join(h.dir, 'via-link-gone'))).equals(gone));
  const text = await megafs(['gc', '--dry-run'], h.env);
  t.regex(text.stdout, /^root version \d+: \d+ objects named/m);
  t.regex(text.stdout, /store http:.*objects \(.*\); would free \d+/);

  t.true(await used() <= before - 8 * MiB, 'the server holds 8 MiB less');
  check(await put('next.bin', randomBytes(8 * MiB)), 'put after gc');
  t.is(check(await megafs(['ls', '/'], h.env), 'ls').split('\n').filter(Boolean).sort().join(','), 'keep.bin,next.bin');
  t.true(Buffer.from(check(await megafs(['get', '/keep.bin', '-'], h.env), 'get'), 'latin1').length > 0);
  // Unshared, the removed file's chunk is named by nothing (the record is a tombstone of
  // file ids): the next collection frees it.
  check(await megafs(['unshare', goneLink], h.env), 'unshare');
  const gc2 = JSON.parse(check(await megafs(['gc', '--json', '--forget-older-than', '0', '--clock-allowance', '0'], h.env), 'gc 2')) as Report;
  t.true(gc2.stores[0].deletedBytes >= gone.length, JSON.stringify(gc2));
  check(await megafs(['get', link, '-o', join(h.dir, 'via-link-2')], h.env), 'the other link still opens');
  const f = await megafs(['fsck', '--json'], h.env);
  t.is(f.code, 0, f.stdout + f.stderr);
});

test('megafs gc: bad arguments are one line and exit 2', async (t) => {
  const h = await tempHome();
  t.teardown(h.cleanup);
  check(await megafs(['init', '--store', join(h.dir, 'store')], h.env), 'init');
  const r = await megafs(['gc', '--forget-older-than', 'soon'], h.env);
  t.is(r.code, 2);
  t.regex(r.stderr, /^megafs: 'soon' is not a duration/);
  t.is(r.stderr.split('\n').filter(Boolean).length, 1);
});
