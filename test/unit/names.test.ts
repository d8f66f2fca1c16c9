// Names as bytes (src/format/names.ts): the bytes <-> string bijection, byte order, the
// kernel's latin1 form, and the escaped form the CLI prints and parses.
import test from 'ava';
import fc from 'fast-check';
import {
  compareBytes, compareNames, decodeName, encodeName, escapeName, isUtf8, nameBytes, nameFromLatin1, nameToLatin1,
  parseEscapedName,
} from '../../src/format/names.js';

const bytes = fc.uint8Array({ maxLength: 64 });
/** Byte strings biased towards UTF-8 fragments, where escaping is subtle. */
const mixed = fc.array(fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 4 }),
  fc.string({ unit: 'binary', maxLength: 4 }).map((s) => new TextEncoder().encode(s)),
  fc.constantFrom([0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xe0, 0x80], [0xf0, 0x9f, 0x98]).map((a) => Uint8Array.from(a)),
), { maxLength: 8 }).map((parts) => Uint8Array.from(parts.flatMap((p) => [...p])));

test('names: bytes -> string -> bytes is the identity', (t) => {
  fc.assert(fc.property(fc.oneof(bytes, mixed), (b) => Buffer.from(encodeName(decodeName(b))).equals(Buffer.from(b))));
  t.pass();
});

test('names: one string per byte string (decode is injective), and strings that are no name are refused', (t) => {
  fc.assert(fc.property(fc.oneof(bytes, mixed), fc.oneof(bytes, mixed), (a, b) => (decodeName(a) === decodeName(b)) === Buffer.from(a).equals(Buffer.from(b))));
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
    let back: string;
    try { back = decodeName(encodeName(s)); } catch (e) { return (e as { code?: string }).code === 'EINVAL'; }
    return back === s;
  }));
  t.throws(() => encodeName('\udcc3\udca9'), { code: 'EINVAL' });
  t.throws(() => encodeName('\ud800'), { code: 'EINVAL' });
  t.throws(() => encodeName('\udc41'), { code: 'EINVAL' });
  t.pass();
});

test('names: well-formed UTF-8 decodes as usual, each other byte as U+DC80..U+DCFF', (t) => {
  t.is(decodeName(new TextEncoder().encode('ünïcode 😀')), 'ünïcode 😀');
  t.is(decodeName(Uint8Array.from([0x71, 0x2d, 0xff])), 'q-\udcff');
  t.is(decodeName(Uint8Array.from([0x71, 0x2d, 0xfe])), 'q-\udcfe');
  t.is(decodeName(Uint8Array.from([0xed, 0xa0, 0x80])), '\udced\udca0\udc80'); // an encoded surrogate is not UTF-8
  t.is(decodeName(Uint8Array.from([0xe2, 0x82, 0x41])), '\udce2\udc82A'); // truncated sequence, then ASCII
  t.is(decodeName(Uint8Array.from([0xc3, 0xa9, 0xa9])), 'é\udca9');
  t.true(isUtf8(Uint8Array.from([0xc3, 0xa9])));
  t.false(isUtf8(Uint8Array.from([0xff])));
});

test('names: string order by compareNames is byte order', (t) => {
  fc.assert(fc.property(fc.oneof(bytes, mixed), fc.oneof(bytes, mixed), (a, b) =>
    Math.sign(compareNames(decodeName(a), decodeName(b))) === Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))));
  fc.assert(fc.property(bytes, bytes, (a, b) => Math.sign(compareBytes(a, b)) === Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))));
  // UTF-16 order and byte order differ past the BMP: U+FFFD < U+1F600 as bytes.
  t.true(compareNames('\ufffd', '😀') < 0);
  t.true(compareNames('q-\udcfe', 'q-\udcff') < 0);
});

test('names: the kernel latin1 form round-trips', (t) => {
  fc.assert(fc.property(fc.oneof(bytes, mixed), (b) => {
    const latin1 = Buffer.from(b).toString('latin1');
    const name = nameFromLatin1(latin1);
    return name === decodeName(b) && nameToLatin1(name) === latin1;
  }));
  t.pass();
});

test('names: 255 bytes is the limit, counted in bytes', (t) => {
  t.is(nameBytes('\udcff'.repeat(255)).length, 255);
  t.throws(() => nameBytes('\udcff'.repeat(256)), { code: 'ENAMETOOLONG' });
  t.throws(() => nameBytes('é'.repeat(128)), { code: 'ENAMETOOLONG' });
  for (const bad of ['', '.', '..', 'a/b', 'a\0b']) t.throws(() => nameBytes(bad), { code: 'EINVAL' }, JSON.stringify(bad));
});

test('names: the escaped form round-trips and shows only printable text', (t) => {
  fc.assert(fc.property(fc.oneof(bytes, mixed), (b) => {
    const s = decodeName(b);
    const shown = escapeName(s);
    return parseEscapedName(shown) === s && !/[\x00-\x1f\x7f\ud800-\udfff]/.test(shown.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
  }));
  t.is(escapeName('q-\udcff'), 'q-\\xff');
  t.is(escapeName('a\\b\n'), 'a\\\\b\\x0a');
  t.is(escapeName('ünï'), 'ünï');
  t.is(parseEscapedName('q-\\xfe'), 'q-\udcfe');
  t.is(parseEscapedName('\\xc3\\xa9'), 'é'); // escaped UTF-8 is the character
  t.is(parseEscapedName('a\\zb'), 'a\\zb'); // a lone backslash stays
});
