// The pieces of opening a drive: the per-machine rollback record (SeenRoots) under
// programs that race, a directory store attached by its header (FsStore.attach), and a
// replicated store catching up a store that was unplugged while writes went on.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeenRoots } from '../../src/drive/seen-root.js';
import { FsStore } from '../../src/store/fs.js';
import { ReplicatedStore } from '../../src/store/replicate.js';
import { codeOf } from '../helpers/code-of.js';
import { randomObject } from '../helpers/store-suite.js';

const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'megafs-open-'));
const rootOf = (version: bigint, tag: string) => ({ version, hash: `${tag}${version}`.padEnd(64, '0'), bytes: new Uint8Array([Number(version % 256n)]), etag: String(version) });

test('seen roots: programs racing to record versions never lose the highest, and every older one is refused', async (t) => {
  const dir = join(await tempDir(), 'seen');
  t.teardown(() => rm(join(dir, '..'), { recursive: true, force: true }));
  const moduleUrl = new URL('../../src/drive/seen-root.js', import.meta.url).href;
  // Each process records versions 1..40 in its own shuffled order, all at once.
  const script = `
    const { SeenRoots } = await import(${JSON.stringify(moduleUrl)});
    const s = new SeenRoots(process.argv[1]);
    const vs = Array.from({ length: 40 }, (_, i) => BigInt(i + 1)).sort(() => Math.random() - 0.5);
    let refused = 0;
    await Promise.all(vs.map(async (v) => {
      try { await s.advance({ version: v, hash: ('h' + v).padEnd(64, '0'), bytes: new Uint8Array([1]), etag: String(v) }); }
      catch (e) { if (e.code !== 'E_ROLLBACK') throw e; refused++; }
    }));
    process.stdout.write(String(refused));`;
  await Promise.all(Array.from({ length: 4 }, () => new Promise<string>((res, rej) =>
    execFile(process.execPath, ['--input-type=module', '-e', script, dir], (err, out) => (err ? rej(err) : res(out))))));
  const seen = new SeenRoots(dir);
  t.is((await seen.latest())?.version, 40n);
  t.is(await codeOf(seen.check(39n, 'h39'.padEnd(64, '0'))), 'E_ROLLBACK');
  t.is(await codeOf(seen.advance(rootOf(40n, 'fork'))), 'E_ROLLBACK'); // same version, another root
  await seen.advance(rootOf(41n, 'h'));
  t.is((await seen.latest())?.version, 41n);
  t.is((await readdir(dir)).filter((n) => /^\d{20}$/.test(n)).length, 41, 'under 64 versions, all are kept (test/unit/fsck.test.ts: pruned past 64)');
});

test('fs attach: a missing directory, an empty one, or another drive is unavailable and never written; the right one is used', async (t) => {
  const base = await tempDir();
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'store');
  const ours = (h: Uint8Array) => new TextDecoder().decode(h) === 'ours';
  const s = FsStore.attach(dir, ours);
  const o = randomObject(1000);
  t.is(await codeOf(s.put(o.id, o.body)), 'E_UNAVAILABLE');
  t.is(await codeOf(s.getRoot()), 'E_UNAVAILABLE');
  t.deepEqual(await readdir(base), [], 'a missing directory was created');
  await mkdir(dir);
  t.is(await codeOf(s.put(o.id, o.body)), 'E_UNAVAILABLE');
  t.regex(s.unavailableReason() ?? '', /no drive header/);
  await writeFile(join(dir, 'header.json'), 'theirs');
  t.is(await codeOf(s.put(o.id, o.body)), 'E_UNAVAILABLE');
  t.deepEqual((await readdir(dir)).sort(), ['header.json']);
  await writeFile(join(dir, 'header.json'), 'ours');
  await s.put(o.id, o.body); // back: used at once
  t.deepEqual(await s.get(o.id), o.body);
  await rename(dir, `${dir}.away`);
  t.is(await codeOf(s.get(o.id)), 'E_UNAVAILABLE'); // not "not found": the disk is away
  t.is(await codeOf(s.has(o.id)), 'E_UNAVAILABLE');
});

test('replicated, quorum 1: a directory store unplugged during writes gets every object before the newer root', async (t) => {
  const base = await tempDir();
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dirs = [join(base, 'A'), join(base, 'B')];
  for (const d of dirs) await (await FsStore.open(d)).putHeader(new TextEncoder().encode('ours'));
  const ours = (h: Uint8Array) => new TextDecoder().decode(h) === 'ours';
  const rootVersion = (b: Uint8Array): bigint | null => (b.length ? BigInt(b[0]) : null);
  const open = () => new ReplicatedStore(dirs.map((d) => FsStore.attach(d, ours)), { rootVersion, writeQuorum: 1 });
  let rep = open();
  const first = randomObject(500);
  await rep.put(first.id, first.body);
  const r1 = await rep.casRoot(null, new Uint8Array([1]));
  if (!r1.ok) return t.fail('first root');
  await rename(dirs[1], `${dirs[1]}.away`);
  const during = [randomObject(700), randomObject(900)];
  for (const o of during) await rep.put(o.id, o.body);
  const r2 = await rep.casRoot(r1.etag, new Uint8Array([2]));
  if (!r2.ok) return t.fail('root with B away');
  await rep.idle();
  await rep.close();
  t.false(await readdir(base).then((n) => n.includes('B')), 'B was made anew');
  await rename(`${dirs[1]}.away`, dirs[1]);
  rep = open(); // another process, later: only B's older root says it is behind
  t.is((await rep.getRoot())?.bytes[0], 2);
  await rep.idle();
  const b = FsStore.attach(dirs[1], ours);
  for (const o of [first, ...during]) t.deepEqual(await b.get(o.id), o.body);
  t.is((await b.getRoot())?.bytes[0], 2);
  await rep.close();
});
