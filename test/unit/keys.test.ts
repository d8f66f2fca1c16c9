// The key hierarchy: create, unlock by password or recovery key, rewrap on passwd,
// refusal of wrong passwords, other drives' keys and downgraded KDF parameters.
import test from 'ava';
import type { MegafsError } from '../../src/errors.js';
import {
  authHash, checkKdfStrength, createDrive, isWeakKdf, newKdfParams, unlockWithMasterKey, unlockWithPassword, wrapMasterKey,
} from '../../src/crypto/keys.js';
import { decodeRecoveryKey, encodeRecoveryKey } from '../../src/crypto/recovery.js';
import { fromHex, toHex } from '../../src/format/bytes.js';
import { DEFAULT_KDF } from '../../src/format/constants.js';
import { decodeHeader, encodeHeader } from '../../src/format/header.js';
import { nodePlatform as p } from '../../src/platform/node.js';

// Cheap Argon2id for tests only: real drives use 64 MiB, 3 passes (DEFAULT_KDF).
const cheap = () => newKdfParams(p, { memKiB: 64, passes: 1 });

test('defaults are 64 MiB and 3 passes; cheap parameters are weak', (t) => {
  const d = newKdfParams(p);
  t.is(d.memKiB, 64 * 1024);
  t.is(d.passes, 3);
  t.is(d.alg, 'argon2id');
  t.false(isWeakKdf(d));
  t.true(isWeakKdf(cheap()));
  t.notThrows(() => checkKdfStrength(d, false));
  t.notThrows(() => checkKdfStrength(cheap(), true));
  t.is(t.throws<MegafsError>(() => checkKdfStrength(cheap(), false))?.code, 'E_FORMAT');
  t.deepEqual({ memKiB: d.memKiB, passes: d.passes, parallelism: d.parallelism }, { ...DEFAULT_KDF });
});

test('create, then unlock with the password through the encoded header', async (t) => {
  const drive = await createDrive(p, 'pw one', cheap());
  const header = decodeHeader(encodeHeader(drive.header));
  const { keys, authSecret } = await unlockWithPassword(p, header, 'pw one');
  t.deepEqual(keys, drive.keys);
  t.deepEqual(authSecret, drive.authSecret);
  t.is(authHash(p, authSecret), authHash(p, drive.authSecret));
  t.notDeepEqual(authSecret, keys.masterKey);
});

test('every derived key is distinct', async (t) => {
  const { keys, authSecret } = await createDrive(p, 'x', cheap());
  const all = [keys.masterKey, keys.tree, keys.root, keys.nameHash, keys.journal, authSecret].map(toHex);
  t.is(new Set(all).size, all.length);
});

test('a wrong password is E_BAD_PASSWORD', async (t) => {
  const drive = await createDrive(p, 'right', cheap());
  const e = await t.throwsAsync<MegafsError>(unlockWithPassword(p, drive.header, 'wrong'));
  t.is(e?.code, 'E_BAD_PASSWORD');
});

test('the password is NFC-normalised', async (t) => {
  const drive = await createDrive(p, 'caf\u00e9', cheap());
  const { keys } = await unlockWithPassword(p, drive.header, 'cafe\u0301');
  t.deepEqual(keys.masterKey, drive.keys.masterKey);
});

test('a header whose KDF parameters were weakened or re-salted does not open', async (t) => {
  const drive = await createDrive(p, 'pw', newKdfParams(p, { memKiB: 128, passes: 2 }));
  for (const kdf of [{ ...drive.header.kdf, passes: 1 }, { ...drive.header.kdf, memKiB: 64 }, { ...cheap(), memKiB: 128, passes: 2 }]) {
    const e = await t.throwsAsync<MegafsError>(unlockWithPassword(p, { ...drive.header, kdf }, 'pw'));
    t.is(e?.code, 'E_BAD_PASSWORD');
  }
});

test("another drive's wrapped key or drive id does not open", async (t) => {
  const a = await createDrive(p, 'pw', cheap());
  const b = await createDrive(p, 'pw', cheap());
  t.is((await t.throwsAsync<MegafsError>(unlockWithPassword(p, { ...a.header, wrappedKey: b.header.wrappedKey }, 'pw')))?.code, 'E_BAD_PASSWORD');
  t.is((await t.throwsAsync<MegafsError>(unlockWithPassword(p, { ...a.header, driveId: b.header.driveId }, 'pw')))?.code, 'E_BAD_PASSWORD');
  t.is((await t.throwsAsync<MegafsError>(unlockWithPassword(p, { ...a.header, wrappedKey: a.header.wrappedKey.slice(0, 20) }, 'pw')))?.code, 'E_BAD_PASSWORD');
});

test('the recovery key alone unlocks the drive', async (t) => {
  const drive = await createDrive(p, 'pw', cheap());
  const text = encodeRecoveryKey(p, drive.keys.masterKey);
  t.regex(text, /^([0-9A-HJKMNP-TV-Z]{5}-){10}[0-9A-HJKMNP-TV-Z]{5}$/);
  const keys = unlockWithMasterKey(drive.header, decodeRecoveryKey(p, text));
  t.deepEqual(keys, drive.keys);
});

test('a recovery key with a typo is E_BAD_RECOVERY_KEY', async (t) => {
  const drive = await createDrive(p, 'pw', cheap());
  const text = encodeRecoveryKey(p, drive.keys.masterKey);
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '-') continue;
    const typo = text.slice(0, i) + (text[i] === '7' ? '8' : '7') + text.slice(i + 1);
    t.is(t.throws<MegafsError>(() => decodeRecoveryKey(p, typo))?.code, 'E_BAD_RECOVERY_KEY', `typo at ${i}`);
  }
  // Adjacent transposition.
  const swapped = text.slice(0, 1) + text[2] + text[1] + text.slice(3);
  if (swapped !== text) t.is(t.throws<MegafsError>(() => decodeRecoveryKey(p, swapped))?.code, 'E_BAD_RECOVERY_KEY');
});

test("another drive's recovery key is E_BAD_RECOVERY_KEY", async (t) => {
  const a = await createDrive(p, 'pw', cheap());
  const b = await createDrive(p, 'pw', cheap());
  const bKey = decodeRecoveryKey(p, encodeRecoveryKey(p, b.keys.masterKey));
  t.is(t.throws<MegafsError>(() => unlockWithMasterKey(a.header, bKey))?.code, 'E_BAD_RECOVERY_KEY');
});

test('passwd rewraps the same master key: the new password opens, the old does not', async (t) => {
  const drive = await createDrive(p, 'old pw', cheap());
  const { header, authSecret } = await wrapMasterKey(p, drive.keys.masterKey, drive.header.driveId, 'new pw', cheap());
  t.not(header.kdf.salt, drive.header.kdf.salt);
  t.is(header.keyCheck, drive.header.keyCheck);
  const opened = await unlockWithPassword(p, header, 'new pw');
  t.deepEqual(opened.keys, drive.keys);
  t.deepEqual(opened.authSecret, authSecret);
  t.notDeepEqual(authSecret, drive.authSecret);
  t.is((await t.throwsAsync<MegafsError>(unlockWithPassword(p, header, 'old pw')))?.code, 'E_BAD_PASSWORD');
  // The recovery key still works after the change.
  t.deepEqual(unlockWithMasterKey(header, drive.keys.masterKey), drive.keys);
});

test('a header that is not one is E_FORMAT or E_VERSION', (t) => {
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  t.is(t.throws<MegafsError>(() => decodeHeader(new Uint8Array([0xff, 0x00])))?.code, 'E_FORMAT');
  t.is(t.throws<MegafsError>(() => decodeHeader(enc([1, 2])))?.code, 'E_FORMAT');
  t.is(t.throws<MegafsError>(() => decodeHeader(enc({ v: 2 })))?.code, 'E_VERSION');
  const good = { v: 1, driveId: toHex(fromHex('00'.repeat(16))), kdf: cheap(), wrappedKey: 'AAAA', keyCheck: 'AAAA' };
  t.notThrows(() => decodeHeader(enc(good)));
  t.is(t.throws<MegafsError>(() => decodeHeader(enc({ ...good, driveId: 'xyz' })))?.code, 'E_FORMAT');
  t.is(t.throws<MegafsError>(() => decodeHeader(enc({ ...good, kdf: { ...good.kdf, memKiB: 1 << 30 } })))?.code, 'E_FORMAT');
  t.is(t.throws<MegafsError>(() => decodeHeader(enc({ ...good, kdf: { ...good.kdf, alg: 'scrypt' } })))?.code, 'E_FORMAT');
});
