// The share manifest codec and the share routes' Range parser: round trips, and a hostile
// manifest (bad names, duplicates, bad ids, deep nesting, wrong version) is refused.
import test from 'ava';
import { decodeManifest, encodeManifest, entrySize, manifestObjectIds, walkFiles, type Manifest, type ManifestEntry } from '../../src/share/manifest.js';
import { parseRange } from '../../src/server/shares/range.js';

const KEY = 'A'.repeat(43) + '=';
const FID = 'A'.repeat(22) + '==';
const ID = 'ab'.repeat(32);
const file = (name: string, size = 3): ManifestEntry => ({ kind: 'file', name, size, mtimeMs: 1, fileId: FID, fileKey: KEY, chunks: size ? [ID] : [] });
const folder = (name: string, entries: ManifestEntry[]): ManifestEntry => ({ kind: 'folder', name, mtimeMs: 1, entries });
const bytes = (m: unknown) => new TextEncoder().encode(JSON.stringify(m));

test('a folder manifest round trips; sizes, ids and paths', (t) => {
  const m: Manifest = { v: 1, root: folder('top', [file('a.txt'), folder('sub', [file('b', 0), { ...file('c', 5), chunks: [null] } as ManifestEntry])]) };
  const back = decodeManifest(encodeManifest(m));
  t.deepEqual(back, m);
  t.is(entrySize(back.root), 8);
  t.deepEqual([...manifestObjectIds(back.root)], [ID]);
  t.deepEqual([...walkFiles(back.root)].map((f) => f.path), ['top/a.txt', 'top/sub/b', 'top/sub/c']);
});

for (const name of ['', '.', '..', 'a/b', 'nul\0']) {
  test(`a name like ${JSON.stringify(name)} is refused`, (t) => {
    t.throws(() => decodeManifest(bytes({ v: 1, root: folder('x', [file(name)]) })), { code: 'E_FORMAT' });
  });
}

test('names that are not UTF-8 survive as name (shown) + nameBytes (exact); well-formed JSON', (t) => {
  const m: Manifest = { v: 1, root: folder('top-\udcff', [file('q-\udcff'), file('q-\udcfe'), file('ünï 😀')]) };
  const json = new TextDecoder().decode(encodeManifest(m));
  t.false(/\\ud[c-f]/i.test(json), 'no lone surrogate escapes in the JSON');
  const raw = JSON.parse(json) as { root: { name: string; nameBytes?: string; entries: Array<{ name: string; nameBytes?: string }> } };
  t.is(raw.root.name, 'top-\ufffd');
  t.deepEqual(raw.root.entries.map((e) => [e.name, e.nameBytes]), [['q-\ufffd', 'cS3/'], ['q-\ufffd', 'cS3+'], ['ünï 😀', undefined]]);
  t.deepEqual(decodeManifest(encodeManifest(m)), m);
});

test('nameBytes that is plain UTF-8, bad base64 or no name, and names with lone surrogates, are refused', (t) => {
  const withBytes = (nameBytes: string) => bytes({ v: 1, root: { ...file('x'), nameBytes } });
  t.throws(() => decodeManifest(withBytes('YQ==')), { code: 'E_FORMAT' }); // "a": must be in name
  t.throws(() => decodeManifest(withBytes('!!')), { code: 'E_FORMAT' });
  t.throws(() => decodeManifest(withBytes('L/8=')), { code: 'E_FORMAT' }); // "/\xff"
  t.throws(() => decodeManifest(withBytes(Buffer.alloc(256, 0xff).toString('base64'))), { code: 'E_FORMAT' });
  t.throws(() => decodeManifest(bytes({ v: 1, root: file('a\udcff') })), { code: 'E_FORMAT' });
});

test('duplicates, bad ids, bad keys, bad sizes, deep nesting and other versions are refused', (t) => {
  t.throws(() => decodeManifest(bytes({ v: 1, root: folder('x', [file('a'), file('a')]) })), { code: 'E_FORMAT' });
  t.throws(() => decodeManifest(bytes({ v: 1, root: { ...file('a'), chunks: ['nothex'] } })), { code: 'E_FORMAT' });
  t.throws(() => decodeManifest(bytes({ v: 1, root: { ...file('a'), fileKey: 'short' } })), { code: 'E_FORMAT' });
  t.throws(() => decodeManifest(bytes({ v: 1, root: { ...file('a'), size: -1 } })), { code: 'E_FORMAT' });
  let deep: ManifestEntry = file('leaf');
  for (let i = 0; i < 300; i++) deep = folder(`d${i}`, [deep]);
  t.throws(() => decodeManifest(bytes({ v: 1, root: deep })), { code: 'E_FORMAT' });
  t.throws(() => decodeManifest(bytes({ v: 3, root: file('a') })), { code: 'E_VERSION' });
  t.throws(() => decodeManifest(new Uint8Array([0xff, 0xfe])), { code: 'E_FORMAT' });
});

test('version 2 names the chunk key, version 1 the file key: never the other, never both', (t) => {
  const v2 = { kind: 'file', name: 'a', size: 3, mtimeMs: 1, fileId: FID, chunkKey: KEY, chunks: [ID] };
  t.deepEqual(decodeManifest(bytes({ v: 2, root: v2 })).root, v2);
  t.throws(() => decodeManifest(bytes({ v: 2, root: file('a') })), { code: 'E_FORMAT' });
  t.throws(() => decodeManifest(bytes({ v: 2, root: { ...v2, fileKey: KEY } })), { code: 'E_FORMAT' });
  t.throws(() => decodeManifest(bytes({ v: 1, root: v2 })), { code: 'E_FORMAT' });
  t.throws(() => decodeManifest(bytes({ v: 2, root: { ...v2, chunkKey: 'short' } })), { code: 'E_FORMAT' });
});

test('Range: one range, suffix, open end, unsatisfiable, ignored', (t) => {
  t.deepEqual(parseRange('bytes=0-9', 100), { offset: 0, length: 10 });
  t.deepEqual(parseRange('bytes=90-', 100), { offset: 90, length: 10 });
  t.deepEqual(parseRange('bytes=-5', 100), { offset: 95, length: 5 });
  t.deepEqual(parseRange('bytes=95-200', 100), { offset: 95, length: 5 });
  t.is(parseRange('bytes=100-', 100), 'unsatisfiable');
  t.is(parseRange(undefined, 100), null);
  t.is(parseRange('bytes=0-1,5-6', 100), null);
  t.is(parseRange('bytes=9-3', 100), null);
});
