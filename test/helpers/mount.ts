// Real mounts for tests: `megafs mount` in the background (the daemon is a child process;
// this test process never touches the mount itself except through child processes),
// unmounted in teardown, and the test fails if a mount is left behind.
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import { isMounted } from '../../src/fuse/mount.js';
import { megafs, run, tempHome, type Home, type Result } from './cli.js';

const MEMFS_CHILD = fileURLToPath(new URL('./mount-memfs.js', import.meta.url));

export interface TestMount {
  home: Home;
  /** The mount point (absolute). */
  dir: string;
  /** The embedded store directory of this home. */
  storeDir: string;
  /** Run a program (inside the mount by default); rejects with its stderr on failure. */
  sh(cmd: string, args: string[], opts?: { cwd?: string }): Promise<string>;
  unmount(): Promise<void>;
  mount(): Promise<void>;
  /** The daemon's pid (from megafs status --json). */
  daemonPid(): Promise<number>;
}

export function check(r: Result, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** The FUSE bindings mount tests run on (MEGAFS_FUSE; native falls back to fuse-native
 *  where it cannot build). */
export const BINDINGS = ['fuse-native', 'native'] as const;

/** A new drive in a temp MEGAFS_HOME, mounted; unmounted (and checked) in teardown. */
export async function testMount(t: ExecutionContext, o: { binding?: string; args?: string[]; init?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<TestMount> {
  const home = await tempHome();
  if (o.binding) home.env.MEGAFS_FUSE = o.binding;
  Object.assign(home.env, o.env);
  if (o.init) check(await megafs(['init', ...o.init], home.env), 'megafs init');
  const extraArgs = o.args ?? [];
  const dir = join(home.dir, 'mnt');
  await mkdir(dir);
  const m: TestMount = {
    home, dir, storeDir: join(home.dir, 'store'),
    async sh(cmd, args, opts = {}) {
      return check(await run(cmd, args, { env: home.env, cwd: opts.cwd ?? dir }), `${cmd} ${args.join(' ')}`);
    },
    async mount() { check(await megafs(['mount', dir, ...extraArgs], home.env), 'megafs mount'); },
    async unmount() { check(await megafs(['unmount', dir], home.env), 'megafs unmount'); },
    async daemonPid() {
      const status = JSON.parse(check(await megafs(['status', '--json'], home.env), 'status')) as { mounts: Array<{ pid: number }> };
      return status.mounts[0].pid;
    },
  };
  await m.mount();
  t.teardown(async () => {
    if (await isMounted(dir)) await megafs(['unmount', dir], home.env);
    const left = await isMounted(dir);
    if (left) await promisify(execFile)('fusermount', ['-uz', dir]).catch(() => {});
    await home.cleanup();
    if (left) throw new Error(`a mount was left behind on ${dir}`);
  });
  return m;
}

/** Paths under `dirs` whose bytes contain any of `needles` (grep -rlF). */
export async function grepFor(dirs: string[], needles: string[]): Promise<string[]> {
  const r = await run('grep', ['-rlF', ...needles.flatMap((n) => ['-e', n]), ...dirs]);
  if (r.code === 1) return [];
  if (r.code !== 0) throw new Error(`grep failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** The in-memory Vfs mounted by a child process (test/helpers/mount-memfs.ts) on `binding`;
 *  stopped (and checked unmounted) in teardown. Returns the mount point. */
export async function memMount(t: ExecutionContext, binding: string): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'megafs-memfs-'));
  const dir = join(base, 'mnt');
  await mkdir(dir);
  const child = spawn(process.execPath, [MEMFS_CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MEGAFS_FUSE: binding } });
  const exited = new Promise((ok) => child.once('exit', ok));
  await new Promise<void>((ok, fail) => {
    child.stdout.once('data', () => ok());
    child.once('exit', (code) => fail(new Error(`memfs child exited (${code})`)));
  });
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
    const left = await isMounted(dir);
    if (left) await promisify(execFile)('fusermount', ['-uz', dir]).catch(() => {});
    await rm(base, { recursive: true, force: true });
    if (left) throw new Error(`a mount was left behind on ${dir}`);
  });
  return dir;
}
