// The two platforms agree byte for byte on random inputs (sizes across the fast path's
// 64 KiB pieces), cross-open each other's output, and honour caller-supplied buffers.
import test from 'ava';
import fc from 'fast-check';
import type { MegafsError } from '../../src/errors.js';
import { noblePlatform as noble } from '../../src/crypto/noble.js';
import { openObject, sealObject, sealedSize } from '../../src/crypto/object.js';
import { nodePlatform as node } from '../../src/platform/node.js';

/** ava's deepEqual is slow on big arrays: compare with Buffer. */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const size = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 65_530, max: 65_542 }), fc.integer({ min: 0, max: 200_000 }));

test('xchacha: node and noble produce the same bytes and open each other', (t) => {
  fc.assert(fc.property(bytes(32), bytes(24), fc.uint8Array({ maxLength: 64 }), size, fc.integer(), (key, nonce, aad, n, seed) => {
    const plaintext = new Uint8Array(n).map((_, i) => (i * 13 + seed) & 0xff);
    const a = node.xchachaSeal(key, nonce, plaintext, aad);
    const b = noble.xchachaSeal(key, nonce, plaintext, aad);
    t.true(same(a, b));
    t.true(same(node.xchachaOpen(key, nonce, b, aad), plaintext));
    t.true(same(noble.xchachaOpen(key, nonce, a, aad), plaintext));
  }), { numRuns: 60 });
});

test('sha256 agrees', (t) => {
  fc.assert(fc.property(size, fc.integer(), (n, seed) => {
    const data = new Uint8Array(n).map((_, i) => (i * 7 + seed) & 0xff);
    t.true(same(node.sha256(data), noble.sha256(data)));
  }), { numRuns: 40 });
});

test('sealObject into a reused buffer equals a fresh seal; openObject into a buffer too', (t) => {
  const key = node.randomBytes(32);
  const out = new Uint8Array(sealedSize(200_000));
  const plainOut = new Uint8Array(sealedSize(200_000));
  fc.assert(fc.property(size, bytes(24), (n, nonce) => {
    const payload = node.randomBytes(n);
    const fresh = sealObject(node, key, 'megafs test', new Uint8Array(0), payload, nonce);
    const reused = sealObject(node, key, 'megafs test', new Uint8Array(0), payload, nonce, out);
    t.is(reused.id, fresh.id);
    t.true(same(reused.bytes, fresh.bytes));
    t.is(reused.bytes.buffer, out.buffer);
    t.true(same(openObject(node, key, 'megafs test', new Uint8Array(0), fresh.bytes, fresh.id, plainOut), payload));
  }), { numRuns: 40 });
});

test('a failed open leaves no plaintext in the caller buffer', (t) => {
  const key = node.randomBytes(32);
  const payload = new Uint8Array(100_000).fill(0x5a);
  const sealed = sealObject(node, key, 'megafs test', new Uint8Array(0), payload).bytes;
  sealed[sealed.length - 1] ^= 1;
  const out = new Uint8Array(sealed.length);
  t.is(t.throws<MegafsError>(() => openObject(node, key, 'megafs test', new Uint8Array(0), sealed, undefined, out))?.code, 'E_INTEGRITY');
  t.false(out.includes(0x5a));
});
