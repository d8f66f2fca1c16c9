// Property tests of chunk sealing: honest sequences round-trip; every tampering a store
// could do (bit flips, swaps, reorders, truncation, moves between files) is rejected.
// One limit, shown last: replaying an older sealing of the same (file, index) passes the
// AEAD alone; the tree's chunk id list catches it.
import test from 'ava';
import fc from 'fast-check';
import { chunkKeyFor, openChunk, sealChunk, type ChunkPlace } from '../../src/crypto/chunk.js';
import { noblePlatform } from '../../src/crypto/noble.js';
import type { SealedObject } from '../../src/crypto/object.js';
import type { CryptoPlatform } from '../../src/crypto/platform.js';
import { MegafsError } from '../../src/errors.js';
import { nodePlatform } from '../../src/platform/node.js';

// One key for every file: the AAD alone must keep files apart (the strongest setting).
const chunkKey = chunkKeyFor(new Uint8Array(32).fill(7));
const FILE_A = new Uint8Array(16).fill(0xaa);
const FILE_B = new Uint8Array(16).fill(0xbb);

const contents = fc.array(fc.uint8Array({ minLength: 1, maxLength: 600 }), { minLength: 1, maxLength: 6 });

function sealFile(p: CryptoPlatform, fileId: Uint8Array, chunks: Uint8Array[]): SealedObject[] {
  return chunks.map((c, i) => sealChunk(p, chunkKey, { fileId, chunkIndex: i, isLast: i === chunks.length - 1 }, c));
}

/** What a reader does: chunk i of n, the last one flagged; `ids` when the tree is at hand. */
function readFile(p: CryptoPlatform, fileId: Uint8Array, objects: Uint8Array[], ids?: string[]): Uint8Array[] {
  return objects.map((bytes, chunkIndex) => {
    const place: ChunkPlace = { fileId, chunkIndex, isLast: chunkIndex === objects.length - 1 };
    return openChunk(p, chunkKey, place, bytes, ids?.[chunkIndex]);
  });
}

function rejected(f: () => unknown, codes = ['E_INTEGRITY']): boolean {
  try {
    f();
  } catch (e) {
    return e instanceof MegafsError && codes.includes(e.code);
  }
  return false;
}

for (const p of [nodePlatform, noblePlatform]) {
  test(`${p.name}: honest chunk sequences round-trip, with and without ids`, (t) => {
    fc.assert(fc.property(contents, (chunks) => {
      const sealed = sealFile(p, FILE_A, chunks);
      t.deepEqual(readFile(p, FILE_A, sealed.map((s) => s.bytes)), chunks);
      t.deepEqual(readFile(p, FILE_A, sealed.map((s) => s.bytes), sealed.map((s) => s.id)), chunks);
    }), { numRuns: p === nodePlatform ? 200 : 50 });
  });
}

test('a bit flipped anywhere is rejected (E_VERSION only for the version byte without an id)', (t) => {
  fc.assert(fc.property(contents, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), (chunks, which, where, bit) => {
    const sealed = sealFile(nodePlatform, FILE_A, chunks);
    const objects = sealed.map((s) => s.bytes.slice());
    const target = objects[which % objects.length];
    const at = where % target.length;
    target[at] ^= 1 << bit;
    t.true(rejected(() => readFile(nodePlatform, FILE_A, objects), at === 0 ? ['E_INTEGRITY', 'E_VERSION'] : ['E_INTEGRITY']));
    t.true(rejected(() => readFile(nodePlatform, FILE_A, objects, sealed.map((s) => s.id))));
  }), { numRuns: 300 });
});

test('any reordering (swaps included) is rejected', (t) => {
  const perm = contents.filter((c) => c.length >= 2).chain((chunks) =>
    fc.tuple(fc.constant(chunks), fc.shuffledSubarray([...chunks.keys()], { minLength: chunks.length, maxLength: chunks.length })));
  fc.assert(fc.property(perm, ([chunks, order]) => {
    fc.pre(order.some((v, i) => v !== i));
    const sealed = sealFile(nodePlatform, FILE_A, chunks);
    t.true(rejected(() => readFile(nodePlatform, FILE_A, order.map((i) => sealed[i].bytes))));
  }), { numRuns: 200 });
});

test('dropping trailing chunks (truncation) is rejected', (t) => {
  fc.assert(fc.property(contents.filter((c) => c.length >= 2), fc.nat(), (chunks, cut) => {
    const keep = 1 + (cut % (chunks.length - 1));
    const sealed = sealFile(nodePlatform, FILE_A, chunks);
    t.true(rejected(() => readFile(nodePlatform, FILE_A, sealed.slice(0, keep).map((s) => s.bytes))));
  }), { numRuns: 200 });
});

test('dropping or duplicating a middle chunk is rejected', (t) => {
  fc.assert(fc.property(contents.filter((c) => c.length >= 2), fc.nat(), fc.boolean(), (chunks, at, dup) => {
    const sealed = sealFile(nodePlatform, FILE_A, chunks).map((s) => s.bytes);
    const i = at % (chunks.length - 1);
    const tampered = dup ? [...sealed.slice(0, i + 1), sealed[i], ...sealed.slice(i + 1)] : [...sealed.slice(0, i), ...sealed.slice(i + 1)];
    t.true(rejected(() => readFile(nodePlatform, FILE_A, tampered)));
  }), { numRuns: 200 });
});

test('truncating the bytes of any object is rejected', (t) => {
  fc.assert(fc.property(contents, fc.nat(), fc.nat(), (chunks, which, cut) => {
    const objects = sealFile(nodePlatform, FILE_A, chunks).map((s) => s.bytes);
    const i = which % objects.length;
    objects[i] = objects[i].subarray(0, cut % objects[i].length);
    t.true(rejected(() => readFile(nodePlatform, FILE_A, objects)));
  }), { numRuns: 200 });
});

test('a chunk moved from another file (same key, same index) is rejected', (t) => {
  fc.assert(fc.property(contents, contents, fc.nat(), (a, b, which) => {
    const sealedA = sealFile(nodePlatform, FILE_A, a).map((s) => s.bytes);
    const sealedB = sealFile(nodePlatform, FILE_B, b).map((s) => s.bytes);
    const i = which % Math.min(a.length, b.length);
    const mixed = sealedA.slice();
    mixed[i] = sealedB[i];
    t.true(rejected(() => readFile(nodePlatform, FILE_A, mixed)));
    t.true(rejected(() => readFile(nodePlatform, FILE_A, sealedB)));
  }), { numRuns: 200 });
});

test('limit: an older sealing of the same place opens by AEAD alone, and the tree id catches it', (t) => {
  fc.assert(fc.property(contents, fc.uint8Array({ minLength: 1, maxLength: 600 }), (chunks, older) => {
    const current = sealFile(nodePlatform, FILE_A, chunks);
    const last = chunks.length - 1;
    const stale = sealChunk(nodePlatform, chunkKey, { fileId: FILE_A, chunkIndex: last, isLast: true }, older);
    const replayed = current.map((s) => s.bytes);
    replayed[last] = stale.bytes;
    // The AEAD accepts it: the same key, file id, index and flag.
    t.deepEqual(readFile(nodePlatform, FILE_A, replayed)[last], older);
    // The tree names each chunk by the hash of its ciphertext: the replay is refused.
    t.true(rejected(() => readFile(nodePlatform, FILE_A, replayed, current.map((s) => s.id))));
  }), { numRuns: 50 });
});
