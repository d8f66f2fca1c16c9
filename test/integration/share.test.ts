// Shares end to end against a real `megafs serve` (in-process): createShare over a
// directory-backed vfs, then getLink (no account) round trips files and folders, and every
// failure (wrong password, revoked, expired, taken down, bad link) has its own code.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePlatform } from '../../src/platform/node.js';
import { createShare } from '../../src/share/create.js';
import { getLink } from '../../src/share/get.js';
import { parseLink } from '../../src/format/link.js';
import { ShareDb } from '../../src/server/shares/db.js';
import { openDatabase } from '../../src/server/sqlite.js';
import { dirVfs, startShareEnv, type ShareEnv } from '../helpers/share.js';

const KDF = { memLog2: 6, passes: 1 };
let env: ShareEnv;
let src: string;
let out: string;

test.before(async () => {
  env = await startShareEnv();
  src = await mkdtemp(join(tmpdir(), 'megafs-share-src-'));
  out = await mkdtemp(join(tmpdir(), 'megafs-share-out-'));
  await writeFile(join(src, 'small.txt'), 'hello, world\n');
  await writeFile(join(src, 'big.bin'), randomBytes(3 * (1 << 20) + 12345));
  // 2 MiB of zeros (two holes) then some bytes.
  await writeFile(join(src, 'sparse.bin'), Buffer.concat([Buffer.alloc(2 << 20), Buffer.from('tail')]));
  await writeFile(join(src, 'empty'), '');
  await mkdir(join(src, 'dir/sub'), { recursive: true });
  await writeFile(join(src, 'dir/a.txt'), 'A');
  await writeFile(join(src, 'dir/sub/b.bin'), randomBytes(70_000));
  await mkdir(join(src, 'dir/emptydir'));
});

test.after.always(async () => {
  await env.close();
  await rm(src, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

const share = (path: string, o = {}) => createShare(nodePlatform, dirVfs(src), env.store, env.api, path, o);

for (const name of ['small.txt', 'big.bin', 'sparse.bin', 'empty']) {
  test(`a file link round trips: ${name}`, async (t) => {
    const s = await share(`/${name}`);
    t.regex(s.link, /^http:\/\/127\.0\.0\.1:\d+\/s\/[A-Za-z0-9_-]{22}#1A[A-Za-z0-9_-]{43}$/);
    const r = await getLink(s.link, { out: join(out, `file-${name}`) });
    t.is(r.kind, 'file');
    t.true((await readFile(r.path)).equals(await readFile(join(src, name))));
  });
}

test('holes are not uploaded', async (t) => {
  const s = await share('/sparse.bin');
  t.true(s.entry.kind === 'file' && s.entry.chunks[0] === null && s.entry.chunks[1] === null && s.entry.chunks[2] !== null);
});

test('a folder link round trips as a folder', async (t) => {
  const s = await share('/dir');
  const r = await getLink(s.link, { out: join(out, 'folder') });
  t.is(r.kind, 'folder');
  t.is(r.files, 2);
  t.deepEqual((await readdir(r.path)).sort(), ['a.txt', 'emptydir', 'sub']);
  t.true((await readFile(join(r.path, 'sub/b.bin'))).equals(await readFile(join(src, 'dir/sub/b.bin'))));
  t.is(await readFile(join(r.path, 'a.txt'), 'utf8'), 'A');
});

test('a password link opens with the password only', async (t) => {
  const s = await share('/small.txt', { password: 'correct horse', passwordKdf: KDF });
  await t.throwsAsync(getLink(s.link, { out: join(out, 'pw0') }), { code: 'E_BAD_PASSWORD' });
  await t.throwsAsync(getLink(s.link, { out: join(out, 'pw1'), password: 'wrong' }), { code: 'E_BAD_PASSWORD' });
  const r = await getLink(s.link, { out: join(out, 'pw2'), password: 'correct horse' });
  t.is(await readFile(r.path, 'utf8'), 'hello, world\n');
});

test('a revoked link is refused (E_GONE), and listed as revoked', async (t) => {
  const s = await share('/small.txt');
  await env.api.revoke(s.record.id);
  await t.throwsAsync(getLink(s.link, { out: join(out, 'revoked') }), { code: 'E_GONE', message: /revoked/ });
  t.true((await env.api.list()).some((r) => r.id === s.record.id && r.revoked));
});

test('an expired link is refused (E_GONE)', async (t) => {
  const s = await share('/small.txt', { expiresInMs: -1 });
  await t.throwsAsync(getLink(s.link, { out: join(out, 'expired') }), { code: 'E_GONE', message: /expired/ });
});

test('a taken-down link is refused with the reason (E_TAKEN_DOWN), and restored', async (t) => {
  const s = await share('/small.txt');
  const db = new ShareDb(join(env.server.dataDir, 'accounts.db'));
  t.true(db.takedown(s.record.id, 'copyright notice #42'));
  await t.throwsAsync(getLink(s.link, { out: join(out, 'td') }), { code: 'E_TAKEN_DOWN', message: /copyright notice #42/ });
  t.true(db.restore(s.record.id));
  db.close();
  const r = await getLink(s.link, { out: join(out, 'td2') });
  t.is(await readFile(r.path, 'utf8'), 'hello, world\n');
});

test('bad links: malformed, cut short, unknown id, wrong key', async (t) => {
  const s = await share('/small.txt');
  await t.throwsAsync(getLink('not a link'), { code: 'E_BAD_LINK' });
  await t.throwsAsync(getLink(s.link.split('#')[0]), { code: 'E_BAD_LINK' });
  await t.throwsAsync(getLink(s.link.slice(0, -3)), { code: 'E_BAD_LINK' });
  const l = parseLink(s.link);
  const unknown = s.link.replace(l.id, 'A'.repeat(22));
  await t.throwsAsync(getLink(unknown), { code: 'E_BAD_LINK' });
  const wrongKey = `${s.link.split('#')[0]}#1A${'B'.repeat(42)}A`;
  await t.throwsAsync(getLink(wrongKey, { out: join(out, 'wk') }), { code: 'E_INTEGRITY' });
});

test('the server serves only the objects a share lists', async (t) => {
  const a = await share('/small.txt');
  const b = await share('/big.bin');
  const other = b.entry.kind === 'file' ? b.entry.chunks[0]! : '';
  const res = await fetch(`${env.server.url}/v1/s/${a.record.id}/objects/${other}`);
  t.is(res.status, 404);
  const own = a.entry.kind === 'file' ? a.entry.chunks[0]! : '';
  const ranged = await fetch(`${env.server.url}/v1/s/${a.record.id}/objects/${own}`, { headers: { Range: 'bytes=0-9' } });
  t.is(ranged.status, 206);
  t.is((await ranged.arrayBuffer()).byteLength, 10);
});

/** The path of an object in the server's data directory (any account). */
async function objectPath(dataDir: string, id: string): Promise<string> {
  for (const e of await readdir(join(dataDir, 'accounts'), { recursive: true })) {
    if (e.endsWith(id)) return join(dataDir, 'accounts', e);
  }
  throw new Error(`object ${id} not found`);
}

test('a tampered chunk or manifest is refused (E_INTEGRITY), and no file is left', async (t) => {
  await writeFile(join(src, 'tamper.bin'), randomBytes(100_000));
  const s = await share('/tamper.bin');
  const chunk = s.entry.kind === 'file' ? s.entry.chunks[0]! : '';
  const path = await objectPath(env.server.dataDir, chunk);
  const good = await readFile(path);
  const bad = Buffer.from(good);
  bad[bad.length - 1] ^= 1;
  await writeFile(path, bad);
  const target = join(out, 'tampered');
  await t.throwsAsync(getLink(s.link, { out: target }), { code: 'E_INTEGRITY' });
  t.deepEqual((await readdir(out)).filter((n) => n.includes('tampered')), []);
  await writeFile(path, good);

  const db = openDatabase(join(env.server.dataDir, 'accounts.db'));
  const row = db.prepare<{ manifest: Buffer }>('SELECT manifest FROM shares WHERE id = ?').get(s.record.id)!;
  const m = Buffer.from(row.manifest);
  m[40] ^= 1;
  db.prepare('UPDATE shares SET manifest = ? WHERE id = ?').run(m, s.record.id);
  db.close();
  await t.throwsAsync(getLink(s.link, { out: target }), { code: 'E_INTEGRITY' });
});
