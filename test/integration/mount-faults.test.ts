// Faults a real machine has, from the outside (real mounts, a real tmpfs that fills up, a
// real `megafs serve` with a small quota or stopped), as issue 15 saw them: a full cache
// disk, a full quota, close() during an outage, a cache too small for a write with the
// store down. Programs run as child processes (python3 reports the errno of each call).
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { megafs, run, tempHome } from '../helpers/cli.js';
import { check, testMount, type TestMount } from '../helpers/mount.js';
import { serve } from '../helpers/serve-child.js';

const MiB = 1 << 20;

/** Run a python3 program in the mount; its stdout, trimmed. */
async function py(m: TestMount, code: string, ...args: string[]): Promise<string> {
  return (await m.sh('python3', ['-c', code, ...args])).trim();
}

/** Python: write argv[2] (a local file's bytes) to argv[1], fsync it, close; prints
 *  "ok" or the failing call and errno name ("fsync EDQUOT"). */
const WRITE_SYNC = `
import os, sys, errno
data = open(sys.argv[2], 'rb').read()
step = 'open'
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    step = 'write'
    at = 0
    while at < len(data):
        at += os.write(fd, data[at:at + (1 << 20)])
    step = 'fsync'
    os.fsync(fd)
    step = 'close'
    os.close(fd)
    print('ok')
except OSError as e:
    print(step, errno.errorcode[e.errno])
`;

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function tmpfs(t: ExecutionContext, dir: string, size: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  t.teardown(() => { execFileSync('umount', ['-l', dir]); });
}

test('a full cache disk: ENOSPC to the program, nothing fsync\'ed is lost, the drive opens everywhere', async (t) => {
  const home = await tempHome();
  t.teardown(() => home.cleanup());
  const cacheDir = join(home.dir, 'cachefs');
  await tmpfs(t, cacheDir, '20m');
  const m = await testMount(t, { args: ['--cache-dir', cacheDir] });
  const keep = randomBytes(3 * MiB);
  const keepFile = join(m.home.dir, 'keep.bin');
  await writeFile(keepFile, keep);
  t.is(await py(m, WRITE_SYNC, 'keep.bin', keepFile), 'ok');

  // Fill the cache's disk, then work on: the failures must be ENOSPC, never a lost drive.
  await run('dd', ['if=/dev/zero', `of=${join(cacheDir, 'filler')}`, 'bs=1M']);
  const big = randomBytes(4 * MiB);
  const bigFile = join(m.home.dir, 'big.bin');
  await writeFile(bigFile, big);
  const r = await py(m, `
import os, errno
out = []
for step in ('mkdir', 'write'):
    try:
        if step == 'mkdir': os.mkdir('newdir')
        else:
            fd = os.open('newdir/new.bin', os.O_WRONLY | os.O_CREAT, 0o644)
            data = open('${bigFile}', 'rb').read()
            at = 0
            while at < len(data): at += os.write(fd, data[at:at + (1 << 20)])
            os.fsync(fd); os.close(fd)
        out.append('ok')
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(' '.join(out))
`);
  t.regex(r, /^ok (ok|ENOSPC)$/, 'mkdir works (the journal is elsewhere); the big write fails with ENOSPC');
  await rm(join(cacheDir, 'filler'));
  await sleep(500);
  await m.sh('sync', []);
  await m.unmount();

  // The same machine (CLI), a remount, fsck, and a machine with an empty cache.
  t.regex(check(await megafs(['ls', '/'], m.home.env), 'ls'), /keep\.bin/);
  check(await megafs(['fsck'], m.home.env), 'fsck');
  await m.mount();
  t.is(sha(await readFile(join(m.dir, 'keep.bin'))), sha(keep));
  const again = await readFile(join(m.dir, 'newdir', 'new.bin')).catch(() => null);
  if (r.endsWith('ok')) t.is(again && sha(again), sha(big));
  await m.unmount();
  check(await megafs(['get', '/keep.bin', join(m.home.dir, 'keep.out')], m.home.env), 'get');
  t.is(sha(await readFile(join(m.home.dir, 'keep.out'))), sha(keep));
});

test('a full quota: fsync is EDQUOT for the file that does not fit, the rest of the drive commits, a delete unwedges it', async (t) => {
  const home = await tempHome();
  t.teardown(() => home.cleanup());
  const server = await serve(t, join(home.dir, 'serve-data'), 0, ['--quota', '16M']);
  const m = await testMount(t, { init: ['--store', server.url, '--user', 'carol'] });
  const a = randomBytes(9 * MiB);
  const b = randomBytes(9 * MiB);
  await writeFile(join(m.home.dir, 'a.bin'), a);
  await writeFile(join(m.home.dir, 'b.bin'), b);
  t.is(await py(m, WRITE_SYNC, 'a.bin', join(m.home.dir, 'a.bin')), 'ok');
  t.is(await py(m, WRITE_SYNC, 'b.bin', join(m.home.dir, 'b.bin')), 'fsync EDQUOT');
  // The refused file is kept here (it reads back) but never named by a root.
  t.is(sha(await readFile(join(m.dir, 'b.bin'))), sha(b));
  await m.sh('rm', ['b.bin']);
  await writeFile(join(m.home.dir, 'small'), 'hello\n');
  t.is(await py(m, WRITE_SYNC, 'small', join(m.home.dir, 'small')), 'ok');
  await m.unmount();
  await m.mount();
  t.is(await m.sh('cat', ['small']), 'hello\n');
  t.is(sha(await readFile(join(m.dir, 'a.bin'))), sha(a));
  t.false((await m.sh('ls', [])).includes('b.bin'));
  check(await megafs(['fsck'], m.home.env), 'fsck');
});

test('close() reports no store outage and nothing on a read-only descriptor; everything goes up once the store is back', async (t) => {
  const home = await tempHome();
  t.teardown(() => home.cleanup());
  const dataDir = join(home.dir, 'serve-data');
  let server = await serve(t, dataDir);
  const port = Number(new URL(server.url).port);
  const m = await testMount(t, { init: ['--store', server.url, '--user', 'dave'] });
  t.is(await py(m, `
import os, errno
open('ro.txt', 'w').write('x')
fd = os.open('ro.txt', os.O_RDONLY)
os.unlink('ro.txt')
try:
    os.close(fd); print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])
`), 'ok');

  await server.stop();
  // A program appends to a log and creates files while the store is down: every close
  // succeeds (the data is in the journal), so a program that retries on errors never
  // writes a line twice.
  const out = await py(m, `
import os, errno, time
bad = 0
for i in range(40):
    for name, mode in (('log.txt', 'a'), ('f%d.txt' % i, 'w')):
        f = open(name, mode)
        f.write('line %d\\n' % i)
        try:
            f.close()
        except OSError as e:
            bad += 1
    time.sleep(0.05)
print(bad)
`);
  t.is(out, '0');
  server = await serve(t, dataDir, port);
  for (let i = 0; ; i++) {
    const st = JSON.parse(check(await megafs(['status', '--json'], m.home.env), 'status')) as { mounts: Array<{ vfs: { queuedUploads: number; dirtyBytes: number } }> };
    if (st.mounts[0].vfs.queuedUploads === 0 && st.mounts[0].vfs.dirtyBytes === 0) break;
    if (i > 100) throw new Error('nothing went up after the store came back');
    await sleep(300);
  }
  await m.sh('sync', []);
  await m.unmount();
  await m.mount();
  const log = await m.sh('cat', ['log.txt']);
  t.is(log, Array.from({ length: 40 }, (_, i) => `line ${i}\n`).join(''));
  t.is(await m.sh('cat', ['f39.txt']), 'line 39\n');
});

test('a cache too small for a write with the store down: ENOSPC at the write that does not fit, no hole behind', async (t) => {
  const home = await tempHome();
  t.teardown(() => home.cleanup());
  const server = await serve(t, join(home.dir, 'serve-data'));
  const m = await testMount(t, { init: ['--store', server.url, '--user', 'erin'], args: ['--cache-size', '16M'] });
  await server.stop();
  // A first file fits; from then on the cache is more than half full of data that cannot
  // go up, and writers opened now get ENOSPC at the write() itself (docs/design.md).
  const early = randomBytes(9 * MiB);
  await writeFile(join(m.home.dir, "first.bin"), early);
  t.is(await py(m, `
import os, sys
fd = os.open('first.bin', os.O_WRONLY | os.O_CREAT, 0o644)
data = open(sys.argv[1], 'rb').read()
at = 0
while at < len(data): at += os.write(fd, data[at:at + (1 << 20)])
os.close(fd)
print('ok')
`, join(m.home.dir, 'first.bin')), 'ok');
  const src = randomBytes(40 * MiB);
  await writeFile(join(m.home.dir, 'src.bin'), src);
  const r = await py(m, `
import os, errno, sys
data = open(sys.argv[1], 'rb').read()
fd = os.open('big.bin', os.O_WRONLY | os.O_CREAT, 0o644)
at = 0
try:
    while at < len(data):
        at += os.write(fd, data[at:at + (1 << 20)])
    print('ok', at)
except OSError as e:
    print(errno.errorcode[e.errno], at)
try:
    os.close(fd)
    print('closed')
except OSError as e:
    print('close', errno.errorcode[e.errno])
`, join(m.home.dir, 'src.bin'));
  const [first, second] = r.split('\n');
  const [code, at] = first.split(' ');
  t.is(code, 'ENOSPC', r);
  t.is(second, 'closed', 'what was written before the refused write is kept');
  const got = await readFile(join(m.dir, 'big.bin'));
  t.is(got.length, Number(at));
  t.is(sha(got), sha(src.subarray(0, Number(at))), 'every byte a successful write took reads back');
  t.is(sha(await readFile(join(m.dir, "first.bin"))), sha(early));
});
