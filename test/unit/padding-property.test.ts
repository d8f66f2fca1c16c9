// Padmé properties: never shrinks, monotone, idempotent, bounded overhead, few
// significant bits (what it leaks), and the 256-byte floor.
import test from 'ava';
import fc from 'fast-check';
import { sealedSize } from '../../src/crypto/object.js';
import { OBJECT_OVERHEAD_BYTES } from '../../src/format/constants.js';
import { PAD_MIN_BYTES, padme, padmeRaw } from '../../src/format/padding.js';

const length = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 ** 34 }));

test('padme(L) >= L, monotone and idempotent', (t) => {
  fc.assert(fc.property(length, length, (a, b) => {
    t.true(padme(a) >= a);
    if (a <= b) t.true(padme(a) <= padme(b));
    t.is(padme(padme(a)), padme(a));
  }), { numRuns: 2000 });
});

test('overhead is under 1/2^(floor(log2 E)+1) of L (at most 6.25% past the floor)', (t) => {
  fc.assert(fc.property(fc.integer({ min: PAD_MIN_BYTES + 1, max: 2 ** 34 }), (l) => {
    const e = Math.floor(Math.log2(l));
    const s = Math.floor(Math.log2(e)) + 1;
    t.true(padme(l) - l < 2 ** (e - s), `L=${l}`);
    t.true((padme(l) - l) / l <= 0.0625, `L=${l}`);
  }), { numRuns: 2000 });
});

test('the padded length keeps at most floor(log2 E)+2 significant bits', (t) => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 2 ** 34 }), (l) => {
    const padded = padmeRaw(l);
    const e = Math.floor(Math.log2(l));
    const s = Math.floor(Math.log2(e)) + 1;
    t.is(padded % 2 ** (e - s), 0, `L=${l}`);
  }), { numRuns: 2000 });
});

test('floor: 0..256 bytes all pad to 256; powers of two are not padded', (t) => {
  for (let l = 0; l <= PAD_MIN_BYTES; l++) t.is(padme(l), PAD_MIN_BYTES);
  for (let k = 8; k <= 30; k++) t.is(padme(2 ** k), 2 ** k);
  t.is(sealedSize(1), OBJECT_OVERHEAD_BYTES + 256);
  t.is(sealedSize(1 << 20), (1 << 20) + OBJECT_OVERHEAD_BYTES);
});

test('padmeRaw matches the paper on small values', (t) => {
  // Nikitin et al. Table: 9 -> 10 (E=3,S=2), 17 -> 18, 33 -> 36, 100 -> 104, 1000 -> 1024.
  t.deepEqual([0, 1, 2, 3, 9, 17, 33, 100, 1000].map(padmeRaw), [0, 1, 2, 3, 10, 18, 36, 104, 1024]);
});
