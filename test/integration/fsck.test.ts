// "The drive always opens" (docs/design.md "When objects are missing"), from the outside:
// objects deleted from directory stores and from the cache with rm, then real `megafs`
// runs: the mount still mounts and reads what is intact, the damaged parts are EIO with a
// log line naming the path and the object, fsck names them and exits 6, --repair puts
// back what any store or the cache holds, --repair --rollback falls back to the newest
// earlier root whose objects are all present and says what that changes.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { megafs, run, tempHome, type Home } from '../helpers/cli.js';
import { check, testMount } from '../helpers/mount.js';
import { startTestServer } from '../helpers/server.js';

interface Report {
  clean: boolean;
  root: { version: string; time: string } | null;
  checked: { directories: number; files: number; objects: number };
  damaged: Array<{
    path: string; what: string; id: string; kind: string; chunkIndex?: number;
    stores: Array<{ name: string; state: string }>; cache: string; recoverable: boolean; repaired: boolean;
  }>;
  repair: { copied: number; failed: number } | null;
  unrecoverable: number;
  fallback: { root: { version: string; time: string }; changes: Array<{ path: string; change: string; type: string }>; written: { version: string } | null } | null;
}

async function fsckJson(h: Home, args: string[], code: number): Promise<Report> {
  const r = await megafs(['fsck', '--json', ...args], h.env);
  if (r.code !== code) throw new Error(`fsck ${args.join(' ')} exited ${r.code}, not ${code}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as Report;
}

/** Every object file under a directory store, a cache or a `megafs serve` data directory: id -> path. */
async function objects(dir: string): Promise<Map<string, string>> {
  const out = check(await run('find', [dir, '-path', '*/objects/*', '-type', 'f']), 'find').split('\n').filter(Boolean);
  return new Map(out.filter((p) => /^[0-9a-f]{64}$/.test(basename(p))).map((p) => [basename(p), p]));
}

/** The ids `after` holds that `before` does not, with their sizes. */
async function added(before: Map<string, string>, after: Map<string, string>): Promise<Array<{ id: string; path: string; size: number }>> {
  const out = [];
  for (const [id, path] of after) if (!before.has(id)) out.push({ id, path, size: (await stat(path)).size });
  return out.sort((a, b) => b.size - a.size);
}

async function cacheFile(h: Home, id: string): Promise<string> {
  const found = check(await run('find', [join(h.dir, 'cache'), '-name', id]), 'find').trim();
  if (!found) throw new Error(`object ${id} is not in the cache`);
  return found;
}

async function initHome(t: ExecutionContext, init: string[] = []): Promise<Home> {
  const h = await tempHome();
  t.teardown(h.cleanup);
  check(await megafs(['init', ...init], h.env), 'init');
  return h;
}

async function put(h: Home, name: string, bytes: Uint8Array | string): Promise<void> {
  const local = join(h.dir, `local-${name}`);
  await writeFile(local, bytes);
  check(await megafs(['put', local, `/${name}`], h.env), `put ${name}`);
}

test('a chunk missing from the store: the mount opens, other files read, that file is EIO with a log line; fsck names it; --repair puts the cache copy back', async (t) => {
  const m = await testMount(t);
  const big = randomBytes(300_000);
  await writeFile(join(m.dir, 'a.txt'), 'intact\n');
  await m.sh('sync', []);
  const before = await objects(m.storeDir);
  await writeFile(join(m.dir, 'b.bin'), big);
  await m.unmount();
  const chunk = (await added(before, await objects(m.storeDir)))[0];
  t.true(chunk.size > 256 * 1024, 'the biggest new object is the chunk of b.bin');
  check(await megafs(['fsck'], m.home.env), 'fsck on the intact drive');

  // The store loses it; this machine's cache copy is set aside (a machine without it).
  await rm(chunk.path);
  const cached = await cacheFile(m.home, chunk.id);
  const aside = join(m.home.dir, 'aside');
  await rename(cached, aside);

  await m.mount();
  t.is(await m.sh('cat', ['a.txt']), 'intact\n');
  const cat = await run('cat', [join(m.dir, 'b.bin')]);
  t.not(cat.code, 0);
  t.regex(cat.stderr, /Input\/output error/);
  t.not((await run('cat', [join(m.dir, 'b.bin')])).code, 0, 'read again: EIO again');
  t.regex(await m.sh('ls', []), /b\.bin/, 'the damaged file is still listed');
  const fsckMounted = await megafs(['fsck'], m.home.env);
  t.is(fsckMounted.code, 6, fsckMounted.stderr);
  t.regex(fsckMounted.stdout, new RegExp(`DAMAGED file /b\\.bin: chunk 0 ${chunk.id}: missing on fs:${m.storeDir}`));
  t.regex(fsckMounted.stderr, /^megafs: fsck: 1 damaged path/);
  const r = await fsckJson(m.home, [], 6);
  t.is(r.damaged.length, 1);
  t.like(r.damaged[0], { path: '/b.bin', what: 'file', id: chunk.id, kind: 'chunk', chunkIndex: 0, cache: 'missing', recoverable: false, repaired: false });
  t.deepEqual(r.damaged[0].stores, [{ name: `fs:${m.storeDir}`, state: 'missing' }]);
  t.is(r.checked.files, 2);

  // The cache copy is back (the machine that wrote it): --repair uploads it, under the
  // running mount, which then reads the file without a remount.
  await rename(aside, cached);
  const seen = await fsckJson(m.home, [], 6);
  t.like(seen.damaged[0], { cache: 'ok', recoverable: true });
  const repaired = await fsckJson(m.home, ['--repair'], 0);
  t.like(repaired, { clean: true, repair: { copied: 1, failed: 0 }, unrecoverable: 0 });
  t.true(repaired.damaged[0].repaired);
  t.is((await objects(m.storeDir)).has(chunk.id), true);
  t.true(Buffer.from(await readFile(join(m.dir, 'b.bin'))).equals(big), 'the mount reads it now');
  await m.unmount();
  const log = (await readFile(join(m.home.dir, 'log', 'daemon.log'), 'utf8')).split('\n').filter((l) => l.includes(chunk.id));
  t.is(log.length, 1, 'one log line for the damaged object, however often it is read');
  t.regex(log[0], /megafs: cannot fetch chunk 0 \(object [0-9a-f]{64}\) of \/b\.bin: /);
  t.like(await fsckJson(m.home, [], 0), { clean: true, damaged: [] });
  await rm(cached); // read from the store alone
  await m.mount();
  t.true(Buffer.from(await readFile(join(m.dir, 'b.bin'))).equals(big));
});

test('a chunk gone from the store and the cache: --repair says it cannot be recovered, and what --rollback would do; --rollback falls back', async (t) => {
  const h = await initHome(t);
  await put(h, 'a.txt', 'first\n');
  const store = join(h.dir, 'store');
  const before = await objects(store);
  await put(h, 'b.bin', randomBytes(200_000));
  const chunk = (await added(before, await objects(store)))[0];
  await rm(chunk.path);
  await rm(await cacheFile(h, chunk.id));

  const r = await megafs(['fsck', '--repair'], h.env);
  t.is(r.code, 6, r.stderr);
  t.regex(r.stdout, new RegExp(`DAMAGED file /b\\.bin: chunk 0 ${chunk.id}: missing on fs:${store}; cache: missing: cannot be recovered`));
  t.regex(r.stdout, /repair: 0 copies put back, 0 failed; 1 object\(s\) cannot be recovered/);
  const j = await fsckJson(h, ['--repair'], 6);
  t.like(j, { clean: false, unrecoverable: 1, fallback: { written: null } });
  const current = BigInt(j.root!.version);
  const earlier = j.fallback!.root.version;
  t.true(BigInt(earlier) < current);
  t.regex(r.stdout, new RegExp(`the newest earlier root whose objects are all present is version ${earlier} .*\n  file /b\\.bin goes away`));
  t.deepEqual(j.fallback!.changes, [{ path: '/b.bin', change: 'removed', type: 'file' }]);

  // Written as the next version (never an older number), with the earlier tree.
  const back = await fsckJson(h, ['--repair', '--rollback'], 0);
  t.like(back, { clean: true, fallback: { root: { version: earlier }, written: { version: String(current + 1n) } } });
  t.is(check(await megafs(['ls', '/'], h.env), 'ls').trim(), 'a.txt');
  t.like(await fsckJson(h, [], 0), { clean: true, root: { version: String(current + 1n) }, damaged: [] });
  t.is(check(await megafs(['get', '/a.txt', '-'], h.env), 'get'), 'first\n');
});

test('the top directory\'s tree object gone: ls fails cleanly, the mount mounts (readdir EIO), fsck says the tree is damaged, --repair --rollback falls back', async (t) => {
  const m = await testMount(t);
  await writeFile(join(m.dir, 'a.txt'), 'a\n');
  await mkdir(join(m.dir, 'd'));
  await writeFile(join(m.dir, 'd', 'inner.txt'), 'inner\n');
  await writeFile(join(m.dir, 'c.txt'), 'c\n');
  await m.unmount();
  const before = await objects(m.storeDir);
  check(await megafs(['rm', '/c.txt'], m.home.env), 'rm'); // a new tree object for the top directory
  const made = await added(before, await objects(m.storeDir));
  t.true(made.length >= 1);
  for (const o of made) {
    await rm(o.path);
    // (The session's announcement went to the store alone: not every new object is cached.)
    await rm(await cacheFile(m.home, o.id).catch(() => join(m.home.dir, 'none')), { force: true });
  }

  const ls = await megafs(['ls', '/'], m.home.env);
  t.is(ls.code, 1);
  t.regex(ls.stderr, /megafs: EIO: directory \/ cannot be read \(tree object [0-9a-f]{16}…; see megafs fsck\)\n$/);

  await m.mount();
  const inside = await run('ls', [m.dir]);
  t.not(inside.code, 0);
  t.regex(inside.stderr, /Input\/output error/);
  await m.unmount();
  const r = await fsckJson(m.home, [], 6);
  t.is(r.damaged.length, 1);
  const top = r.damaged[0].id;
  t.true(made.some((o) => o.id === top));
  t.like(r.damaged[0], { path: '/', what: 'directory', kind: 'tree', cache: 'missing', recoverable: false });
  t.regex(await readFile(join(m.home.dir, 'log', 'daemon.log'), 'utf8'), new RegExp(`cannot read directory / \\(tree object ${top}\\)`));
  t.not(r.fallback, null);
  const text = await megafs(['fsck', '--repair', '--rollback'], m.home.env);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`ROLLED BACK: wrote root version ${BigInt(r.root!.version) + 1n} with the tree of version ${r.fallback!.root.version} .*\n  directory / damaged now: that version comes back`));
  t.deepEqual(check(await megafs(['ls', '/'], m.home.env), 'ls').split('\n').filter(Boolean).sort(), ['a.txt', 'c.txt', 'd/']);
  t.like(await fsckJson(m.home, [], 0), { clean: true, damaged: [] });
  await m.mount();
  t.is(await m.sh('cat', ['d/inner.txt']), 'inner\n');
  t.is(await m.sh('cat', ['c.txt']), 'c\n');
});

test('two replicated directory stores, one lost a chunk and the cache too: fsck names the store, --repair copies it from the other', async (t) => {
  const h = await tempHome();
  t.teardown(h.cleanup);
  const s1 = join(h.dir, 's1');
  const s2 = join(h.dir, 's2');
  check(await megafs(['init', '--store', s1, '--store', s2], h.env), 'init');
  await put(h, 'a.txt', 'one\n');
  const before = await objects(s1);
  const bytes = randomBytes(400_000);
  await put(h, 'b.bin', bytes);
  const chunk = (await added(before, await objects(s1)))[0];
  await rm(chunk.path);
  await rm(await cacheFile(h, chunk.id));

  const r = await fsckJson(h, [], 6);
  t.is(r.damaged.length, 1);
  t.like(r.damaged[0], { path: '/b.bin', id: chunk.id, recoverable: true, cache: 'missing' });
  t.deepEqual(r.damaged[0].stores, [{ name: `fs:${s1}`, state: 'missing' }, { name: `fs:${s2}`, state: 'ok' }]);
  // Copies that rotted on the other store are damage too (the new tree objects: one of
  // them is the top directory's).
  for (const o of (await added(before, await objects(s2))).filter((x) => x.id !== chunk.id)) {
    const rotten = await readFile(o.path);
    rotten[rotten.length - 1] ^= 1;
    await rm(o.path); // it is a hard link into the cache: do not change the cache's copy
    await writeFile(o.path, rotten);
  }
  const both = await fsckJson(h, [], 6);
  const trees = both.damaged.filter((d) => d.kind === 'tree');
  // The top directory's and the DRIVE object's at least (a version page may be one too).
  t.true(trees.length >= 2, JSON.stringify(both.damaged));
  t.deepEqual([...new Set(trees.map((d) => JSON.stringify(d.stores.map((s) => s.state))))], ['["ok","corrupt"]']);
  t.deepEqual(both.damaged.filter((d) => d.kind !== 'tree').map((d) => [d.path, d.kind, d.stores.map((s) => s.state)]), [['/b.bin', 'chunk', ['missing', 'ok']]]);

  t.like(await fsckJson(h, ['--repair'], 0), { clean: true, repair: { copied: both.damaged.length, failed: 0 } });
  t.like(await fsckJson(h, [], 0), { clean: true, damaged: [] });
  t.true((await objects(s1)).has(chunk.id));
  const out = join(h.dir, 'b.out');
  check(await megafs(['get', '/b.bin', out], h.env), 'get');
  t.true((await readFile(out)).equals(bytes));

  // A store that does not answer is not damage, but fsck could not check it: exit 5.
  await rename(s2, `${s2}.away`);
  const away = await megafs(['fsck', '--json'], h.env);
  t.is(away.code, 5, away.stderr);
  const j = JSON.parse(away.stdout) as Report & { incomplete: boolean; stores: Array<{ name: string; objects: number | null }> };
  t.like(j, { clean: true, incomplete: true, damaged: [] });
  t.is(j.stores[1].objects, null);
  t.regex(away.stderr, /^megafs: not every store answered/);
});

test('a current root that does not open: fsck says so and --repair --rollback writes the newest intact earlier root above it', async (t) => {
  const h = await initHome(t);
  await put(h, 'a.txt', 'a\n');
  await put(h, 'b.txt', 'b\n');
  const roots = join(h.dir, 'store', 'roots');
  const newest = check(await run('ls', [roots]), 'ls').trim().split('\n').pop()!;
  const bytes = await readFile(join(roots, newest));
  bytes[bytes.length - 1] ^= 1;
  await rm(join(roots, newest)); // a hard link to the file that sealed it: replace, not rewrite
  await writeFile(join(roots, newest), bytes);
  const r = await megafs(['fsck', '--json'], h.env);
  t.is(r.code, 6, r.stderr);
  const j = JSON.parse(r.stdout) as Report & { rootError?: string };
  t.truthy(j.rootError);
  t.is(j.root, null);
  t.deepEqual(j.fallback!.changes, [{ path: '/', change: 'unreadable', type: 'directory' }]);
  const back = await fsckJson(h, ['--repair', '--rollback'], 0);
  t.is(back.fallback!.written!.version, String(Number(newest) + 1));
  t.regex(check(await megafs(['ls', '/'], h.env), 'ls'), /^a\.txt$/m);
  t.like(await fsckJson(h, [], 0), { clean: true, root: { version: String(Number(newest) + 1) } });
});

test('megafs serve keeps only the current root: the fallback comes from the roots this machine saw', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.close());
  const h = await initHome(t, ['--store', server.url, '--user', 'erin']);
  await put(h, 'a.txt', 'kept\n');
  const before = await objects(server.dataDir);
  await put(h, 'b.bin', randomBytes(150_000));
  const chunk = (await added(before, await objects(server.dataDir)))[0];
  await rm(chunk.path);
  await rm(await cacheFile(h, chunk.id));
  const r = await fsckJson(h, [], 6);
  t.like(r.damaged[0], { path: '/b.bin', id: chunk.id, recoverable: false });
  t.deepEqual(r.fallback!.changes, [{ path: '/b.bin', change: 'removed', type: 'file' }]);
  const back = await fsckJson(h, ['--repair', '--rollback'], 0);
  t.is(back.fallback!.written!.version, String(BigInt(r.root!.version) + 1n));
  t.is(check(await megafs(['ls', '/'], h.env), 'ls').trim(), 'a.txt');
  t.like(await fsckJson(h, [], 0), { clean: true, damaged: [] });
});

test('fsck: --rollback without --repair is a usage error; --rollback refuses while the drive is mounted', async (t) => {
  const m = await testMount(t);
  const usage = await megafs(['fsck', '--rollback'], m.home.env);
  t.is(usage.code, 2);
  const mounted = await megafs(['fsck', '--repair', '--rollback'], m.home.env);
  t.is(mounted.code, 7, mounted.stderr);
  t.regex(mounted.stderr, /^megafs: the drive is mounted on .*: unmount it before fsck --rollback\n$/);
});
