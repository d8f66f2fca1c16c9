// A daemon killed with SIGKILL after an fsync: the next mount clears the stale mount and
// finds the data. A store that goes away during writes: everything is there after it returns.
import test from 'ava';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMounted } from '../../src/fuse/mount.js';
import { megafs } from '../helpers/cli.js';
import { BINDINGS, testMount } from '../helpers/mount.js';
import { startTestServer } from '../helpers/server.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

for (const binding of BINDINGS) {
  test(`[${binding}] SIGKILL after fsync: the data is there at the next mount`, async (t) => {
    const m = await testMount(t, { binding });
    await m.sh('dd', ['if=/dev/urandom', 'of=big.bin', 'bs=1M', 'count=5', 'conv=fsync', 'status=none']);
    await m.sh('sh', ['-c', 'mkdir -p d && printf "small and synced\\n" > d/small.txt && sync d/small.txt']);
    const sums = await m.sh('sha256sum', ['big.bin', 'd/small.txt']);
    const pid = await m.daemonPid();
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await sleep(50);
    await m.mount(); // clears the stale mount first
    t.is(await m.sh('sha256sum', ['big.bin', 'd/small.txt']), sums);
  });
}

/** Every file under `dir` with its size and mtime, one line each. */
async function snapshot(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    const s = await stat(path);
    lines.push(`${path} ${s.size} ${s.mtimeMs}`);
  }
  return lines.sort().join('\n');
}

test('once megafs unmount returns, the daemon writes nothing more to its state directory', async (t) => {
  const m = await testMount(t);
  await m.sh('sh', ['-c', 'for i in $(seq 200); do printf "file $i\n" > f$i.txt; done']);
  await m.unmount();
  const state = join(m.home.dir, 'state');
  const before = await snapshot(state);
  await sleep(1500);
  t.is(await snapshot(state), before);
});

test('a store that goes down during writes: everything is there after it returns', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'megafs-serve-'));
  let server = await startTestServer({ dataDir });
  const port = Number(new URL(server.url).port);
  t.teardown(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const m = await testMount(t, { init: ['--store', server.url, '--user', 'alice'] });
  const files = ['before.txt', 'during1.txt', 'during5.txt', 'during.bin'];
  await m.sh('sh', ['-c', 'printf "before\\n" > before.txt']);
  await server.close();
  await m.sh('sh', ['-c', 'for i in 1 2 3 4 5; do printf "during $i\\n" > during$i.txt; done; dd if=/dev/urandom of=during.bin bs=1M count=3 status=none']);
  const sums = await m.sh('sha256sum', files);
  await sleep(1500); // commits and uploads fail meanwhile
  server = await startTestServer({ dataDir, port });
  await m.unmount(); // waits until everything is on the store
  await rm(join(m.home.dir, 'cache'), { recursive: true, force: true }); // reads must come from the store
  await m.mount();
  t.is(await m.sh('sha256sum', files), sums);
});

test('megafs unmount clears a stale mount and leaves a live one of another MEGAFS_HOME alone', async (t) => {
  const m = await testMount(t);
  const other = await megafs(['unmount', m.dir], { ...m.home.env, MEGAFS_HOME: join(m.home.dir, 'other-home') });
  t.is(other.code, 7);
  t.true(await isMounted(m.dir));
  const pid = await m.daemonPid();
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await sleep(50);
  t.is((await megafs(['unmount', m.dir], m.home.env)).code, 0);
  t.false(await isMounted(m.dir));
});
