// The native libfuse3 binding on the in-memory Vfs, mounted in a child process (this
// process touches the mount only through other child processes): file operations, 1 MiB
// requests, hard links, readdir and forget, invalidation notices, clean and outside
// unmounts. Where the binding cannot mount here, megafs must fall back to fuse-native.
import test from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { MegafsError } from '../../src/errors.js';
import { isMounted } from '../../src/fuse/mount.js';
import { loadNative } from '../../src/fuse/lowlevel/binding.js';
import { spinMicros } from '../../src/fuse/lowlevel/mount.js';
import { NodeTable } from '../../src/fuse/lowlevel/nodes.js';
import { chosenBinding } from '../../src/fuse/lowlevel/select.js';

const sh = promisify(execFile);
const dist = (p: string): string => pathToFileURL(join(import.meta.dirname, '../..', p)).href;
/** As root libfuse3 mounts with mount(2); others would need fusermount3. */
const usable = !('error' in loadNative()) && process.getuid?.() === 0;

/** The child: mounts MemVfs on argv[1] (writeback when argv[2] is "wb"; a lookup of
 *  "hang" never finishes), answers
 *  "nodes" and "inval NAME" on stdin, unmounts on SIGTERM. */
const CHILD = `
import { MemVfs } from '${dist('src/fuse/memfs.js')}';
import { mountNative } from '${dist('src/fuse/lowlevel/mount.js')}';
const vfs = new MemVfs();
const getattr = vfs.getattr.bind(vfs);
vfs.getattr = (p) => (p === '/hang' ? new Promise(() => {}) : getattr(p)); // for the interrupt test
const m = mountNative(vfs, process.argv[1], { ttlS: 1, writeback: process.argv[2] === 'wb',
  log: (l) => process.stderr.write(l + '\\n') });
process.stdout.write('ready\\n');
process.stdin.on('data', (d) => {
  for (const cmd of d.toString().trim().split('\\n')) {
    if (cmd === 'nodes') process.stdout.write('nodes ' + m.nodeCount() + '\\n');
    if (cmd.startsWith('inval ')) process.stdout.write('inval ' + m.invalidateEntry(1, cmd.slice(6)) + '\\n');
  }
});
process.on('SIGTERM', () => m.unmount().then(() => process.exit(0)));
`;

interface Child { dir: string; proc: ChildProcess; ask(cmd: string): Promise<string>; exited: Promise<number | null> }

async function mountChild(t: import('ava').ExecutionContext, mode = 'wb'): Promise<Child> {
  const base = await mkdtemp(join(tmpdir(), 'megafs-native-'));
  const dir = join(base, 'mnt');
  await sh('mkdir', [dir]);
  const proc = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((ok) => proc.on('exit', (code) => ok(code)));
  let out = '';
  const waiters: Array<() => void> = [];
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); waiters.splice(0).forEach((w) => w()); });
  const line = async (prefix: string): Promise<string> => {
    for (;;) {
      const i = out.split('\n').findIndex((l) => l.startsWith(prefix));
      if (i >= 0) {
        const lines = out.split('\n');
        out = lines.slice(i + 1).join('\n');
        return lines[i].slice(prefix.length).trim();
      }
      await new Promise<void>((ok) => waiters.push(ok));
    }
  };
  await line('ready');
  t.teardown(async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
    if (await isMounted(dir)) await sh('umount', ['-l', dir]).catch(() => {});
    await rm(base, { recursive: true, force: true });
  });
  return { dir, proc, exited, ask: async (cmd) => { proc.stdin!.write(`${cmd}\n`); return line(cmd.split(' ')[0]); } };
}

/** Run a shell script inside the mount (in a child process). */
async function inMount(dir: string, script: string): Promise<string> {
  return (await sh('sh', ['-ec', script], { cwd: dir, maxBuffer: 16 << 20 })).stdout;
}

if (usable) {
  for (const mode of ['wb', 'nowb']) {
    test(`[${mode}] files, directories, renames, symlinks, attributes, xattrs, statfs`, async (t) => {
      const { dir } = await mountChild(t, mode);
      const out = await inMount(dir, `
        echo hello > a; cat a
        printf 12345 >> a; wc -c < a
        mkdir -p d/e; echo x > d/e/f; mv d/e/f d/g; ls d; cat d/g
        mv d z; cat z/g; ls -a z
        ln -s z/g link; readlink link; cat link
        chmod 600 a; stat -c %a a
        touch -d @1000000000 a; stat -c %Y a
        truncate -s 3 a; cat a; echo
        python3 -c "import os; os.setxattr('a', 'user.k', b'v1'); print(os.getxattr('a', 'user.k').decode(), os.listxattr('a')); os.removexattr('a', 'user.k'); print(os.listxattr('a'))"
        rm a; test ! -e a && echo gone
        rm z/g; rmdir z/e; rmdir z; ls
        rmdir nope 2>/dev/null || echo ENOENT
        df -P . | tail -1 | awk '{print $1}'
      `);
      t.is(out, [
        'hello', '11', 'e', 'g', 'x', 'x', '.', '..', 'e', 'g', 'z/g', 'x', '600', '1000000000', 'hel',
        "v1 ['user.k']", '[]', 'gone', 'link', 'ENOENT', 'megafs', '',
      ].join('\n'));
    });

    test(`[${mode}] 1 MiB requests: a 48 MiB random file and 4 KiB writes read back identical`, async (t) => {
      const { dir } = await mountChild(t, mode);
      const src = join(await mkdtemp(join(tmpdir(), 'megafs-native-src-')), 'r');
      t.teardown(() => rm(join(src, '..'), { recursive: true, force: true }));
      await sh('dd', ['if=/dev/urandom', `of=${src}`, 'bs=1M', 'count=48', 'status=none']);
      const out = await inMount(dir, `
        dd if=${src} of=big bs=1M status=none; cmp ${src} big && echo same1
        dd if=${src} of=small bs=4k status=none; cmp ${src} small && echo same2
        dd if=${src} of=big bs=4k seek=100 count=10 skip=3000 conv=notrunc status=none
        dd if=big bs=4k skip=100 count=10 status=none | cmp - small -i 0:12288000 -n 40960 && echo same3
        stat -c %s big
      `);
      t.is(out, `same1\nsame2\nsame3\n${48 << 20}\n`);
    });
  }

  test('hard links are one inode: a write through one name shows through the other', async (t) => {
    const { dir } = await mountChild(t);
    const out = await inMount(dir, `
      echo one > f; ln f h; test "$(stat -c %i f)" = "$(stat -c %i h)" && stat -c %h f
      echo two >> h; cat f
      rm f; cat h; stat -c %h h
    `);
    t.is(out, '2\none\ntwo\none\ntwo\n1\n');
  });

  test('readdir of 2,000 names with readdirplus; forgotten nodes leave the table', async (t) => {
    const c = await mountChild(t);
    const out = await inMount(c.dir, 'mkdir d; cd d; for i in $(seq 1 2000); do : > "name $i"; done; ls | wc -l; ls -l | tail -n +2 | wc -l');
    t.is(out, '2000\n2000\n');
    const before = Number(await c.ask('nodes'));
    t.true(before > 2000);
    await sh('sh', ['-c', 'sync; echo 2 > /proc/sys/vm/drop_caches']);
    const after = Number(await c.ask('nodes'));
    t.true(after < before / 2, `${before} nodes before drop_caches, ${after} after`);
    t.is(await inMount(c.dir, 'ls d | wc -l; cat "d/name 7"; echo ok'), '2000\nok\n');
  });

  test('invalidation notices reach the kernel', async (t) => {
    const c = await mountChild(t);
    await inMount(c.dir, 'echo 1 > x; stat x >/dev/null');
    t.is(await c.ask('inval x'), '0');
    t.is(await inMount(c.dir, 'cat x'), '1\n');
  });

  test('a signal interrupts a request the Vfs never finishes: the syscall returns EINTR', async (t) => {
    const c = await mountChild(t);
    const out = await inMount(c.dir, `python3 -c "
import os, signal
def stop(*_): raise InterruptedError('alarm')
signal.signal(signal.SIGALRM, stop)
signal.alarm(1)
try:
    os.stat('hang')
except InterruptedError:
    print('interrupted')
"`);
    t.is(out, 'interrupted\n');
    t.is(await inMount(c.dir, 'echo alive > x; cat x'), 'alive\n');
  });

  test('SIGTERM unmounts cleanly and the process exits 0', async (t) => {
    const c = await mountChild(t);
    await inMount(c.dir, 'echo x > f');
    c.proc.kill('SIGTERM');
    t.is(await c.exited, 0);
    t.false(await isMounted(c.dir));
  });

  test('an unmount from outside ends the session and the process', async (t) => {
    const c = await mountChild(t);
    await sh('umount', [c.dir]);
    c.proc.stdin!.end();
    t.is(await c.exited, 0);
    t.false(await isMounted(c.dir));
  });
}

test('the binding is chosen by option, then MEGAFS_FUSE; anything else is a usage error', (t) => {
  const saved = process.env.MEGAFS_FUSE;
  t.teardown(() => { process.env.MEGAFS_FUSE = saved; if (saved === undefined) delete process.env.MEGAFS_FUSE; });
  process.env.MEGAFS_FUSE = 'native';
  t.is(chosenBinding(), 'native');
  t.is(chosenBinding('fuse-native'), 'fuse-native');
  process.env.MEGAFS_FUSE = 'fuse-native';
  t.is(chosenBinding(), 'fuse-native');
  process.env.MEGAFS_FUSE = 'fuse4';
  t.is(t.throws<MegafsError>(() => chosenBinding())?.code, 'E_USAGE');
});

test('the watch for the next request: 50 µs by default, MEGAFS_FUSE_SPIN_US from 0 to 1000', (t) => {
  t.is(spinMicros(undefined), 50);
  t.is(spinMicros('0'), 0);
  t.is(spinMicros(' 120 '), 120);
  t.is(spinMicros('5000'), 1000);
  for (const bad of ['', '-5', '1e3', 'fast', '12.5']) t.is(spinMicros(bad), 50, bad);
});

test('node table: lookups and forget, hard links, renames, unlinked nodes', (t) => {
  const nodes = new NodeTable();
  const d = nodes.child(nodes.root, 'd', 10);
  d.nlookup++;
  const f = nodes.child(d, 'f', 11);
  f.nlookup += 2;
  t.is(nodes.path(f), '/d/f');
  t.is(nodes.child(nodes.root, 'h', 11), f, 'a hard link is the same node');
  t.is(nodes.path(f), '/d/f');
  nodes.move(d, 'f', nodes.root, 'g');
  t.is(nodes.path(f), '/g');
  nodes.detach(nodes.root, 'g');
  t.is(nodes.path(f), '/h', 'the other name still reaches it');
  nodes.detach(nodes.root, 'h');
  t.is(nodes.path(f), null);
  f.fhs = new Set([5]);
  nodes.forget(f.id, 2);
  t.is(nodes.get(f.id), f, 'an open handle keeps it');
  f.fhs.clear();
  nodes.dropIfUnused(f);
  t.is(nodes.get(f.id), undefined);
  const a = nodes.child(d, 'a', 20);
  const b = nodes.child(d, 'b', 21);
  nodes.exchange(d, 'a', d, 'b');
  t.is(nodes.path(a), '/d/b');
  t.is(nodes.path(b), '/d/a');
  nodes.forget(d.id, 1);
  t.is(nodes.get(d.id), undefined);
  t.is(nodes.size, 3, 'the root, a and b (never looked up: dropped when the kernel says)');
});
