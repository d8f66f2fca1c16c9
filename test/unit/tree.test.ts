// The tree codec (src/format/tree.ts): round trips and refusal of bad bytes.
import test from 'ava';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import {
  decodeTree, encodeChunkList, encodeDirIndex, encodeDirLeaf, ENTRY_DIR, ENTRY_FILE, ENTRY_SYMLINK,
  TREE_CHUNK_LIST, TREE_DIR_INDEX, TREE_DIR_LEAF, type TreeEntry,
} from '../../src/format/tree.js';

const hex = (n: number): string => randomBytes(n).toString('hex');

const entryArb: fc.Arbitrary<TreeEntry> = fc.record({
  name: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..'),
  type: fc.constantFrom(ENTRY_FILE, ENTRY_DIR, ENTRY_SYMLINK),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.nat(),
  gid: fc.nat(),
  size: fc.integer({ min: 0, max: 2 ** 52 }),
  mtimeMs: fc.integer({ min: 0, max: 2 ** 45 }),
  ctimeMs: fc.integer({ min: 0, max: 2 ** 45 }),
  xattrs: fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.uint8Array({ maxLength: 20 })), { maxLength: 3 }),
  chunks: fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 5 }),
}).map(({ chunks, ...e }) => {
  const out: TreeEntry = { ...e };
  if (e.type === ENTRY_FILE) {
    out.file = { fileId: randomBytes(16), fileKey: randomBytes(32), chunks: chunks.sort((a, b) => a - b).map((i) => [i, hex(32)]) };
  } else if (e.type === ENTRY_DIR) out.dirId = hex(32);
  else out.target = e.name + '/target';
  return out;
});

function norm(e: TreeEntry): unknown {
  return { ...e, file: e.file && { ...e.file, fileId: [...e.file.fileId], fileKey: [...e.file.fileKey] }, xattrs: e.xattrs.map(([k, v]) => [k, [...v]]) };
}

test('tree: directory leaves round-trip', (t) => {
  fc.assert(fc.property(fc.array(entryArb, { maxLength: 8 }), (entries) => {
    const d = decodeTree(encodeDirLeaf(entries));
    return d.kind === TREE_DIR_LEAF && JSON.stringify(d.entries.map(norm)) === JSON.stringify(entries.map(norm));
  }));
  t.pass();
});

test('tree: index and chunk lists round-trip', (t) => {
  const buckets: [number, string][] = [[0, hex(32)], [7, hex(32)], [255, hex(32)]];
  t.deepEqual(decodeTree(encodeDirIndex(1, buckets)), { kind: TREE_DIR_INDEX, depth: 1, buckets });
  const refs: [number, string][] = [[0, hex(32)], [5, hex(32)], [2 ** 40, hex(32)]];
  t.deepEqual(decodeTree(encodeChunkList(refs)), { kind: TREE_CHUNK_LIST, refs });
});

test('tree: truncated, trailing or unknown bytes are E_FORMAT', (t) => {
  const leaf = encodeDirLeaf([{ name: 'a', type: ENTRY_SYMLINK, mode: 0o777, uid: 0, gid: 0, size: 1, mtimeMs: 1, ctimeMs: 1, xattrs: [], target: 'b' }]);
  t.throws(() => decodeTree(leaf.subarray(0, leaf.length - 1)), { code: 'E_FORMAT' });
  t.throws(() => decodeTree(new Uint8Array([...leaf, 0])), { code: 'E_FORMAT' });
  t.throws(() => decodeTree(new Uint8Array([9, 0])), { code: 'E_FORMAT' });
});

test('tree: names the format cannot hold are refused', (t) => {
  const e: TreeEntry = { name: 'a/b', type: ENTRY_SYMLINK, mode: 0, uid: 0, gid: 0, size: 0, mtimeMs: 0, ctimeMs: 0, xattrs: [], target: 'x' };
  t.throws(() => encodeDirLeaf([e]), { code: 'EINVAL' });
  t.throws(() => encodeDirLeaf([{ ...e, name: 'x'.repeat(256) }]), { code: 'ENAMETOOLONG' });
});
