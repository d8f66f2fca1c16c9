// The share commands as a user runs them: a real `megafs serve` child process, a drive on
// it, `megafs share` / `shares` / `unshare`, `megafs get LINK` from a machine with no
// drive (files and folders), `megafs admin` take-downs (--data and --server), and each
// failure with its own message and exit code.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, megafs, tempHome, type Home } from '../helpers/cli.js';

const TOKEN = 'admin-token-for-tests-0123456789';
let dir: string;
let server: { url: string; proc: ChildProcess };
let owner: Home;
/** A machine with no drive at all: only `megafs get LINK`. */
let stranger: Home;

async function serve(args: string[]): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) res(m[1]);
    });
    proc.once('exit', (code) => rej(new Error(`megafs serve exited ${code}`)));
  });
  return { url, proc };
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'megafs-share-cli-'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`);
  await writeFile(join(dir, 'linkpw'), 'link password\n');
  await writeFile(join(dir, 'wrongpw'), 'not it\n');
  server = await serve(['--data', join(dir, 'data'), '--admin-token-file', join(dir, 'token')]);
  owner = await tempHome();
  stranger = await tempHome();
  const init = await megafs(['init', '--store', server.url, '--user', 'alice'], owner.env);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  await writeFile(join(dir, 'report.pdf'), randomBytes(1_500_000));
  await writeFile(join(dir, 'notes.txt'), 'shared notes\n');
  for (const [args, what] of [
    [['put', join(dir, 'report.pdf'), '/report.pdf'], 'put'], [['mkdir', '/album'], 'mkdir'],
    [['put', join(dir, 'notes.txt'), '/album/notes.txt'], 'put'], [['put', join(dir, 'report.pdf'), '/album/report.pdf'], 'put'],
  ] as const) {
    const r = await megafs([...args], owner.env);
    if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr}`);
  }
});

test.after.always(async () => {
  server?.proc.kill('SIGTERM');
  await owner?.cleanup();
  await stranger?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function share(args: string[]): Promise<string> {
  const r = await megafs(['share', ...args], owner.env);
  if (r.code !== 0) throw new Error(`share failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

test.serial('share a file; get it with no account and no drive', async (t) => {
  const link = await share(['/report.pdf']);
  t.true(link.startsWith(`${server.url}/s/`));
  const out = join(dir, 'got-report.pdf');
  const r = await megafs(['get', link, '-o', out], { ...stranger.env, MEGAFS_PASSWORD: '' });
  t.is(r.code, 0, r.stderr);
  t.true((await readFile(out)).equals(await readFile(join(dir, 'report.pdf'))));
});

test.serial('share a folder; get it as a folder (--json)', async (t) => {
  const r0 = await megafs(['share', '/album', '--json'], owner.env);
  t.is(r0.code, 0, r0.stderr);
  const info = JSON.parse(r0.stdout) as { link: string; kind: string; bytes: number };
  t.is(info.kind, 'folder');
  t.is(info.bytes, 1_500_000 + 13);
  const out = join(dir, 'got-album');
  const r = await megafs(['get', info.link, '-o', out], stranger.env);
  t.is(r.code, 0, r.stderr);
  t.deepEqual((await readdir(out)).sort(), ['notes.txt', 'report.pdf']);
  t.is(await readFile(join(out, 'notes.txt'), 'utf8'), 'shared notes\n');
});

test.serial('a password link: missing and wrong passwords fail clearly, the right one opens', async (t) => {
  const link = await share(['/album/notes.txt', '--password-file', join(dir, 'linkpw'), '--expires', '7d']);
  const none = await megafs(['get', link, '-o', join(dir, 'pw0')], stranger.env);
  t.is(none.code, 3);
  t.regex(none.stderr, /needs a password/);
  const wrong = await megafs(['get', link, '-o', join(dir, 'pw1'), '--password-file', join(dir, 'wrongpw')], stranger.env);
  t.is(wrong.code, 3);
  t.regex(wrong.stderr, /wrong password/);
  const right = await megafs(['get', link, '-o', join(dir, 'pw2'), '--password-file', join(dir, 'linkpw')], stranger.env);
  t.is(right.code, 0, right.stderr);
  t.is(await readFile(join(dir, 'pw2'), 'utf8'), 'shared notes\n');
});

test.serial('shares lists links; unshare PATH revokes them', async (t) => {
  const link = await share(['/album/report.pdf']);
  const list = await megafs(['shares', '--json'], owner.env);
  t.is(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { link: string; path: string; state: string }[];
  t.true(rows.some((r) => r.link === link && r.path === '/album/report.pdf' && r.state === 'live'));
  const un = await megafs(['unshare', '/album/report.pdf'], owner.env);
  t.is(un.code, 0, un.stderr);
  const r = await megafs(['get', link, '-o', join(dir, 'revoked')], stranger.env);
  t.is(r.code, 8);
  t.regex(r.stderr, /revoked/);
  const again = JSON.parse((await megafs(['shares', '--json'], owner.env)).stdout) as { link: string; state: string }[];
  t.is(again.find((x) => x.link === link)?.state, 'revoked');
});

test.serial('unshare LINK revokes that link', async (t) => {
  const link = await share(['/album/notes.txt']);
  t.is((await megafs(['unshare', link], owner.env)).code, 0);
  t.is((await megafs(['get', link, '-o', join(dir, 'revoked2')], stranger.env)).code, 8);
});

test.serial('an expired link says so', async (t) => {
  const link = await share(['/album/notes.txt', '--expires', '1s']);
  await new Promise((r) => setTimeout(r, 1500));
  const r = await megafs(['get', link, '-o', join(dir, 'expired')], stranger.env);
  t.is(r.code, 8);
  t.regex(r.stderr, /expired/);
});

test.serial('admin takedown --data: the running server obeys at once; restore undoes it', async (t) => {
  const link = await share(['/album/notes.txt']);
  const data = ['--data', join(dir, 'data')];
  const td = await megafs(['admin', 'takedown', link, '--reason', 'notice 7: infringing', ...data], owner.env);
  t.is(td.code, 0, td.stderr);
  const r = await megafs(['get', link, '-o', join(dir, 'td')], stranger.env);
  t.is(r.code, 8);
  t.regex(r.stderr, /taken down.*notice 7: infringing/);
  const list = JSON.parse((await megafs(['admin', 'takedowns', '--json', ...data], owner.env)).stdout) as { id: string; reason: string }[];
  t.true(list.some((x) => link.includes(`/s/${x.id}#`) && x.reason === 'notice 7: infringing'));
  t.is((await megafs(['admin', 'restore', link, ...data], owner.env)).code, 0);
  t.is((await megafs(['get', link, '-o', join(dir, 'td-restored')], stranger.env)).code, 0);
});

test.serial('admin takedown --server with the admin token; a wrong token is refused', async (t) => {
  const link = await share(['/album/notes.txt']);
  const id = /\/s\/([^#]+)#/.exec(link)![1];
  const remote = ['--server', server.url, '--admin-token-file', join(dir, 'token')];
  const bad = await megafs(['admin', 'takedown', id, '--reason', 'x', '--server', server.url, '--admin-token', 'wrong'], owner.env);
  t.is(bad.code, 3);
  t.is((await megafs(['admin', 'takedown', id, '--reason', 'court order', ...remote], owner.env)).code, 0);
  const r = await megafs(['get', link, '-o', join(dir, 'td2')], stranger.env);
  t.is(r.code, 8);
  t.regex(r.stderr, /court order/);
  const list = JSON.parse((await megafs(['admin', 'takedowns', '--json', ...remote], owner.env)).stdout) as { id: string }[];
  t.true(list.some((x) => x.id === id));
  t.is((await megafs(['admin', 'restore', id, ...remote], owner.env)).code, 0);
  t.is((await megafs(['get', link, '-o', join(dir, 'td2-restored')], stranger.env)).code, 0);
});

test.serial('bad links get E_BAD_LINK messages (exit 8)', async (t) => {
  const link = await share(['/album/notes.txt']);
  for (const bad of [link.split('#')[0] + '#', link.slice(0, -5), `${server.url}/s/${'A'.repeat(22)}#${link.split('#')[1]}`]) {
    const r = await megafs(['get', bad, '-o', join(dir, 'bad')], stranger.env);
    t.is(r.code, 8, bad);
    t.regex(r.stderr, /link/);
  }
});

test.serial('a drive on a local directory cannot make links, and says why', async (t) => {
  const local = await tempHome();
  t.teardown(() => local.cleanup());
  t.is((await megafs(['init'], local.env)).code, 0);
  await mkdir(join(local.dir, 'x'), { recursive: true });
  await writeFile(join(local.dir, 'x/f.txt'), 'x');
  t.is((await megafs(['put', join(local.dir, 'x/f.txt'), '/f.txt'], local.env)).code, 0);
  const r = await megafs(['share', '/f.txt'], local.env);
  t.is(r.code, 2);
  t.regex(r.stderr, /links need a megafs serve store/);
});
