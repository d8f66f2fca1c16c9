// Background collection in a real mount (src/drive/gc-schedule.ts): a removed file's
// objects leave the directory store while the mount goes on reading and writing; every
// file written while collections ran reads back after a remount, and fsck is clean. The
// drive's retention policy (`megafs retention`, set while mounted, as a user would) keeps
// only the newest version and nothing in the bin, so the removed file is past the policy
// at once; the test-only MEGAFS_GC_FIRST_MS and MEGAFS_GC_CLOCK_ALLOWANCE_MS (gcTestEnv)
// make the first collection come after 2 s and drop the grace's clock allowance (every
// writer here shares one clock).
import test from 'ava';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { megafs } from '../helpers/cli.js';
import { check, testMount, type TestMount } from '../helpers/mount.js';
import type { GcScheduleStatus } from '../../src/drive/gc-schedule.js';

const MiB = 1 << 20;

interface Status { mounts: Array<{ vfs: { dirtyBytes: number; queuedUploads: number; rootVersion: string }; gc: GcScheduleStatus | null }> }

const status = async (m: TestMount): Promise<Status['mounts'][number]> =>
  (JSON.parse(check(await megafs(['status', '--json'], m.home.env), 'status')) as Status).mounts[0];

/** The directory store's objects: id -> size. */
async function storeObjects(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const f of await readdir(join(dir, 'objects'), { recursive: true, withFileTypes: true })) {
    if (!f.isFile() || !/^[0-9a-f]{64}$/.test(f.name)) continue;
    // An object the collector deletes meanwhile counts as gone.
    const st = await stat(join(f.parentPath, f.name)).catch(() => null);
    if (st) out.set(f.name, st.size);
  }
  return out;
}

async function until(what: string, ok: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  for (const start = Date.now(); !(await ok());) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Everything written is on the store, and (a commit follows a change within 1 s) a root
 *  names it. */
async function settled(m: TestMount): Promise<void> {
  await until('the uploads', async () => { const s = await status(m); return s.vfs.dirtyBytes === 0 && s.vfs.queuedUploads === 0; });
  await new Promise((r) => setTimeout(r, 1500));
}

test('a mount collects in the background: the removed file leaves the store while files are written, and all reads back', async (t) => {
  const m = await testMount(t, {
    args: ['--gc-interval', '3s'],
    env: { MEGAFS_GC_FIRST_MS: '2000', MEGAFS_GC_CLOCK_ALLOWANCE_MS: '0' },
  });
  check(await megafs(['retention', 'within=0,hourly=0,daily=0,weekly=0,monthly=0,trash=0'], m.home.env), 'retention');
  const sums = join(m.home.dir, 'sums');
  await m.sh('sh', ['-c', 'mkdir keep && for i in 1 2 3 4 5; do head -c 300000 /dev/urandom > keep/k$i; done && sync keep/*']);
  await settled(m);
  const withoutBig = await storeObjects(m.storeDir);
  await m.sh('sh', ['-c', 'head -c 12582912 /dev/urandom > removed-secret-name.bin && sync removed-secret-name.bin']);
  await settled(m);
  // The removed file's chunks: the objects of 1 MiB or more that came with it.
  const bigChunks = [...await storeObjects(m.storeDir)].filter(([id, size]) => !withoutBig.has(id) && size >= MiB).map(([id]) => id);
  t.is(bigChunks.length, 12);
  await m.sh('rm', ['removed-secret-name.bin']);

  // Writes go on while collections run (one every 3 s), until the removed file's chunks
  // have left the store and two more collections have finished after that.
  let writing = true;
  let n = 0;
  const writer = (async () => {
    while (writing) {
      n++;
      await m.sh('sh', ['-c', `head -c $((50000 + ${n} * 97)) /dev/urandom > keep/w${n} && cat keep/k1 > /dev/null`]);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  t.teardown(() => { writing = false; return writer.catch(() => undefined); });
  await until('the removed file to leave the store', async () => {
    const now = await storeObjects(m.storeDir);
    return bigChunks.every((id) => !now.has(id));
  }, 90_000);
  const done = (await status(m)).gc?.last?.finishedMs ?? 0;
  await until('two more collections', async () => {
    const g = (await status(m)).gc;
    return (g?.last?.finishedMs ?? 0) > done + 3000;
  }, 60_000);
  writing = false;
  await writer;
  t.true(n >= 10, `${n} files written during the collections`);
  await m.sh('sh', ['-c', `sync keep/* && sha256sum keep/* > ${sums}`]);
  const g = (await status(m)).gc!;
  t.is(g.intervalMs, 3000);
  t.is(g.last?.error, undefined, JSON.stringify(g));
  t.regex(check(await megafs(['status'], m.home.env), 'status text'), /background gc \(every 3s\): last \S+Z \(.*\): freed \d+ objects/);

  await m.unmount();
  await m.mount();
  await m.sh('sha256sum', ['-c', '--quiet', sums]);
  t.is((await m.sh('ls', ['keep'])).split('\n').filter(Boolean).length, 5 + n);
  await m.unmount();
  const f = await megafs(['fsck', '--json'], m.home.env);
  t.is(f.code, 0, f.stdout + f.stderr);

  const log = await readFile(join(m.home.dir, 'log', 'daemon.log'), 'utf8');
  const lines = log.split('\n').filter((l) => l.includes('background gc'));
  t.true(lines.some((l) => /freed \d+ objects \((1[2-9]|[2-9]\d)\.\d MiB\)/.test(l)), lines.join('\n'));
  t.false(log.includes('removed-secret-name'), 'no plaintext name in the log');
  t.false(/background gc failed/.test(log), log);
});

test('megafs mount --gc-interval: a bad value is one line and exit 2; off shows in status', async (t) => {
  const m = await testMount(t, { args: ['--gc-interval', 'off'] });
  t.is((await status(m)).gc, null);
  t.regex(check(await megafs(['status'], m.home.env), 'status'), /background gc: off/);
  await m.unmount();
  const r = await megafs(['mount', m.dir, '--gc-interval', 'soon'], m.home.env);
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});
