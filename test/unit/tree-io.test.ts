// Tree objects through TreeIo: big directories shard so one new entry reseals one leaf
// and the index; big chunk maps go to CHUNK_LIST objects and come back intact.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import type { SealedObject } from '../../src/crypto/object.js';
import { ENTRY_SYMLINK, LEAF_MAX_ENTRIES, type TreeEntry } from '../../src/format/tree.js';
import { nodePlatform } from '../../src/platform/node.js';
import { TreeIo } from '../../src/vfs/tree-io.js';

function io(): { tree: TreeIo; objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>();
  const tree = new TreeIo(nodePlatform, randomBytes(32), randomBytes(32), async (id) => objects.get(id)!);
  return { tree, objects };
}

const entry = (name: string): TreeEntry => ({ name, type: ENTRY_SYMLINK, mode: 0o777, uid: 0, gid: 0, size: 1, mtimeMs: 1, ctimeMs: 1, xattrs: [], target: 't' });

test('tree-io: one new entry in a big directory reseals one leaf and the index', async (t) => {
  const { tree, objects } = io();
  const n = 5 * LEAF_MAX_ENTRIES;
  const entries = Array.from({ length: n }, (_, i) => entry(`file-${i}`));
  const out: SealedObject[] = [];
  const id = tree.encodeDir([...entries], out);
  for (const o of out) objects.set(o.id, o.bytes);
  t.is(out.length, 17, "16 leaves and one index");
  const loaded = await tree.loadDir(id);
  t.is(loaded.length, n);
  const out2: SealedObject[] = [];
  const id2 = tree.encodeDir([...entries, entry('one more')], out2);
  t.not(id2, id);
  t.is(out2.length, 2, "one leaf and the index");
  for (const o of out2) objects.set(o.id, o.bytes);
  t.is((await tree.loadDir(id2)).length, n + 1);
});

test('tree-io: a big chunk map goes to list objects and round-trips', async (t) => {
  const { tree, objects } = io();
  const chunks = new Map<number, string>();
  for (let i = 0; i < 20_000; i++) chunks.set(i * 3, randomBytes(32).toString('hex'));
  const out: SealedObject[] = [];
  const body = tree.fileChunks(chunks, out);
  t.is(body.chunks, undefined);
  t.is(body.lists!.length, 2);
  for (const o of out) objects.set(o.id, o.bytes);
  t.deepEqual(await tree.loadChunkLists(body.lists!), chunks);
  const small = tree.fileChunks(new Map([[5, 'ab'.repeat(32)]]), []);
  t.deepEqual(small.chunks, [[5, 'ab'.repeat(32)]]);
});
