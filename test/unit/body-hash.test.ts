// src/store/body-hash.ts: bodies are checked against their ids once per process.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { bodyMatches, hashOf, noteHashed } from '../../src/store/body-hash.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('hashOf is SHA-256 in hex, below and above the thread-pool size', async (t) => {
  for (const n of [0, 1, 65_535, 65_536, 1 << 20, (1 << 20) + 4097]) {
    const b = new Uint8Array(randomBytes(n));
    t.is(await hashOf(b), sha(b));
  }
});

test('a body in parts hashes as the joined bytes, on the pool and here', async (t) => {
  const whole = new Uint8Array(randomBytes(300_000));
  const cut = (at: number[]): Uint8Array[] => [0, ...at].map((from, i) => whole.subarray(from, at[i] ?? whole.length));
  for (const at of [[], [0], [1, 65_536, 200_000], [150_000, 150_000, 299_999]]) t.is(await hashOf(cut(at)), sha(whole));
  t.is(await hashOf([]), sha(new Uint8Array(0)));
  t.is(await hashOf([new Uint8Array(3), new Uint8Array(4)]), sha(new Uint8Array(7)), 'small: hashed on this thread');
});

test('bodyMatches refuses a wrong id and notes a right one for that array only', async (t) => {
  const body = new Uint8Array(randomBytes(200_000));
  const id = sha(body);
  t.false(await bodyMatches(body, sha(new Uint8Array(1))));
  t.true(await bodyMatches(body, id));
  const copy = body.slice();
  copy[5] ^= 1;
  t.false(await bodyMatches(copy, id), 'another array with other bytes is hashed, not taken from the note');
});

test('a noted array is not hashed again (the contract: noted bodies never change)', async (t) => {
  const body = new Uint8Array(randomBytes(1000));
  noteHashed(body, 'f'.repeat(64));
  t.is(await hashOf(body), 'f'.repeat(64));
  t.is(await hashOf(body.slice()), sha(body));
});
