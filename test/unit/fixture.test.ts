// The frozen fixture drives open with their password and with their recovery key and yield
// exactly the expected files: format 1 (test/fixtures/drive-v1, written once by megafs
// 0.1.0), format 2 (test/fixtures/drive-v2, v2 tree objects with names that are not
// UTF-8, written once by the first v2 build) and format 3 (test/fixtures/drive-v3, a
// DRIVE object with versions and a bin: its older version and its bin still name a
// removed file and the old bytes of an overwritten one, read here from their trees). A later version that
// cannot read them has broken the format promise (docs/format.md "Compatibility").
import test from 'ava';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants } from 'node:fs';
import { FsStore } from '../../src/store/fs.js';
import { decodeHeader } from '../../src/format/header.js';
import { unlockWithMasterKey, unlockWithPassword, type DriveKeys } from '../../src/crypto/keys.js';
import { decodeRecoveryKey } from '../../src/crypto/recovery.js';
import { nodePlatform } from '../../src/platform/node.js';
import { openVfs } from '../../src/vfs/index.js';
import { FIXTURE_DIR, sha256Hex, type FixtureEntry } from '../fixtures/drive-v1.js';
import { FIXTURE_V2_DIR } from '../fixtures/drive-v2.js';
import { FIXTURE_V3_DIR, type FixtureV3Expected } from '../fixtures/drive-v3.js';
import { openRoot } from '../../src/crypto/root.js';
import { entryBytes } from '../../src/drive/entry-reader.js';
import { PathResolver } from '../../src/drive/history.js';
import { ENTRY_DIR, ENTRY_FILE, ENTRY_SYMLINK, type TreeEntry } from '../../src/format/tree.js';
import { binPath } from '../../src/vfs/bin.js';
import { allTrash, allVersions, resolveRoot } from '../../src/vfs/drive-meta.js';
import { TreeIo } from '../../src/vfs/tree-io.js';

interface Expected { password: string; recoveryKey: string; entries: FixtureEntry[] }

async function expected(dir: string): Promise<Expected> {
  return JSON.parse(await readFile(`${dir}.expected.json`, 'utf8')) as Expected;
}

/** A copy of the fixture (opening a drive may write local state; the fixture stays frozen). */
async function fixtureStore(t: { teardown(fn: () => Promise<void>): void }, dir: string): Promise<{ store: FsStore; work: string }> {
  const work = await mkdtemp(join(tmpdir(), 'megafs-fixture-test-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  await cp(dir, join(work, 'store'), { recursive: true });
  const store = await FsStore.open(join(work, 'store'));
  t.teardown(() => store.close());
  return { store, work };
}

async function readWhole(vfs: Awaited<ReturnType<typeof openVfs>>, path: string, size: number): Promise<Uint8Array> {
  const fh = await vfs.open(path, constants.O_RDONLY);
  const buf = new Uint8Array(size);
  let done = 0;
  while (done < size) {
    const n = await vfs.read(fh, buf.subarray(done), size - done, done);
    if (n === 0) break;
    done += n;
  }
  await vfs.release(fh);
  return buf.subarray(0, done);
}

async function checkFiles(t: import('ava').ExecutionContext, store: FsStore, keys: DriveKeys, work: string, entries: FixtureEntry[]): Promise<void> {
  const vfs = await openVfs({
    store, keys, stateDir: join(work, 'state'), cacheDir: join(work, 'cache'), cacheSizeBytes: 1 << 30, deviceId: 'fixture-reader', log: () => {},
  });
  try {
    for (const e of entries) {
      if (e.type === 'dir') {
        t.is((await vfs.getattr(e.path)).mode & constants.S_IFMT, constants.S_IFDIR, e.path);
      } else if (e.type === 'symlink') {
        t.is(await vfs.readlink(e.path), e.target, e.path);
      } else {
        const attr = await vfs.getattr(e.path);
        t.is(attr.mode & constants.S_IFMT, constants.S_IFREG, e.path);
        t.is(attr.mode & 0o7777, e.mode, e.path);
        t.is(attr.size, e.size, e.path);
        t.is(sha256Hex(await readWhole(vfs, e.path, e.size)), e.sha256, e.path);
        for (const [k, v] of Object.entries(e.xattrs ?? {})) t.is(new TextDecoder().decode(await vfs.getxattr(e.path, k)), v);
      }
    }
    const top = (await vfs.readdir('/')).map((d) => d.name).sort();
    t.deepEqual(top, entries.filter((e) => e.path.lastIndexOf('/') === 0).map((e) => e.path.slice(1)).sort());
  } finally {
    await vfs.close();
  }
}

for (const [v, dir] of [['v1', FIXTURE_DIR], ['v2', FIXTURE_V2_DIR], ['v3', FIXTURE_V3_DIR]] as const) {
  test(`fixture drive ${v} opens with its password and yields the expected files`, async (t) => {
    const exp = await expected(dir);
    const { store, work } = await fixtureStore(t, dir);
    const header = decodeHeader((await store.getHeader())!);
    const { keys } = await unlockWithPassword(nodePlatform, header, exp.password);
    await checkFiles(t, store, keys, work, exp.entries);
  });

  test(`fixture drive ${v} opens with its recovery key alone`, async (t) => {
    const exp = await expected(dir);
    const { store, work } = await fixtureStore(t, dir);
    const header = decodeHeader((await store.getHeader())!);
    const keys = unlockWithMasterKey(header, decodeRecoveryKey(nodePlatform, exp.recoveryKey));
    await checkFiles(t, store, keys, work, exp.entries);
  });

  test(`fixture drive ${v}: a wrong password says so`, async (t) => {
    const { store } = await fixtureStore(t, dir);
    const header = decodeHeader((await store.getHeader())!);
    const err = await t.throwsAsync(unlockWithPassword(nodePlatform, header, 'not the password'));
    t.is((err as { code?: string }).code, 'E_BAD_PASSWORD');
  });
}

/** A file's bytes as a tree entry names them, read from its chunks (no vfs). */
async function fileBytes(io: TreeIo, store: FsStore, e: TreeEntry, what: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of entryBytes(io, (id) => store.get(id), e, what)) parts.push(part.slice());
  return Buffer.concat(parts);
}

test('fixture drive v3: its older version and its bin name the removed file and the overwritten bytes, and they read back', async (t) => {
  const exp = JSON.parse(await readFile(`${FIXTURE_V3_DIR}.expected.json`, 'utf8')) as FixtureV3Expected;
  const { store } = await fixtureStore(t, FIXTURE_V3_DIR);
  const { keys } = await unlockWithPassword(nodePlatform, decodeHeader((await store.getHeader())!), exp.password);
  const io = new TreeIo(nodePlatform, keys.tree, keys.nameHash, (id) => store.get(id));
  const { drive } = await resolveRoot(io, openRoot(nodePlatform, keys, (await store.getRoot())!.bytes).treeId);
  t.truthy(drive, 'a v3 root names a DRIVE object');
  const versions = await allVersions(io, drive);
  const paths = new PathResolver(io);
  t.is(versions[0].topDir, drive!.topDir, 'the newest version is the live tree');
  t.true(exp.versions.length > 0);
  for (const want of exp.versions) {
    const version = versions.find((x) => x.rootVersion.toString() === want.rootVersion);
    t.truthy(version, `version ${want.rootVersion} is kept`);
    const names = (await io.loadDir(version!.topDir)).map((e) => e.name).sort();
    t.deepEqual(names, want.entries.filter((e) => e.path.lastIndexOf('/') === 0).map((e) => e.path.slice(1)).sort());
    for (const e of want.entries) {
      const got = await paths.resolve(version!.topDir, e.path);
      t.truthy(got, e.path);
      if (e.type === 'dir') t.is(got!.type, ENTRY_DIR, e.path);
      else if (e.type === 'symlink') t.deepEqual([got!.type, got!.target], [ENTRY_SYMLINK, e.target], e.path);
      else {
        t.deepEqual([got!.type, got!.size, got!.mode & 0o7777], [ENTRY_FILE, e.size, e.mode], e.path);
        t.is(sha256Hex(await fileBytes(io, store, got!, e.path)), e.sha256, e.path);
      }
    }
  }
  // The bin holds what the second commit removed or overwrote, as it was.
  const bin = await allTrash(io, drive);
  t.deepEqual(bin.map((r) => binPath(r)).sort(), exp.bin.map((e) => e.path).sort());
  for (const r of bin) {
    const want = exp.bin.find((e) => e.path === binPath(r))! as Extract<FixtureEntry, { type: 'file' }>;
    t.deepEqual([r.entry.type, r.entry.size], [ENTRY_FILE, want.size], want.path);
    t.is(sha256Hex(await fileBytes(io, store, r.entry, want.path)), want.sha256, want.path);
  }
  // What the second commit changed: the old version differs from the live tree there.
  const live = new Map(exp.entries.map((e) => [e.path, e]));
  const old = exp.versions[0].entries;
  t.true(old.some((e) => !live.has(e.path)), 'a removed file is only in the old version');
  t.true(old.some((e) => e.type === 'file' && live.get(e.path)?.type === 'file' && (live.get(e.path) as { sha256: string }).sha256 !== e.sha256), 'an overwritten file has other bytes there');
});
