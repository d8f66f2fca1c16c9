// Byte codecs of src/format/bytes.ts: round trips, and E_FORMAT (never a RangeError or a
// read past the end) on bad input.
import test from 'ava';
import fc from 'fast-check';
import type { MegafsError } from '../../src/errors.js';
import { ByteReader, ByteWriter, bytesEqual, fromBase64, fromHex, toBase64, toHex } from '../../src/format/bytes.js';

test('writer and reader round-trip every field type', (t) => {
  fc.assert(fc.property(fc.nat(0xff), fc.nat(0xffffffff), fc.bigInt(0n, 2n ** 64n - 1n), fc.maxSafeNat(), fc.uint8Array({ maxLength: 300 }),
    (a, b, c, d, e) => {
      const bytes = new ByteWriter(1).u8(a).u32(b).u64(c).varint(d).bytes(e).finish();
      const r = new ByteReader(bytes);
      t.is(r.u8(), a);
      t.is(r.u32(), b);
      t.is(r.u64(), c);
      t.is(r.varint(), d);
      t.deepEqual(r.bytes(), e);
      t.notThrows(() => r.end());
    }));
});

test('a truncated or overlong input is E_FORMAT', (t) => {
  const bytes = new ByteWriter().u32(7).bytes(new Uint8Array(10)).finish();
  for (let cut = 0; cut < bytes.length; cut++) {
    const r = new ByteReader(bytes.subarray(0, cut));
    t.is(t.throws<MegafsError>(() => { r.u32(); r.bytes(); })?.code, 'E_FORMAT');
  }
  t.is(t.throws<MegafsError>(() => new ByteReader(new Uint8Array(9).fill(0x80)).varint())?.code, 'E_FORMAT');
  const r = new ByteReader(new Uint8Array(2));
  r.u8();
  t.is(t.throws<MegafsError>(() => r.end())?.code, 'E_FORMAT');
});

test('hex and base64 round-trip; bad input is E_FORMAT', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
    t.deepEqual(fromHex(toHex(b)), b);
    t.deepEqual(fromBase64(toBase64(b)), b);
    t.is(toBase64(b), Buffer.from(b).toString('base64'));
  }));
  t.is(t.throws<MegafsError>(() => fromHex('abc'))?.code, 'E_FORMAT');
  t.is(t.throws<MegafsError>(() => fromHex('zz'))?.code, 'E_FORMAT');
  t.is(t.throws<MegafsError>(() => fromBase64('!!!'))?.code, 'E_FORMAT');
});

test('bytesEqual', (t) => {
  t.true(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  t.false(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  t.false(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 2])));
});
