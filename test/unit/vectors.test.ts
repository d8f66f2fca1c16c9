// The frozen vectors of test/vectors/*.json, run against BOTH platforms (node:crypto
// fast path and the pure @noble reference): every output byte-identical to the file,
// every failure case rejected with its code. Never regenerates the vectors.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chunkKeyFor, openChunk, sealChunk } from '../../src/crypto/chunk.js';
import { deriveKey } from '../../src/crypto/kdf.js';
import { authHash, unlockWithPassword, wrapMasterKey } from '../../src/crypto/keys.js';
import { deriveLinkKey, openManifest, sealManifest } from '../../src/crypto/link.js';
import { noblePlatform } from '../../src/crypto/noble.js';
import { openObject, sealObject, sealedSize } from '../../src/crypto/object.js';
import type { CryptoPlatform } from '../../src/crypto/platform.js';
import { decodeRecoveryKey, encodeRecoveryKey } from '../../src/crypto/recovery.js';
import { openRoot, rootHash, sealRoot } from '../../src/crypto/root.js';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { MegafsError } from '../../src/errors.js';
import { fromHex, toHex } from '../../src/format/bytes.js';
import { decodeHeader, encodeHeader, type KdfParams } from '../../src/format/header.js';
import { formatLink, parseLink, type ShareLink } from '../../src/format/link.js';
import { padme } from '../../src/format/padding.js';
import { nodePlatform } from '../../src/platform/node.js';
import { pattern, type BytesSpec } from '../vectors/pattern.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- vector files are untyped JSON */
const DIR = fileURLToPath(new URL('../../../test/vectors/', import.meta.url));
const load = (name: string): any => JSON.parse(readFileSync(`${DIR}${name}.json`, 'utf8'));
const bytes = (s: BytesSpec): Uint8Array => (typeof s === 'string' ? fromHex(s) : pattern(...s.pattern));
/** ava's deepEqual is slow on big arrays: compare with Buffer. */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const xchacha = load('xchacha20poly1305');
const objects = load('objects');
const chunks = load('chunks');
const roots = load('roots');
const keys = load('keys');
const recovery = load('recovery');
const padding = load('padding');
const links = load('links');

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof MegafsError ? e.code : `not a MegafsError: ${String(e)}`;
  }
  return 'no error';
}
async function codeOfAsync(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    return e instanceof MegafsError ? e.code : `not a MegafsError: ${String(e)}`;
  }
  return 'no error';
}

for (const p of [nodePlatform, noblePlatform] as CryptoPlatform[]) {
  test(`${p.name}: xchacha20poly1305 vectors seal and open`, (t) => {
    t.true(xchacha.valid.length >= 13);
    for (const v of xchacha.valid) {
      const key = fromHex(v.key);
      const nonce = fromHex(v.nonce);
      const aad = fromHex(v.aad);
      const plaintext = bytes(v.plaintext);
      const sealed = p.xchachaSeal(key, nonce, plaintext, aad);
      if (v.sealed) t.is(toHex(sealed), v.sealed, v.name);
      else t.is(toHex(p.sha256(sealed)), v.sealedSha256, v.name);
      t.true(same(p.xchachaOpen(key, nonce, sealed, aad), plaintext), v.name);
      // Into a caller's buffer: same bytes.
      const out = new Uint8Array(sealed.length + 7);
      t.true(same(p.xchachaSeal(key, nonce, plaintext, aad, out), sealed), `${v.name} (out)`);
      t.true(same(p.xchachaOpen(key, nonce, sealed, aad, new Uint8Array(plaintext.length)), plaintext), `${v.name} (out)`);
    }
  });

  test(`${p.name}: xchacha20poly1305 failure vectors`, (t) => {
    for (const v of xchacha.invalid) {
      t.is(codeOf(() => p.xchachaOpen(fromHex(v.key), fromHex(v.nonce), fromHex(v.sealed), fromHex(v.aad))), v.expect, v.name);
    }
  });

  test(`${p.name}: sealed object vectors`, (t) => {
    for (const v of objects.valid) {
      const payload = bytes(v.payload);
      const o = sealObject(p, fromHex(v.key), v.domain, fromHex(v.context), payload, fromHex(v.nonce));
      t.is(o.id, v.id, v.name);
      t.is(o.bytes.length, v.sealedSize, v.name);
      t.is(sealedSize(payload.length), v.sealedSize, v.name);
      if (v.sealed) t.is(toHex(o.bytes), v.sealed, v.name);
      t.true(same(openObject(p, fromHex(v.key), v.domain, fromHex(v.context), o.bytes, v.id), payload), v.name);
    }
  });

  test(`${p.name}: sealed object failure vectors`, (t) => {
    t.true(objects.invalid.length >= 12);
    for (const v of objects.invalid) {
      t.is(codeOf(() => openObject(p, fromHex(v.key), v.domain, fromHex(v.context), fromHex(v.sealed), v.id)), v.expect, v.name);
    }
  });

  test(`${p.name}: chunk vectors`, (t) => {
    t.is(toHex(chunkKeyFor(fromHex(chunks.fileKey))), chunks.chunkKey);
    const key = fromHex(chunks.chunkKey);
    for (const v of chunks.valid) {
      const place = { fileId: fromHex(v.fileId), chunkIndex: v.chunkIndex, isLast: v.isLast };
      const plaintext = bytes(v.plaintext);
      const o = sealChunk(p, key, place, plaintext, fromHex(v.nonce));
      t.is(o.id, v.id, v.name);
      if (v.sealed) t.is(toHex(o.bytes), v.sealed, v.name);
      else t.is(o.bytes.length, v.sealedLength, v.name);
      t.true(same(openChunk(p, key, place, o.bytes, v.id), plaintext), v.name);
    }
  });

  test(`${p.name}: chunk failure vectors`, (t) => {
    t.true(chunks.invalid.length >= 10);
    for (const v of chunks.invalid) {
      const place = { fileId: fromHex(v.fileId), chunkIndex: v.chunkIndex, isLast: v.isLast };
      const key = fromHex(v.chunkKey ?? chunks.chunkKey);
      t.is(codeOf(() => openChunk(p, key, place, fromHex(v.sealed), v.id)), v.expect, v.name);
    }
  });

  test(`${p.name}: root vectors`, (t) => {
    const driveKeys = deriveDriveKeys(fromHex(roots.masterKey), fromHex(roots.driveId));
    t.is(toHex(driveKeys.root), roots.rootKey);
    for (const v of roots.valid) {
      const root = { ...v.root, version: BigInt(v.root.version) };
      const sealed = sealRoot(p, driveKeys, root, fromHex(v.nonce));
      t.is(toHex(sealed), v.sealed, v.name);
      t.is(rootHash(p, sealed), v.hash, v.name);
      t.deepEqual(openRoot(p, driveKeys, sealed), root, v.name);
    }
    for (const v of roots.invalid) {
      const k = deriveDriveKeys(fromHex(roots.masterKey), fromHex(v.driveId ?? roots.driveId));
      t.is(codeOf(() => openRoot(p, k, fromHex(v.sealed))), v.expect, v.name);
    }
  });

  test(`${p.name}: HKDF label vectors`, (t) => {
    t.true(keys.hkdf.length >= 9);
    for (const v of keys.hkdf) t.is(toHex(deriveKey(fromHex(v.ikm), v.label)), v.okm, v.name);
  });

  test(`${p.name}: key wrap and header vectors`, async (t) => {
    for (const v of keys.drives) {
      const kdf: KdfParams = v.kdf;
      const { header, authSecret } = await wrapMasterKey(p, fromHex(v.masterKey), v.driveId, v.password, kdf, fromHex(v.nonce));
      t.is(new TextDecoder().decode(encodeHeader(header)), v.header);
      t.is(toHex(authSecret), v.authSecret);
      t.is(authHash(p, authSecret), v.authHash);
      const opened = await unlockWithPassword(p, decodeHeader(utf8(v.header)), v.password);
      t.is(toHex(opened.keys.masterKey), v.masterKey);
      t.is(toHex(opened.keys.tree), v.derived.tree);
      t.is(toHex(opened.keys.root), v.derived.root);
      t.is(toHex(opened.keys.nameHash), v.derived.nameHash);
      t.is(toHex(opened.keys.journal), v.derived.journal);
      for (const wrong of v.wrongPasswords) {
        t.is(await codeOfAsync(() => unlockWithPassword(p, header, wrong)), 'E_BAD_PASSWORD', wrong);
      }
      for (const d of v.downgradedHeaders) {
        t.is(await codeOfAsync(() => unlockWithPassword(p, { ...header, kdf: d.kdf }, v.password)), 'E_BAD_PASSWORD', d.name);
      }
    }
  });

  test(`${p.name}: recovery key vectors`, (t) => {
    for (const v of recovery.valid) {
      t.is(encodeRecoveryKey(p, fromHex(v.masterKey)), v.recoveryKey);
      t.is(toHex(decodeRecoveryKey(p, v.recoveryKey)), v.masterKey);
    }
    for (const v of recovery.lenient) t.is(toHex(decodeRecoveryKey(p, v.text)), v.masterKey, v.text);
    for (const v of recovery.invalid) t.is(codeOf(() => decodeRecoveryKey(p, v.text)), v.expect, v.name);
  });

  test(`${p.name}: link vectors`, async (t) => {
    for (const v of links.valid) {
      const link: ShareLink = parseLink(v.url);
      t.is(link.base, v.base);
      t.is(link.id, v.id);
      t.is(toHex(link.secret), v.secret);
      t.deepEqual(link.passwordKdf ?? null, v.passwordKdf);
      t.is(formatLink(link), v.url);
      const linkKey = await deriveLinkKey(link, v.password ?? undefined);
      t.is(toHex(linkKey), v.linkKey);
      const sealed = sealManifest(p, linkKey, link, fromHex(v.manifest), fromHex(v.nonce));
      t.is(toHex(sealed.bytes), v.sealed);
      t.is(toHex(openManifest(p, linkKey, link, sealed.bytes)), v.manifest);
    }
    for (const f of links.invalidManifests) {
      const v = links.valid[f.link];
      const link = { ...parseLink(v.url), ...(f.id ? { id: f.id } : {}) };
      const sealed = fromHex(v.sealed);
      if (f.flipByte !== undefined) sealed[f.flipByte] ^= 1;
      const code = await codeOfAsync(async () => {
        const key = f.password === undefined ? fromHex(v.linkKey) : await deriveLinkKey(link, f.password ?? undefined);
        return openManifest(p, key, link, sealed);
      });
      t.is(code, f.expect, f.name);
    }
    for (const b of links.badLinks) t.is(codeOf(() => parseLink(b.url)), b.expect, b.url);
  });
}

test('padding table', (t) => {
  for (const row of padding.table) {
    t.is(padme(row.length), row.padded, `padme(${row.length})`);
    t.is(sealedSize(row.length), row.sealedSize, `sealedSize(${row.length})`);
  }
});
