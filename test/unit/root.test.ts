// Root pointer: seal/open, tamper and other-drive refusal, rollback and fork detection.
import test from 'ava';
import type { MegafsError } from '../../src/errors.js';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { checkNotRolledBack, openRoot, peekRootVersion, rootHash, sealRoot, ZERO_HASH, type Root } from '../../src/crypto/root.js';
import { toHex } from '../../src/format/bytes.js';
import { nodePlatform as p } from '../../src/platform/node.js';

const keys = deriveDriveKeys(p.randomBytes(32), p.randomBytes(16));
const mkRoot = (version: bigint, prevRootHash = ZERO_HASH): Root => ({
  version, treeId: toHex(p.randomBytes(32)), prevRootHash, timeMs: 1_790_000_000_123, deviceId: toHex(p.randomBytes(16)),
});

test('seal and open round-trip; the version is readable in clear', (t) => {
  const root = mkRoot(7n);
  const sealed = sealRoot(p, keys, root);
  t.is(sealed.length, 137);
  t.deepEqual(openRoot(p, keys, sealed), root);
  t.is(peekRootVersion(sealed), 7n);
  t.is(peekRootVersion(new Uint8Array(3)), null);
});

test('a tampered, relabelled, truncated or foreign root is E_INTEGRITY', (t) => {
  const sealed = sealRoot(p, keys, mkRoot(7n));
  for (let i = 0; i < sealed.length; i++) {
    const bad = sealed.slice();
    bad[i] ^= 0x10;
    const code = t.throws<MegafsError>(() => openRoot(p, keys, bad))?.code;
    t.true(code === 'E_INTEGRITY' || (i === 0 && code === 'E_VERSION'), `byte ${i}: ${code}`);
  }
  t.is(t.throws<MegafsError>(() => openRoot(p, keys, sealed.subarray(0, 136)))?.code, 'E_INTEGRITY');
  const other = deriveDriveKeys(keys.masterKey, p.randomBytes(16));
  t.is(t.throws<MegafsError>(() => openRoot(p, other, sealed))?.code, 'E_INTEGRITY');
});

test('the chain: each root names the hash of the previous one', (t) => {
  const r1 = sealRoot(p, keys, mkRoot(1n));
  const r2 = mkRoot(2n, rootHash(p, r1));
  t.is(openRoot(p, keys, sealRoot(p, keys, r2)).prevRootHash, rootHash(p, r1));
});

test('rollback and fork detection', (t) => {
  const s5 = sealRoot(p, keys, mkRoot(5n));
  const seen = { version: 5n, hash: rootHash(p, s5) };
  // First sight: anything goes.
  t.notThrows(() => checkNotRolledBack(null, openRoot(p, keys, s5), seen.hash));
  // The same root again, or a newer one: fine.
  t.notThrows(() => checkNotRolledBack(seen, openRoot(p, keys, s5), seen.hash));
  const s6 = sealRoot(p, keys, mkRoot(6n, seen.hash));
  t.notThrows(() => checkNotRolledBack(seen, openRoot(p, keys, s6), rootHash(p, s6)));
  // Older: rollback.
  const s4 = sealRoot(p, keys, mkRoot(4n));
  t.is(t.throws<MegafsError>(() => checkNotRolledBack(seen, openRoot(p, keys, s4), rootHash(p, s4)))?.code, 'E_ROLLBACK');
  // Same version, other content: a fork.
  const fork = sealRoot(p, keys, mkRoot(5n));
  t.is(t.throws<MegafsError>(() => checkNotRolledBack(seen, openRoot(p, keys, fork), rootHash(p, fork)))?.code, 'E_ROLLBACK');
});
