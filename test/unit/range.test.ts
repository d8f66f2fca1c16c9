// Range decryption (src/crypto/range.ts) gives exactly the bytes a full open gives, for
// any range: unaligned offsets, ranges crossing 64-byte blocks and the padding boundary,
// on both platforms.
import test from 'ava';
import fc from 'fast-check';
import { chunkKeyFor, openChunk, sealChunk, type ChunkPlace } from '../../src/crypto/chunk.js';
import { noblePlatform } from '../../src/crypto/noble.js';
import { decryptRange, objectKeystream, payloadSpan } from '../../src/crypto/range.js';
import { CHUNK_SIZE, LENGTH_PREFIX_BYTES, OBJECT_HEADER_BYTES, TAG_BYTES } from '../../src/format/constants.js';
import { nodePlatform } from '../../src/platform/node.js';

const key = chunkKeyFor(new Uint8Array(32).fill(3));
const place: ChunkPlace = { fileId: new Uint8Array(16).fill(9), chunkIndex: 2, isLast: true };

for (const p of [nodePlatform, noblePlatform]) {
  test(`range: ${p.name}: any range of the padded plaintext equals a full open`, (t) => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(), fc.nat(),
      (payload, a, b) => {
        const o = sealChunk(p, key, place, payload);
        const body = o.bytes.subarray(OBJECT_HEADER_BYTES, o.bytes.length - TAG_BYTES);
        const opened = openChunk(p, key, place, o.bytes, o.id);
        t.deepEqual(Buffer.from(opened), Buffer.from(payload));
        // The padded plaintext a full open authenticated: u32le length || payload || zeros.
        const padded = new Uint8Array(body.length);
        new DataView(padded.buffer).setUint32(0, payload.length, true);
        padded.set(payload, LENGTH_PREFIX_BYTES);
        const from = a % (body.length + 1);
        const to = from + (b % (body.length - from + 1));
        const ks = objectKeystream(key, o.bytes);
        const got = decryptRange(p, ks, from, body.subarray(from, to));
        return Buffer.from(got).equals(Buffer.from(padded.subarray(from, to)));
      },
    ), { numRuns: 60 });
  });
}

test('range: payloadSpan reads whole keystream blocks of a 1 MiB chunk and lands on the data', (t) => {
  const p = nodePlatform;
  const payload = nodePlatform.randomBytes(CHUNK_SIZE);
  const o = sealChunk(p, key, place, payload);
  const ks = objectKeystream(key, o.bytes.subarray(0, OBJECT_HEADER_BYTES));
  const out = new Uint8Array(70_000);
  for (const [offset, length] of [[0, 4096], [4096, 4096], [1, 63], [63, 2], [CHUNK_SIZE - 4096, 4096], [CHUNK_SIZE - 1, 1], [12_345, 65_537]]) {
    const s = payloadSpan(offset, length);
    t.is((s.cipherOffset - OBJECT_HEADER_BYTES) % 64, 0);
    const cipher = o.bytes.subarray(s.cipherOffset, s.cipherOffset + s.cipherLength);
    const plain = decryptRange(p, ks, s.paddedOffset, cipher, out).subarray(s.skip);
    t.true(Buffer.from(plain).equals(payload.subarray(offset, offset + length)), `${offset}+${length}`);
    // The pure-JS platform agrees.
    const viaNoble = decryptRange(noblePlatform, ks, s.paddedOffset + s.skip, cipher.subarray(s.skip));
    t.true(Buffer.from(viaNoble).equals(payload.subarray(offset, offset + length)), `noble ${offset}+${length}`);
  }
});
