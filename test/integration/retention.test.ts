// megafs retention: the policy lives in the drive (every device sees it), bad settings
// are one line and exit 2, and the collector keeps exactly what it says: with nothing
// kept but the current version, gc forgets the others and frees what only they named.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { megafs, tempHome } from '../helpers/cli.js';
import { check } from '../helpers/mount.js';
import { decodeDriveLevel, encodeDriveObject, TREE_DRIVE, type DriveObject } from '../../src/format/drive-object.js';

test('megafs retention: set on one machine, seen on another, honoured by gc', async (t) => {
  const a = await tempHome();
  t.teardown(a.cleanup);
  const store = join(a.dir, 'store');
  check(await megafs(['init', '--store', store], a.env), 'init');
  t.is(check(await megafs(['retention'], a.env), 'retention'), 'within=1d,hourly=168,daily=30,weekly=0,monthly=0,trash=30d\n');
  const bad = await megafs(['retention', 'daily=many'], a.env);
  t.is(bad.code, 2);
  t.is(bad.stderr, "megafs: 'daily=many': a count is a whole number like 30 (or unlimited)\n");
  check(await megafs(['retention', 'within=0,hourly=0,daily=0,monthly=unlimited'], a.env), 'set');

  const b = await tempHome();
  t.teardown(b.cleanup);
  check(await megafs(['login', '--store', store], b.env), 'login');
  t.deepEqual(JSON.parse(check(await megafs(['retention', '--json'], b.env), 'retention')), {
    keepWithinMs: 0, hourly: 0, daily: 0, weekly: 0, monthly: 'unlimited', trashMs: 30 * 86400_000,
  });
  check(await megafs(['retention', 'monthly=0'], b.env), 'set on b');

  for (const n of [1, 2, 3]) {
    await writeFile(join(a.dir, 'f'), randomBytes(200_000));
    check(await megafs(['put', join(a.dir, 'f'), `/f${n}`], a.env), 'put');
  }
  check(await megafs(['rm', '/f1'], a.env), 'rm');
  check(await megafs(['trash', 'empty'], a.env), 'empty');
  const r = JSON.parse(check(await megafs(['gc', '--json', '--clock-allowance', '0'], a.env), 'gc')) as { versions: { kept: number; forgotten: number }; stores: Array<{ deletedBytes: number }> };
  t.is(r.versions.kept, 1, JSON.stringify(r));
  t.true(r.versions.forgotten >= 3);
  t.true(r.stores[0].deletedBytes >= 200_000);
  t.deepEqual(check(await megafs(['ls', '/'], a.env), 'ls').split('\n').filter(Boolean).sort(), ['f2', 'f3']);
  t.is((await megafs(['fsck'], a.env)).code, 0);
});

test('a retention setting with no bound round-trips through the DRIVE object', (t) => {
  const d: DriveObject = {
    features: 0, topDir: 'a'.repeat(64), versions: null, trash: null, shares: null, gcRound: 3, gcLock: null, sessions: [],
    retention: { trashMs: Infinity, keepWithinMs: 0, hourly: 1, daily: Infinity, weekly: 0, monthly: 12 },
  };
  const back = decodeDriveLevel(encodeDriveObject(d), 3);
  if (back.kind !== TREE_DRIVE) throw new Error('not a DRIVE object');
  t.deepEqual(back.drive.retention, d.retention);
});
