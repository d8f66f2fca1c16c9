// The pieces of megafs fsck in-process, on a real drive in a temporary MEGAFS_HOME: the
// root histories it falls back on (seen/ bounded at 64, a directory store's roots/), and
// a sharded directory with one shard gone: the directory is damaged (its readdir is EIO,
// never a partial listing that a commit could write back), the rest of the drive checks;
// and the fallback's invariant: its root is written only once its objects are back on the
// stores, so a store that refuses them leaves the root as it was.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homePaths, newConfig } from '../../src/drive/config.js';
import { fsck } from '../../src/drive/fsck.js';
import { createNewDrive } from '../../src/drive/open.js';
import { SeenRoots } from '../../src/drive/seen-root.js';
import { openDriveVfs } from '../../src/drive/vfs.js';
import { AAD_TREE } from '../../src/crypto/labels.js';
import { openObject } from '../../src/crypto/object.js';
import { openRoot, rootHash } from '../../src/crypto/root.js';
import { decodeDriveLevel, TREE_DRIVE } from '../../src/format/drive-object.js';
import { decodeTree, TREE_DIR_INDEX, TREE_DIR_LEAF } from '../../src/format/tree.js';
import { nodePlatform } from '../../src/platform/node.js';
import { FsStore } from '../../src/store/fs.js';
import { cachedObjectPath } from '../../src/vfs/disk-cache.js';
import { codeOf } from '../helpers/code-of.js';
import { FaultStore } from '../helpers/fault-store.js';

process.env.MEGAFS_TEST_KDF = '1';
const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'megafs-fsck-'));

/** The top directory a format v3 root's DRIVE object names (this test holds the keys). */
async function topOf(drive: { stores: { get(id: string): Promise<Uint8Array> }[]; keys: { tree: Uint8Array } }, treeId: string): Promise<string> {
  const bytes = await drive.stores[0].get(treeId);
  const level = decodeDriveLevel(openObject(nodePlatform, drive.keys.tree, AAD_TREE, new Uint8Array(0), bytes), bytes[0]);
  if (level.kind !== TREE_DRIVE) throw new Error('the root names no DRIVE object');
  return level.drive.topDir;
}

/** A new drive on one directory store in a temp home, closed and removed in teardown. */
async function newDrive(t: ExecutionContext) {
  const home = await tempDir();
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const paths = homePaths(home);
  const cfg = newConfig([join(home, 'store')]);
  const { drive } = await createNewDrive(cfg, 'pw', { paths });
  t.teardown(() => drive.close());
  return { home, paths, cfg, drive };
}

test('seen roots keep the newest 64, listed newest first', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const seen = new SeenRoots(join(dir, 'seen'));
  for (let v = 1n; v <= 70n; v++) await seen.advance({ version: v, hash: `h${v}`.padEnd(64, '0'), bytes: new Uint8Array([Number(v)]), etag: String(v) });
  const all = await seen.all();
  t.deepEqual(all.map((r) => r.version), Array.from({ length: 64 }, (_, i) => 70n - BigInt(i)));
  t.deepEqual([...all[0].bytes], [70]);
});

test('a directory store lists the roots it keeps, newest first, with their etags', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const s = await FsStore.open(join(dir, 'store'));
  let etag: string | null = null;
  for (let i = 1; i <= 3; i++) {
    const r = await s.casRoot(etag, new Uint8Array([i]));
    if (!r.ok) throw new Error('cas lost');
    etag = r.etag;
  }
  t.deepEqual((await s.rootHistory()).map((r) => [r.etag, [...r.bytes]]), [['3', [3]], ['2', [2]], ['1', [1]]]);
});

test('a sharded directory missing one shard: fsck names the directory and the object, readdir is EIO, the rest checks', async (t) => {
  const { paths, cfg, drive } = await newDrive(t);
  const lines: string[] = [];
  const log = (l: string): void => { lines.push(l); };
  let vfs = await openDriveVfs(drive, cfg, paths, { role: 'cli', log });
  await vfs.mkdir('/big', 0o755);
  for (let i = 0; i < 1100; i++) await vfs.release(await vfs.create(`/big/f${i}`, 0o644, 0o1));
  const fh = await vfs.create('/other.txt', 0o644, 0o1); // O_WRONLY
  await vfs.write(fh, new TextEncoder().encode('other\n'), 0);
  await vfs.release(fh);
  await vfs.close();

  // The shard of /big: through the root (this test holds the keys).
  const openTree = async (id: string) => {
    const bytes = await drive.stores[0].get(id);
    return decodeTree(openObject(nodePlatform, drive.keys.tree, AAD_TREE, new Uint8Array(0), bytes), bytes[0]);
  };
  const root = openRoot(nodePlatform, drive.keys, (await drive.store.getRoot())!.bytes);
  const top = await openTree(await topOf(drive, root.treeId));
  if (top.kind !== TREE_DIR_LEAF) throw new Error('top is not a leaf');
  const bigIndex = top.entries.find((e) => e.name === 'big')!.dirId!;
  const index = await openTree(bigIndex);
  if (index.kind !== TREE_DIR_INDEX) throw new Error('/big is not sharded');
  const shard = index.buckets[3][1];
  await drive.stores[0].delete(shard);
  const cacheDir = join(paths.cache, drive.header.driveId);
  await rm(cachedObjectPath(cacheDir, shard));

  const r = await fsck(drive, { repair: true, rollback: false, cacheDir, deviceIdHex: '0'.repeat(32) });
  t.false(r.clean);
  t.is(r.damaged.length, 1);
  t.like(r.damaged[0], { path: '/big', what: 'directory', id: shard, kind: 'tree', cache: 'missing', recoverable: false, repaired: false });
  t.deepEqual(r.damaged[0].stores, [{ name: drive.stores[0].name, state: 'missing' }]);
  t.true(r.checked.files > 1000 && r.checked.files < 1101, `${r.checked.files} files checked: all but the lost shard's`);
  t.is(r.unrecoverable, 1);
  t.not(r.fallback, null, 'the root before /big was filled has all its objects');

  vfs = await openDriveVfs(drive, cfg, paths, { role: 'cli', log });
  t.is(await codeOf(vfs.readdir('/big')), 'EIO');
  t.is((await vfs.readdir('/')).length, 2);
  t.true(lines.some((l) => l.includes(`cannot read directory /big (tree object ${bigIndex})`)), lines.join('\n'));
  await vfs.close();
});

test('a fallback whose objects cannot be put back is not written; once they can, it is, as the next version', async (t) => {
  const { paths, cfg, drive } = await newDrive(t);
  for (const name of ['a.txt', 'b.txt']) {
    const vfs = await openDriveVfs(drive, cfg, paths, { role: 'cli', log: () => undefined });
    const fh = await vfs.create(`/${name}`, 0o644, 0o1);
    await vfs.write(fh, new TextEncoder().encode(name), 0);
    await vfs.release(fh);
    await vfs.close();
  }
  const fsStore = drive.stores[0] as FsStore;
  const history = await fsStore.rootHistory();
  const [now, before] = history.map((r) => openRoot(nodePlatform, drive.keys, r.bytes));
  const cacheDir = join(paths.cache, drive.header.driveId);
  // The current top directory is gone everywhere; the earlier one only from the store.
  const [nowTop, beforeTop] = [await topOf(drive, now.treeId), await topOf(drive, before.treeId)];
  await fsStore.delete(nowTop);
  await rm(cachedObjectPath(cacheDir, nowTop));
  await fsStore.delete(beforeTop);

  const faulty = new FaultStore(fsStore);
  faulty.quotaFull = true;
  drive.stores[0] = faulty;
  const opts = { repair: true, rollback: true, cacheDir, deviceIdHex: '1'.repeat(32) };
  const refused = await fsck(drive, opts);
  t.false(refused.clean);
  t.is(refused.fallback?.root.version, before.version.toString());
  t.is(refused.fallback?.written, null);
  t.regex(refused.fallback?.refused ?? '', /could not all be put back/);
  t.is(openRoot(nodePlatform, drive.keys, (await fsStore.getRoot())!.bytes).version, now.version, 'the root did not move');

  faulty.heal();
  const done = await fsck(drive, opts);
  t.true(done.clean);
  t.is(done.fallback?.written?.version, (now.version + 1n).toString());
  const written = openRoot(nodePlatform, drive.keys, (await fsStore.getRoot())!.bytes);
  t.like(written, { version: now.version + 1n, treeId: before.treeId, deviceId: '1'.repeat(32), prevRootHash: rootHash(nodePlatform, history[0].bytes) });
  t.true(await fsStore.has(beforeTop));
  t.deepEqual(done.fallback?.changes, [{ path: '/', change: 'unreadable', type: 'directory' }]);
});
