// The tree codec (src/format/tree.ts): round trips of the v2 layout, the v1 layout still
// decoding, and refusal of bad bytes and of reserved values.
import test from 'ava';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { compareNames, decodeName } from '../../src/format/names.js';
import {
  decodeTree, encodeChunkList, encodeDirIndex, encodeDirLeaf, encodeDirLeafV1, ENTRY_BLOCK_DEVICE, ENTRY_CHAR_DEVICE,
  ENTRY_DIR, ENTRY_FIFO, ENTRY_FILE, ENTRY_SOCKET, ENTRY_SYMLINK, TREE_CHUNK_LIST, TREE_DIR_INDEX, TREE_DIR_LEAF,
  type TreeEntry,
} from '../../src/format/tree.js';

const hex = (n: number): string => randomBytes(n).toString('hex');

/** Any byte string that is a name: 1..40 bytes without NUL or '/', not '.' or '..'. */
const nameArb = fc.uint8Array({ minLength: 1, maxLength: 40 })
  .map((b) => b.map((x) => (x === 0 || x === 0x2f ? 0xff : x)))
  .map(decodeName).filter((s) => s !== '.' && s !== '..');

const entryArb: fc.Arbitrary<TreeEntry> = fc.record({
  name: nameArb,
  type: fc.constantFrom(ENTRY_FILE, ENTRY_DIR, ENTRY_SYMLINK, ENTRY_FIFO, ENTRY_CHAR_DEVICE, ENTRY_BLOCK_DEVICE, ENTRY_SOCKET),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.nat(),
  gid: fc.nat(),
  size: fc.integer({ min: 0, max: 2 ** 52 }),
  mtimeMs: fc.integer({ min: 0, max: 2 ** 45 }),
  ctimeMs: fc.integer({ min: 0, max: 2 ** 45 }),
  xattrs: fc.uniqueArray(fc.tuple(nameArb, fc.uint8Array({ maxLength: 20 })), { maxLength: 3, selector: ([k]) => k }),
  chunks: fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 5 }),
  rdev: fc.record({ major: fc.nat(4095), minor: fc.nat(2 ** 20) }),
}).map(({ chunks, rdev, ...e }) => {
  const out: TreeEntry = { ...e };
  if (e.type === ENTRY_FILE) {
    out.file = { fileId: randomBytes(16), fileKey: randomBytes(32), chunks: chunks.sort((a, b) => a - b).map((i) => [i, hex(32)]) };
  } else if (e.type === ENTRY_DIR) out.dirId = hex(32);
  else if (e.type === ENTRY_SYMLINK) out.target = e.name + '/target';
  else if (e.type === ENTRY_CHAR_DEVICE || e.type === ENTRY_BLOCK_DEVICE) out.rdev = rdev;
  return out;
});

function norm(e: TreeEntry): unknown {
  const xattrs = [...e.xattrs].sort((a, b) => compareNames(a[0], b[0]));
  return { ...e, file: e.file && { ...e.file, fileId: [...e.file.fileId], fileKey: [...e.file.fileKey] }, xattrs: xattrs.map(([k, v]) => [k, [...v]]) };
}

const symlink = (name: string): TreeEntry => ({ name, type: ENTRY_SYMLINK, mode: 0o777, uid: 0, gid: 0, size: 1, mtimeMs: 1, ctimeMs: 1, xattrs: [], target: 'b' });

test('tree v2: directory leaves of byte names round-trip, in byte order', (t) => {
  fc.assert(fc.property(fc.uniqueArray(entryArb, { maxLength: 8, selector: (e) => e.name }), (entries) => {
    const d = decodeTree(encodeDirLeaf(entries), 2);
    const want = [...entries].sort((a, b) => compareNames(a.name, b.name));
    return d.kind === TREE_DIR_LEAF && JSON.stringify(d.entries.map(norm)) === JSON.stringify(want.map(norm));
  }));
  t.pass();
});

test('tree v2: index and chunk lists round-trip', (t) => {
  const buckets: [number, string][] = [[0, hex(32)], [7, hex(32)], [15, hex(32)]];
  t.deepEqual(decodeTree(encodeDirIndex(1, buckets), 2), { kind: TREE_DIR_INDEX, depth: 1, buckets });
  const refs: [number, string][] = [[0, hex(32)], [5, hex(32)], [2 ** 40, hex(32)]];
  t.deepEqual(decodeTree(encodeChunkList(refs), 2), { kind: TREE_CHUNK_LIST, refs });
});

test('tree v1 leaves still decode (UTF-8 names, no inode or ref bytes)', (t) => {
  const e: TreeEntry = { ...symlink('zé'), xattrs: [['user.a', new Uint8Array([1])]] };
  const f: TreeEntry = { name: 'a', type: ENTRY_FILE, mode: 0o644, uid: 1, gid: 2, size: 5, mtimeMs: 3, ctimeMs: 4, xattrs: [],
    file: { fileId: randomBytes(16), fileKey: randomBytes(32), chunks: [[0, hex(32)]] } };
  const d = decodeTree(encodeDirLeafV1([e, f]), 1);
  t.deepEqual(d.kind === TREE_DIR_LEAF && d.entries.map(norm), [e, f].map(norm));
  // The same bytes are not a v2 leaf.
  t.throws(() => decodeTree(encodeDirLeafV1([e, f]), 2));
});

test('tree: truncated, trailing or unknown bytes are E_FORMAT; unknown versions E_VERSION', (t) => {
  const leaf = encodeDirLeaf([symlink('a')]);
  t.throws(() => decodeTree(leaf.subarray(0, leaf.length - 1), 2), { code: 'E_FORMAT' });
  t.throws(() => decodeTree(new Uint8Array([...leaf, 0]), 2), { code: 'E_FORMAT' });
  t.throws(() => decodeTree(new Uint8Array([9, 0]), 2), { code: 'E_FORMAT' });
  t.throws(() => decodeTree(leaf, 3), { code: 'E_VERSION' });
  // A v1 leaf whose name is not UTF-8 is malformed (v1 names were UTF-8).
  t.throws(() => decodeTree(new Uint8Array([1, 1, 1, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0x62]), 1), { code: 'E_FORMAT' });
});

test('tree v2: duplicate or unordered names are E_FORMAT', (t) => {
  const a = encodeDirLeaf([symlink('a')]);
  const one = a.subarray(2);
  t.throws(() => decodeTree(new Uint8Array([1, 2, ...one, ...one]), 2), { code: 'E_FORMAT' });
  const b = encodeDirLeaf([symlink('b')]).subarray(2);
  t.throws(() => decodeTree(new Uint8Array([1, 2, ...b, ...one]), 2), { code: 'E_FORMAT' });
  t.is((decodeTree(new Uint8Array([1, 2, ...one, ...b]), 2) as { entries: TreeEntry[] }).entries.length, 2);
  t.throws(() => encodeDirLeaf([symlink('a'), symlink('a')]), { message: /BUG/ });
});

test('tree v2: reserved values are E_VERSION (packed refs, inode numbers, hard links, segments, DRIVE, INODES)', (t) => {
  const dir = encodeDirLeaf([{ ...symlink('d'), type: ENTRY_DIR, dirId: hex(32) }]);
  const at = dir.length - 33; // the ref's form byte
  t.is(dir[at], 0);
  t.throws(() => decodeTree(Uint8Array.from(dir, (x, i) => (i === at ? 1 : x)), 2), { code: 'E_VERSION' });
  const leaf = encodeDirLeaf([symlink('a')]);
  t.is(leaf[5], 0); // kind, count, name length, 'a', type, inode
  t.throws(() => decodeTree(Uint8Array.from(leaf, (x, i) => (i === 5 ? 7 : x)), 2), { code: 'E_VERSION' });
  t.throws(() => decodeTree(Uint8Array.from(leaf, (x, i) => (i === 4 ? 8 : x)), 2), { code: 'E_VERSION' });
  const file = encodeDirLeaf([{ ...symlink('f'), type: ENTRY_FILE, file: { fileId: randomBytes(16), fileKey: randomBytes(32), chunks: [] } }]);
  const cf = file.length - 3; // chunkFormat || form || count
  t.is(file[cf], 0);
  t.throws(() => decodeTree(Uint8Array.from(file, (x, i) => (i === cf ? 1 : x)), 2), { code: 'E_VERSION' });
  t.throws(() => decodeTree(new Uint8Array([4, 0]), 2), { code: 'E_VERSION' });
  t.throws(() => decodeTree(new Uint8Array([5, 0]), 2), { code: 'E_VERSION' });
});

test('tree: names the format cannot hold are refused', (t) => {
  const e = symlink('a/b');
  t.throws(() => encodeDirLeaf([e]), { code: 'EINVAL' });
  t.throws(() => encodeDirLeaf([{ ...e, name: 'x'.repeat(256) }]), { code: 'ENAMETOOLONG' });
  t.throws(() => encodeDirLeaf([{ ...e, name: '\udcff'.repeat(256) }]), { code: 'ENAMETOOLONG' });
  t.notThrows(() => encodeDirLeaf([{ ...e, name: '\udcff'.repeat(255) }]));
  t.throws(() => encodeDirLeaf([{ ...e, name: '\udcc3\udca9' }]), { code: 'EINVAL' }); // spells 'é': not canonical
  t.throws(() => encodeDirLeaf([{ ...e, name: 'a\ud800' }]), { code: 'EINVAL' });
  t.throws(() => encodeDirLeaf([{ ...e, name: 'a', target: 'x'.repeat(4096) }]), { code: 'ENAMETOOLONG' });
});
