// Opening a drive, from the outside (CLI and real mounts, as a user would): one rollback
// record per machine shared by the mount and every command, a known drive that mounts
// while its `megafs serve` is down, and a directory store that is unplugged and plugged
// back in (docs/design.md "Opening a drive").
import test, { type ExecutionContext } from 'ava';
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { megafs, run, tempHome, type Result } from '../helpers/cli.js';
import { check, testMount, type TestMount } from '../helpers/mount.js';
import { serve } from '../helpers/serve-child.js';

const EXIT_AUTH = 3;
const EXIT_UNAVAILABLE = 5;
const EXIT_ROLLBACK = 6;

function failsWith(t: ExecutionContext, r: Result, code: number, what: string): void {
  t.is(r.code, code, `${what}: ${r.stderr}`);
  t.regex(r.stderr, /^megafs: /, what);
}

/** Write `text` to `path` in a child process and fsync it: 'ok' or the error code. */
async function writeSynced(path: string, text: string): Promise<string> {
  const script = `const fs=require('fs');try{const fd=fs.openSync(process.argv[1],'w');fs.writeSync(fd,process.argv[2]);fs.fsyncSync(fd);fs.closeSync(fd);console.log('ok')}catch(e){console.log(e.code)}`;
  const r = await run(process.execPath, ['-e', script, path, text]);
  return r.stdout.trim();
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Every object id under a directory store. */
async function objectsOf(storeDir: string): Promise<Set<string>> {
  const names = await readdir(join(storeDir, 'objects'), { recursive: true }).catch(() => [] as string[]);
  return new Set(names.map((n) => n.split('/').pop()!).filter((n) => /^[0-9a-f]{64}$/.test(n)));
}

async function newestRoot(storeDir: string): Promise<string | undefined> {
  return (await readdir(join(storeDir, 'roots'))).filter((n) => /^\d{16}$/.test(n)).sort().pop();
}

/** Replace the store's roots with a copy saved earlier: the store "restored from backup". */
async function restoreRoots(m: TestMount, saved: string): Promise<void> {
  await rm(join(m.storeDir, 'roots'), { recursive: true, force: true });
  await cp(saved, join(m.storeDir, 'roots'), { recursive: true, preserveTimestamps: true });
}

/** Every way into the drive in this MEGAFS_HOME refuses the older root. */
async function allRefuse(t: ExecutionContext, m: TestMount): Promise<void> {
  const env = m.home.env;
  failsWith(t, await megafs(['ls'], env), EXIT_ROLLBACK, 'ls');
  failsWith(t, await megafs(['get', '/a.txt', '-'], env), EXIT_ROLLBACK, 'get');
  failsWith(t, await megafs(['put', join(m.home.dir, 'config.json'), '/c.json'], env), EXIT_ROLLBACK, 'put');
  failsWith(t, await megafs(['mount', m.dir], env), EXIT_ROLLBACK, 'mount');
}

test('rollback: a root older than the mount saw is refused by every command', async (t) => {
  const m = await testMount(t);
  check(await megafs(['put', join(m.home.dir, 'config.json'), '/b.json'], m.home.env), 'put'); // a command sees it first
  const saved = join(m.home.dir, 'roots-backup');
  await m.sh('sh', ['-c', 'printf one > a.txt && sync a.txt']);
  await cp(join(m.storeDir, 'roots'), saved, { recursive: true, preserveTimestamps: true });
  await m.sh('sh', ['-c', 'printf two > a.txt && sync a.txt']); // only the mount saw this one
  await m.unmount();
  await restoreRoots(m, saved);
  await allRefuse(t, m);
});

test('rollback: a root older than a command saw is refused by the mount too', async (t) => {
  const m = await testMount(t);
  await m.sh('sh', ['-c', 'printf one > a.txt && sync a.txt']);
  await m.unmount();
  const saved = join(m.home.dir, 'roots-backup');
  await cp(join(m.storeDir, 'roots'), saved, { recursive: true, preserveTimestamps: true });
  check(await megafs(['put', join(m.home.dir, 'config.json'), '/b.json'], m.home.env), 'put'); // only `put` saw this one
  await restoreRoots(m, saved);
  await allRefuse(t, m);
});

interface MountStatus {
  offline: boolean;
  stores: Array<{ name: string; ok: boolean; error?: string }>;
  vfs: { dirtyBytes: number; queuedUploads: number };
}

async function mountStatus(m: TestMount): Promise<MountStatus> {
  return (JSON.parse(check(await megafs(['status', '--json'], m.home.env), 'status')) as { mounts: MountStatus[] }).mounts[0];
}

/** Wait until every store answers and nothing waits for upload (no manual step). */
async function settled(m: TestMount): Promise<void> {
  for (let i = 0; ; i++) {
    const s = await mountStatus(m);
    if (s.stores.every((x) => x.ok) && s.vfs.dirtyBytes === 0 && s.vfs.queuedUploads === 0) return;
    if (i > 150) throw new Error(`nothing went up after the store came back: ${JSON.stringify(s)}`);
    await sleep(400);
  }
}

test('offline start: a drive on a stopped megafs serve mounts from what this machine keeps, and goes up when it is back', async (t) => {
  const dataDir = join((await tempHome()).dir, 'serve-data');
  t.teardown(() => rm(join(dataDir, '..'), { recursive: true, force: true }));
  let server = await serve(t, dataDir);
  const port = Number(new URL(server.url).port);
  const m = await testMount(t, { init: ['--store', server.url, '--user', 'alice'] });
  await m.sh('sh', ['-c', 'printf "written online" > a.txt && sync a.txt']);
  await m.unmount();
  await server.stop();

  // The password is still checked, against this machine's copy of the header.
  const wrong = await megafs(['mount', m.dir], { ...m.home.env, MEGAFS_PASSWORD: 'wrong' });
  failsWith(t, wrong, EXIT_AUTH, 'mount with a wrong password');
  // A machine that never opened the drive needs the server.
  const stranger = await tempHome();
  t.teardown(() => stranger.cleanup());
  failsWith(t, await megafs(['login', '--store', server.url, '--user', 'alice'], stranger.env), EXIT_UNAVAILABLE, 'login');

  await m.mount();
  const st = await mountStatus(m);
  t.true(st.offline);
  t.true(st.stores.some((s) => !s.ok && s.name.includes(server.url)), JSON.stringify(st.stores));
  t.regex(check(await megafs(['status'], m.home.env), 'status'), /OFFLINE/);
  t.is(await m.sh('cat', ['a.txt']), 'written online');
  await m.sh('sh', ['-c', 'printf "written offline" > b.txt']);
  t.is(await m.sh('cat', ['b.txt']), 'written offline');

  server = await serve(t, dataDir, port);
  await settled(m); // everything goes up on its own once the server answers
  await m.unmount();
  // Another machine sees what was written offline.
  check(await megafs(['login', '--store', server.url, '--user', 'alice'], stranger.env), 'login');
  t.is(check(await megafs(['get', '/b.txt', '-'], stranger.env), 'get'), 'written offline');
  await server.stop();
});

test('a directory store that is unplugged is unavailable, never made anew; plugged back in, it catches up', async (t) => {
  const base = await tempHome();
  t.teardown(() => base.cleanup());
  const a = join(base.dir, 'A');
  const b = join(base.dir, 'B');
  const away = join(base.dir, 'B.unplugged');
  const m = await testMount(t, { init: ['--store', a, '--store', b] });
  t.is(await writeSynced(join(m.dir, 'one.txt'), 'one'), 'ok');

  await rename(b, away);
  t.is(await writeSynced(join(m.dir, 'two.txt'), 'two'), 'EIO'); // write quorum: all
  t.false(await exists(b), 'the missing store was created anew');
  const st = await mountStatus(m);
  t.false(st.offline);
  t.true(st.stores.some((s) => !s.ok && s.name.includes(b) && /missing/.test(s.error ?? '')), JSON.stringify(st.stores));

  await rename(away, b);
  await settled(m); // the retries find it back
  t.is(await writeSynced(join(m.dir, 'two.txt'), 'two'), 'ok');
  await holdsAllOf(t, b, a);
  t.is(await newestRoot(b), await newestRoot(a));
  await m.unmount();

  // Mounted while B is an empty directory (another disk in its place): still unavailable.
  await rename(b, away);
  await mkdir(b);
  await m.mount();
  t.is(await writeSynced(join(m.dir, 'three.txt'), 'three'), 'EIO');
  t.deepEqual(await readdir(b), [], 'an empty directory in its place was written to');
  t.regex(check(await megafs(['status'], m.home.env), 'status'), /holds no drive header/);
  await rm(b, { recursive: true });
  await rename(away, b);
  await settled(m);
  t.is(await writeSynced(join(m.dir, 'three.txt'), 'three'), 'ok');
  await holdsAllOf(t, b, a);
  t.is(await newestRoot(b), await newestRoot(a));
  await m.unmount();
  // Each store holds every object the root names (fsck checks the copies on both).
  const f = await megafs(['fsck', '--json'], m.home.env);
  t.is(f.code, 0, f.stdout + f.stderr);
  t.like(JSON.parse(f.stdout), { clean: true, damaged: [] });
});

/** What the store that was away holds, the other holds too. The other may hold more: a
 *  commit that failed on the missing store left its objects on the one that answered, to be
 *  collected (megafs gc); the root names none of them. */
async function holdsAllOf(t: ExecutionContext, away: string, other: string): Promise<void> {
  const [b, a] = [await objectsOf(away), await objectsOf(other)];
  t.deepEqual([...b].filter((id) => !a.has(id)), []);
}
