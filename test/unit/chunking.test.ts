// Offset arithmetic round trips (src/chunking/offsets.ts).
import test from 'ava';
import fc from 'fast-check';
import { chunkCount, chunkIndexOf, chunkPlainLength, lastChunkIndex, offsetInChunk, planRange } from '../../src/chunking/offsets.js';

test('chunking: offset -> (index, offset in chunk) -> offset', (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 52 }), fc.integer({ min: 1, max: 1 << 22 }), (off, cs) => {
    return chunkIndexOf(off, cs) * cs + offsetInChunk(off, cs) === off;
  }));
  t.pass();
});

test('chunking: planRange covers the range exactly, in order, within chunks', (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 1024 }), (off, len, cs) => {
    const spans = planRange(off, len, cs);
    let at = 0;
    for (const s of spans) {
      if (s.bufferOffset !== at || s.length <= 0 || s.offsetInChunk + s.length > cs) return false;
      if (s.chunkIndex * cs + s.offsetInChunk !== off + at) return false;
      at += s.length;
    }
    return at === len;
  }));
  t.pass();
});

test('chunking: sizes', (t) => {
  t.is(lastChunkIndex(0, 10), -1);
  t.is(lastChunkIndex(10, 10), 0);
  t.is(lastChunkIndex(11, 10), 1);
  t.is(chunkCount(21, 10), 3);
  t.is(chunkPlainLength(2, 21, 10), 1);
  t.is(chunkPlainLength(3, 21, 10), 0);
  t.is(chunkPlainLength(0, 21, 10), 10);
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (size) => {
    let sum = 0;
    const n = chunkCount(size, 1 << 20);
    if (n > 0) sum = (n - 1) * (1 << 20) + chunkPlainLength(n - 1, size, 1 << 20);
    return sum === size;
  }));
});
