// Shares end to end against a real `megafs serve` (in-process): createShare over a drive
// on that account (the link points into the drive's own chunks), then getLink (no
// account) round trips files and folders; sharing adds a manifest, not the bytes; a write
// after a share moves the file to a new key and the link keeps the old bytes; a frozen v1
// link still downloads; and every failure (wrong password, revoked, expired, taken down,
// bad link) has its own code.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChunk } from '../../src/crypto/chunk.js';
import { fromBase64, toHex } from '../../src/format/bytes.js';
import { nodePlatform } from '../../src/platform/node.js';
import { createShare } from '../../src/share/create.js';
import { getLink } from '../../src/share/get.js';
import { fetchManifest, openLink } from '../../src/share/fetch.js';
import { fromBase64Url, parseLink } from '../../src/format/link.js';
import type { ManifestFile } from '../../src/share/manifest.js';
import { ShareDb } from '../../src/server/shares/db.js';
import { openDatabase } from '../../src/server/sqlite.js';
import type { VfsEngine } from '../../src/vfs/engine.js';
import type { FileNode } from '../../src/vfs/nodes.js';
import { FIXTURE_BASE, loadShareFixture, SHARE_V1_DIR } from '../fixtures/share-v1.js';
import { SHARE_V2_DIR } from '../fixtures/share-v2.js';
import { openTestDrive, startShareEnv, type ShareEnv, type TestDrive } from '../helpers/share.js';

const KDF = { memLog2: 6, passes: 1 };
const MiB = 1 << 20;
let env: ShareEnv;
let drive: TestDrive;
let src: string;
let out: string;

test.before(async () => {
  env = await startShareEnv();
  drive = await openTestDrive(env);
  src = await mkdtemp(join(tmpdir(), 'megafs-share-src-'));
  out = await mkdtemp(join(tmpdir(), 'megafs-share-out-'));
  await writeFile(join(src, 'small.txt'), 'hello, world\n');
  await writeFile(join(src, 'big.bin'), randomBytes(3 * MiB + 12345));
  await writeFile(join(src, 'empty'), '');
  await mkdir(join(src, 'dir/sub'), { recursive: true });
  await writeFile(join(src, 'dir/a.txt'), 'A');
  await writeFile(join(src, 'dir/sub/b.bin'), randomBytes(70_000));
  await mkdir(join(src, 'dir/emptydir'));
  await drive.copyIn(src);
  // 2 MiB of hole (nothing written there) then some bytes.
  const fh = await drive.vfs.create('/sparse.bin', 0o644, constants.O_WRONLY);
  await drive.vfs.write(fh, new TextEncoder().encode('tail'), 2 * MiB);
  await drive.vfs.release(fh);
  await writeFile(join(src, 'sparse.bin'), Buffer.concat([Buffer.alloc(2 * MiB), Buffer.from('tail')]));
});

test.after.always(async () => {
  await drive?.close();
  await env.close();
  await rm(src, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

const share = (path: string, o = {}) => createShare(nodePlatform, drive.vfs, env.store, env.api, path, o);

for (const name of ['small.txt', 'big.bin', 'sparse.bin', 'empty']) {
  test(`a file link round trips: ${name}`, async (t) => {
    const s = await share(`/${name}`);
    t.regex(s.link, /^http:\/\/127\.0\.0\.1:\d+\/s\/[A-Za-z0-9_-]{22}#1A[A-Za-z0-9_-]{43}$/);
    const r = await getLink(s.link, { out: join(out, `file-${name}`) });
    t.is(r.kind, 'file');
    t.true((await readFile(r.path)).equals(await readFile(join(src, name))));
  });
}

test('holes are not stored: null in the manifest', async (t) => {
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
  await drive.write('/tamper.bin', randomBytes(100_000));
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

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const fileOf = (e: { kind: string }): ManifestFile => e as ManifestFile;
/** The drive's in-memory node of `path` (the vfs is the engine). */
const nodeOf = async (path: string): Promise<FileNode> => (await (drive.vfs as unknown as VfsEngine).resolve(path)) as FileNode;

test('a 30 MiB file: the link names the drive\'s own chunks and downloads byte-exact', async (t) => {
  const data = randomBytes(30 * MiB);
  await drive.write('/thirty.bin', data);
  await drive.vfs.sync();
  const s = await share('/thirty.bin');
  const f = fileOf(s.entry);
  const n = await nodeOf('/thirty.bin');
  t.is(f.fileId, Buffer.from(n.fileId).toString('base64'));
  t.deepEqual(f.chunks, Array.from({ length: 30 }, (_, i) => n.chunks!.get(i)));
  t.is(f.fileKey, undefined, 'the file key stays in the drive');
  const r = await getLink(s.link, { out: join(out, 'thirty.bin') });
  t.is(sha(await readFile(r.path)), sha(data));
});

test.serial('sharing a 5 MiB file adds under 64 KiB to the store', async (t) => {
  await drive.write('/five.bin', randomBytes(5 * MiB));
  await drive.vfs.sync();
  const before = (await env.store.usage()).usedBytes;
  const s = await share('/five.bin');
  const added = (await env.store.usage()).usedBytes - before;
  t.log(`store bytes added by sharing 5 MiB: ${added}`);
  t.true(added < 64 * 1024, `${added} bytes added`);
  t.true((await readFile((await getLink(s.link, { out: join(out, 'five.bin') })).path)).length === 5 * MiB);
});

test('a write after sharing moves the file to a new key; the link keeps the old bytes', async (t) => {
  const old = randomBytes(3 * MiB + 100);
  await drive.write('/changing.bin', old);
  const s = await share('/changing.bin');
  const shared = fileOf(s.entry);
  // Overwrite the middle chunk in place (no O_TRUNC: the other chunks are sealed again).
  const fh = await drive.vfs.open('/changing.bin', constants.O_WRONLY);
  await drive.vfs.write(fh, new Uint8Array(MiB).fill(7), MiB);
  await drive.vfs.release(fh);
  await drive.vfs.sync();
  const n = await nodeOf('/changing.bin');
  t.not(toHex(n.fileId), toHex(fromBase64(shared.fileId)), 'a new file id');
  const ids = [...n.chunks!.values()];
  t.is(ids.length, 4);
  t.true(ids.every((id) => !shared.chunks.includes(id)), 'every chunk sealed again');
  // The link's key opens none of the new chunks, at the link's place or at the new one.
  const key = fromBase64(shared.chunkKey!);
  for (const [i, id] of n.chunks!) {
    const bytes = await env.store.get(id);
    for (const fileId of [fromBase64(shared.fileId), n.fileId]) {
      t.throws(() => openChunk(nodePlatform, key, { fileId, chunkIndex: i, isLast: i === 3 }, bytes, id), { code: 'E_INTEGRITY' });
    }
    // And the server does not serve them for the link.
    t.is((await fetch(`${env.server.url}/v1/s/${s.record.id}/objects/${id}`)).status, 404);
  }
  const r = await getLink(s.link, { out: join(out, 'changing-old.bin') });
  t.is(sha(await readFile(r.path)), sha(old));
  // The drive reads the new content.
  const want = Buffer.from(old);
  want.fill(7, MiB, 2 * MiB);
  const rh = await drive.vfs.open('/changing.bin', constants.O_RDONLY);
  const got = new Uint8Array(want.length);
  for (let at = 0; at < got.length;) at += await drive.vfs.read(rh, got.subarray(at), got.length - at, at);
  await drive.vfs.release(rh);
  t.is(sha(got), sha(want));
  // A second write does not move it again: the new key was never shared.
  const before = toHex(n.fileId);
  const fh2 = await drive.vfs.open('/changing.bin', constants.O_WRONLY);
  await drive.vfs.write(fh2, new Uint8Array(10), 0);
  await drive.vfs.release(fh2);
  t.is(toHex((await nodeOf('/changing.bin')).fileId), before);
});

test('the drive records each share (DRIVE.shares); revoking leaves a tombstone that still rekeys after a restart', async (t) => {
  await drive.write('/kept.txt', new TextEncoder().encode('kept'));
  const s = await share('/kept.txt');
  const linkId = toHex(fromBase64Url(parseLink(s.link).id, 16, 'id'));
  const rec = (await drive.vfs.shares.list()).find((r) => r.linkId === linkId);
  t.is(rec?.path, '/kept.txt');
  t.is(rec?.link, s.link);
  await env.api.revoke(s.record.id);
  t.true(await drive.vfs.shares.revoke(linkId));
  await drive.vfs.sync();
  const tomb = (await drive.vfs.shares.list()).find((r) => r.linkId === linkId);
  t.is(tomb?.link, '', 'revoked: no link kept');
  // A fresh process (another machine) learns the exposure from the tombstone.
  const other = await openTestDrive(env, drive.keys);
  t.teardown(() => other.close());
  const before = toHex((await (other.vfs as unknown as VfsEngine).resolve('/kept.txt') as FileNode).fileId);
  t.is(before, toHex(fromBase64(fileOf(s.entry).fileId)));
  const fh = await other.vfs.open('/kept.txt', constants.O_WRONLY);
  await other.vfs.write(fh, new TextEncoder().encode('K'), 0);
  await other.vfs.release(fh);
  t.not(toHex((await (other.vfs as unknown as VfsEngine).resolve('/kept.txt') as FileNode).fileId), before);
});

for (const [v, dir] of [[1, SHARE_V1_DIR], [2, SHARE_V2_DIR]] as const) {
  test(`a v${v} link (frozen fixture) still downloads`, async (t) => {
    const fx = await loadShareFixture(dir);
    for (const [id, bytes] of fx.objects) await env.store.put(id, bytes);
    const id = parseLink(fx.link).id;
    await env.api.create(id, fx.manifest, [...fx.objects.keys()], null);
    const link = fx.link.replace(FIXTURE_BASE, env.server.url);
    const m = await openLink(nodePlatform, parseLink(link), await fetchManifest(parseLink(link)));
    t.is(m.v, v);
    const r = await getLink(link, { out: join(out, `fixture-v${v}`) });
    t.is(r.files, Object.keys(fx.files).length);
    for (const [rel, f] of Object.entries(fx.files)) {
      const bytes = await readFile(join(out, `fixture-v${v}`, rel.slice(rel.indexOf('/') + 1)));
      t.is(bytes.length, f.size, rel);
      t.is(sha(bytes), f.sha256, rel);
    }
  });
}

test('a drive chunk shorter than its slot reads as zeros past its end through the link', async (t) => {
  await drive.write('/short.bin', new TextEncoder().encode('ten bytes!'));
  await drive.vfs.truncate('/short.bin', MiB + MiB / 2);
  const s = await share('/short.bin');
  const id = fileOf(s.entry).chunks[0]!;
  t.true((await env.store.get(id)).length < MiB, 'the stored chunk is short');
  const want = Buffer.alloc(MiB + MiB / 2);
  want.write('ten bytes!');
  t.true((await readFile((await getLink(s.link, { out: join(out, 'short.bin') })).path)).equals(want));
});
