// Space that comes back, end to end as a user: write a big file through a real mount,
// fsync it, delete it, empty the bin, run megafs gc: the store shrinks back to within 5%
// of what it held before, on a local directory store and on a real `megafs serve`
// (whose own usage report drops by as much). MEGAFS_E2E_MIB sizes the file (default
// 256; the closing note's figures come from 1024).
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { megafs } from '../helpers/cli.js';
import { check, testMount, type TestMount } from '../helpers/mount.js';
import { serve } from '../helpers/serve-child.js';

const MIB = Number(process.env.MEGAFS_E2E_MIB ?? 256);

async function objectBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (f.isFile() && /^[0-9a-f]{64}$/.test(f.name)) n += (await stat(join(f.parentPath, f.name))).size;
  }
  return n;
}

interface Du { stores: Array<{ reported: { usedBytes: number } | null }> }

async function cycle(t: ExecutionContext, m: TestMount, objectsDir: string, reported: boolean): Promise<void> {
  // What the drive holds before: some ordinary files.
  await m.sh('sh', ['-c', 'mkdir -p docs && for i in $(seq 1 40); do head -c 500000 /dev/urandom > docs/f$i; done; sync']);
  await m.unmount();
  const before = await objectBytes(objectsDir);
  const usedBefore = reported ? (JSON.parse(check(await megafs(['du', '--json'], m.home.env), 'du')) as Du).stores[0].reported!.usedBytes : 0;
  await m.mount();
  await m.sh('dd', ['if=/dev/urandom', 'of=big.bin', 'bs=1M', `count=${MIB}`, 'conv=fsync', 'status=none']);
  await m.unmount();
  const grown = await objectBytes(objectsDir);
  t.true(grown - before >= MIB * 1024 * 1024, `the store grew by the file (${before} -> ${grown})`);
  await m.mount();
  await m.sh('rm', ['big.bin']);
  await m.unmount();
  check(await megafs(['trash', 'empty'], m.home.env), 'trash empty');
  const gc = check(await megafs(['gc', '--clock-allowance', '0'], m.home.env), 'gc');
  const after = await objectBytes(objectsDir);
  t.true(after <= before * 1.05, `back within 5% of ${before} bytes: ${after} (gc said: ${gc.trim()})`);
  t.log(`store: ${before} bytes before, ${grown} with the file, ${after} after gc (${((after / before - 1) * 100).toFixed(2)}%)`);
  if (reported) {
    const usedAfter = (JSON.parse(check(await megafs(['du', '--json'], m.home.env), 'du')) as Du).stores[0].reported!.usedBytes;
    t.true(usedAfter <= usedBefore * 1.05, `the server's usage is back too: ${usedBefore} -> ${usedAfter}`);
    t.log(`server usage: ${usedBefore} bytes before, ${usedAfter} after gc`);
  }
  t.is((await megafs(['fsck'], m.home.env)).code, 0);
  await m.mount();
  t.is((await m.sh('ls', ['docs'])).split('\n').filter(Boolean).length, 40);
}

test(`a ${MIB} MiB file written, deleted, the bin emptied, gc: a directory store shrinks back`, async (t) => {
  const m = await testMount(t);
  await cycle(t, m, join(m.storeDir, 'objects'), false);
});

test(`a ${MIB} MiB file written, deleted, the bin emptied, gc: a megafs serve store and its usage shrink back`, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'megafs-e2e-serve-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const server = await serve(t, dataDir);
  const m = await testMount(t, { init: ['--store', server.url, '--user', 'erin'] });
  await cycle(t, m, dataDir, true);
  await m.unmount();
  await server.stop();
});
