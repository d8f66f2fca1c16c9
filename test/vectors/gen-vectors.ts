// Writes test/vectors/{xchacha20poly1305,objects,chunks,roots,keys,recovery,padding,links}.json
// with the pure @noble reference. Run ONCE per format version and commit the JSON:
//   npx tsc -p . && node dist/test/vectors/gen-vectors.js
// Vectors are frozen: tests load them and never regenerate. Inputs are fixed bytes
// (counters, patterns), so a rerun reproduces the same files.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deriveKey } from '../../src/crypto/kdf.js';
import { chunkKeyFor, sealChunk } from '../../src/crypto/chunk.js';
import { authHash, deriveDriveKeys, wrapMasterKey } from '../../src/crypto/keys.js';
import * as labels from '../../src/crypto/labels.js';
import { deriveLinkKey, sealManifest } from '../../src/crypto/link.js';
import { noblePlatform as p } from '../../src/crypto/noble.js';
import { buildAad, sealObject, sealedSize } from '../../src/crypto/object.js';
import { encodeRecoveryKey } from '../../src/crypto/recovery.js';
import { sealRoot, type Root } from '../../src/crypto/root.js';
import { fromHex, toBase64, toHex, utf8 } from '../../src/format/bytes.js';
import { LENGTH_PREFIX_BYTES, NONCE_BYTES } from '../../src/format/constants.js';
import { encodeHeader, type KdfParams } from '../../src/format/header.js';
import { formatLink, toBase64Url, type ShareLink } from '../../src/format/link.js';
import { padme } from '../../src/format/padding.js';
import { pattern } from './pattern.js';

const DIR = fileURLToPath(new URL('../../../test/vectors/', import.meta.url));
const write = (name: string, data: unknown): void => {
  writeFileSync(`${DIR}${name}.json`, JSON.stringify(data, null, 1) + '\n');
};
/** n bytes start, start+1, ... (mod 256). */
const seq = (n: number, start: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const hex = toHex;
const flip = (b: Uint8Array, byte: number, bit = 0): Uint8Array => { const c = b.slice(); c[byte] ^= 1 << bit; return c; };
const big = (n: number): boolean => n > 4096;

function xchacha(): void {
  const known = [
    { name: 'draft-irtf-cfrg-xchacha-03 A.3.1', key: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f',
      nonce: '404142434445464748494a4b4c4d4e4f5051525354555657', aad: '50515253c0c1c2c3c4c5c6c7',
      plaintext: hex(utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")),
      sealed: 'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52ec0875924c1c7987947deafd8780acf49' },
    { name: 'wycheproof xchacha20_poly1305 empty', key: 'ab1562faea9f47af3ae1c3d6d030e3af230255dff3df583ced6fbbcbf9d606a9',
      nonce: '6a5e0c4617e07091b605a4de2c02dde117de2ebd53b23497', aad: '', plaintext: '', sealed: 'e2697ea6877aba39d9555a00e14db041' },
    { name: 'wycheproof xchacha20_poly1305 one byte', key: '303ccb2e1567c3d9f629a5c632dbc62a9a82c525674f67988b31bd1dee990538',
      nonce: '05188738844ab90a8b11beef38eaec3e100d8f4f85ae7a41', aad: '', plaintext: '62', sealed: '45d15734f984d749fa3f0550a70c43dddf' },
  ];
  for (const v of known) {
    const got = hex(p.xchachaSeal(fromHex(v.key), fromHex(v.nonce), fromHex(v.plaintext), fromHex(v.aad)));
    if (got !== v.sealed) throw new Error(`reference disagrees with published vector ${v.name}`);
  }
  const ours = [0, 1, 63, 64, 65, 1000, 65535, 65536, 65537, 200_000].map((n, i) => {
    const key = seq(32, 0x10 + i);
    const nonce = seq(24, 0x80 + i);
    const aad = seq(i * 3, 0x40);
    const plaintext = pattern(n, i);
    const sealed = p.xchachaSeal(key, nonce, plaintext, aad);
    return {
      name: `megafs ${n} bytes`, key: hex(key), nonce: hex(nonce), aad: hex(aad),
      plaintext: big(n) ? { pattern: [n, i] } : hex(plaintext),
      ...(big(n) ? { sealedSha256: hex(p.sha256(sealed)), sealedLength: sealed.length } : { sealed: hex(sealed) }),
    };
  });
  write('xchacha20poly1305', {
    about: 'XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03). sealed = ciphertext || tag(16). Large inputs are pattern(length, seed) from test/vectors/pattern.ts.',
    valid: [...known, ...ours],
    invalid: [
      { name: 'flipped ciphertext bit', ...pick(known[0]), sealed: hex(flip(fromHex(known[0].sealed), 5)), expect: 'E_INTEGRITY' },
      { name: 'flipped tag bit', ...pick(known[0]), sealed: hex(flip(fromHex(known[0].sealed), 120, 7)), expect: 'E_INTEGRITY' },
      { name: 'wrong aad', ...pick(known[0]), aad: '50515253c0c1c2c3c4c5c6c8', expect: 'E_INTEGRITY' },
      { name: 'wrong key', ...pick(known[0]), key: '818182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', expect: 'E_INTEGRITY' },
      { name: 'wrong nonce (second half, the IETF part)', ...pick(known[0]), nonce: '404142434445464748494a4b4c4d4e4f5051525354555658', expect: 'E_INTEGRITY' },
      { name: 'truncated', ...pick(known[0]), sealed: known[0].sealed.slice(0, -2), expect: 'E_INTEGRITY' },
      { name: 'shorter than a tag', ...pick(known[0]), sealed: 'c0875924', expect: 'E_INTEGRITY' },
    ],
  });
  function pick(v: (typeof known)[0]) {
    return { key: v.key, nonce: v.nonce, aad: v.aad, sealed: v.sealed };
  }
}

function objects(): void {
  const key = seq(32, 1);
  const valid = [0, 1, 2, 100, 252, 256, 257, 1000, 5000, 70_000].map((n, i) => {
    const nonce = seq(NONCE_BYTES, 0xa0 + i);
    const domain = i % 2 ? labels.AAD_TREE : labels.AAD_JOURNAL;
    const context = seq(i, 0xc0);
    const payload = pattern(n, 100 + i);
    const o = sealObject(p, key, domain, context, payload, nonce);
    if (o.bytes.length !== sealedSize(n)) throw new Error('sealedSize disagrees');
    return {
      name: `payload of ${n} bytes`, key: hex(key), domain, context: hex(context), nonce: hex(nonce),
      payload: big(n) ? { pattern: [n, 100 + i] } : hex(payload), id: o.id, sealedSize: o.bytes.length,
      ...(big(n) ? {} : { sealed: hex(o.bytes) }),
    };
  });
  // Authentic objects whose inside breaks the padding rules: sealed by hand.
  const handSealed = (name: string, inner: Uint8Array) => {
    const nonce = seq(NONCE_BYTES, 0x33);
    const ct = p.xchachaSeal(key, nonce, inner, buildAad(labels.AAD_TREE, 1, new Uint8Array(0)));
    return { name, key: hex(key), domain: labels.AAD_TREE, context: '', sealed: hex(Uint8Array.of(1, ...nonce, ...ct)), expect: 'E_INTEGRITY' };
  };
  const inner = (length: number, paddedTo: number, junk = 0): Uint8Array => {
    const b = new Uint8Array(LENGTH_PREFIX_BYTES + paddedTo);
    new DataView(b.buffer).setUint32(0, length, true);
    b.set(pattern(Math.min(length, paddedTo), 9), LENGTH_PREFIX_BYTES);
    if (junk) b[b.length - 1] = junk;
    return b;
  };
  const v1 = valid[1];
  const s1 = fromHex(v1.sealed!);
  write('objects', {
    about: 'Sealed objects: version u8 || nonce[24] || XChaCha20-Poly1305(u32le length || payload || zeros to padme(length)) || tag[16]; AAD = domain || 0x00 || version || context; id = hex SHA-256 of the sealed bytes.',
    valid,
    invalid: [
      { name: 'flipped bit in ciphertext', ...base(v1), sealed: hex(flip(s1, 40)), expect: 'E_INTEGRITY' },
      { name: 'flipped bit in nonce', ...base(v1), sealed: hex(flip(s1, 3)), expect: 'E_INTEGRITY' },
      { name: 'flipped bit, id given', ...base(v1), sealed: hex(flip(s1, 40)), id: v1.id, expect: 'E_INTEGRITY' },
      { name: 'wrong domain', ...base(v1), domain: labels.AAD_CHUNK, expect: 'E_INTEGRITY' },
      { name: 'wrong context', ...base(v1), context: 'c1', expect: 'E_INTEGRITY' },
      { name: 'wrong key', ...base(v1), key: hex(seq(32, 2)), expect: 'E_INTEGRITY' },
      { name: 'truncated by one byte', ...base(v1), sealed: hex(s1.subarray(0, -1)), expect: 'E_INTEGRITY' },
      { name: 'shorter than the overhead', ...base(v1), sealed: hex(s1.subarray(0, 44)), expect: 'E_INTEGRITY' },
      { name: 'unknown format version', ...base(v1), sealed: hex(Uint8Array.of(9, ...s1.subarray(1))), expect: 'E_VERSION' },
      handSealed('bad padding: non-zero pad byte', inner(10, padme(10), 7)),
      handSealed('bad padding: length field beyond the data', inner(300, padme(10))),
      handSealed('bad padding: padded to the wrong bucket', inner(10, 512)),
    ],
  });
  function base(v: (typeof valid)[0]) {
    return { key: v.key, domain: v.domain, context: v.context, sealed: v.sealed };
  }
}

function chunks(): void {
  const fileKey = seq(32, 0x50);
  const chunkKey = chunkKeyFor(fileKey);
  const fileId = seq(16, 0xf0);
  const otherFileId = seq(16, 0xe0);
  const sizes = [100, 100, 37];
  const small = sizes.map((n, chunkIndex) => {
    const place = { fileId, chunkIndex, isLast: chunkIndex === sizes.length - 1 };
    const nonce = seq(NONCE_BYTES, 0x20 + chunkIndex);
    const plaintext = pattern(n, 200 + chunkIndex);
    const o = sealChunk(p, chunkKey, place, plaintext, nonce);
    return { name: `chunk ${chunkIndex} of 3`, fileId: hex(fileId), chunkIndex, isLast: place.isLast, nonce: hex(nonce), plaintext: hex(plaintext), id: o.id, sealed: hex(o.bytes) };
  });
  const fullPlace = { fileId: otherFileId, chunkIndex: 7, isLast: false };
  const full = sealChunk(p, chunkKey, fullPlace, pattern(1 << 20, 7), seq(NONCE_BYTES, 0x99));
  const valid = [...small, {
    name: 'full 1 MiB chunk (no padding)', fileId: hex(otherFileId), chunkIndex: 7, isLast: false, nonce: hex(seq(NONCE_BYTES, 0x99)),
    plaintext: { pattern: [1 << 20, 7] }, id: full.id, sealedLength: full.bytes.length,
  }];
  const [c0, c1, c2] = small;
  const s0 = fromHex(c0.sealed);
  const s2 = fromHex(c2.sealed);
  const at = (c: typeof c0, over: Partial<typeof c0>) => ({ fileId: c.fileId, chunkIndex: c.chunkIndex, isLast: c.isLast, sealed: c.sealed, ...over });
  write('chunks', {
    about: 'Chunks: sealed objects under chunkKey = HKDF(fileKey, "megafs v1 chunk key"), domain "megafs chunk", context = fileId[16] || u64le chunkIndex || u8 isLast. id = hex SHA-256 of the sealed bytes.',
    fileKey: hex(fileKey), chunkKey: hex(chunkKey),
    valid,
    invalid: [
      { name: 'flipped bit', ...at(c0, { sealed: hex(flip(s0, 60, 3)) }), expect: 'E_INTEGRITY' },
      { name: 'flipped bit (id checked first)', ...at(c0, { sealed: hex(flip(s0, 60, 3)) }), id: c0.id, expect: 'E_INTEGRITY' },
      { name: 'swapped index: chunk 0 read as chunk 1', ...at(c0, { chunkIndex: 1 }), expect: 'E_INTEGRITY' },
      { name: 'swapped index: chunk 1 read as chunk 0', ...at(c1, { chunkIndex: 0 }), expect: 'E_INTEGRITY' },
      { name: 'moved to another file', ...at(c1, { fileId: hex(otherFileId) }), expect: 'E_INTEGRITY' },
      { name: 'truncated file: chunk 1 presented as the last', ...at(c1, { isLast: true }), expect: 'E_INTEGRITY' },
      { name: 'isLast flipped on the last chunk', ...at(c2, { isLast: false }), expect: 'E_INTEGRITY' },
      { name: 'truncated object', ...at(c2, { sealed: hex(s2.subarray(0, s2.length - 16)) }), expect: 'E_INTEGRITY' },
      { name: 'wrong key (the file key itself)', ...at(c0, {}), chunkKey: hex(fileKey), expect: 'E_INTEGRITY' },
      { name: 'wrong id', ...at(c0, {}), id: c1.id, expect: 'E_INTEGRITY' },
    ],
  });
}

function roots(): void {
  const masterKey = seq(32, 0x61);
  const driveId = seq(16, 0x71);
  const keys = deriveDriveKeys(masterKey, driveId);
  const root: Root = { version: 42n, treeId: hex(seq(32, 0x01)), prevRootHash: hex(seq(32, 0x21)), timeMs: 1_790_000_000_000, deviceId: hex(seq(16, 0x41)) };
  const nonce = seq(NONCE_BYTES, 0x51);
  const sealed = sealRoot(p, keys, root, nonce);
  const first: Root = { version: 1n, treeId: hex(seq(32, 0x02)), prevRootHash: '0'.repeat(64), timeMs: 0, deviceId: hex(seq(16, 0x42)) };
  const sealedFirst = sealRoot(p, keys, first, seq(NONCE_BYTES, 0x52));
  const asJson = (r: Root) => ({ ...r, version: r.version.toString() });
  const otherVersion = sealed.slice();
  otherVersion[1] = 43;
  write('roots', {
    about: 'Roots: formatVersion u8 || rootVersion u64le || nonce[24] || XChaCha20-Poly1305(treeId[32] || prevRootHash[32] || timeMs u64le || deviceId[16]) || tag[16] under the root key; AAD = "megafs root" || 0x00 || formatVersion || driveId[16] || rootVersion u64le.',
    masterKey: hex(masterKey), driveId: hex(driveId), rootKey: hex(keys.root),
    valid: [
      { name: 'version 42', root: asJson(root), nonce: hex(nonce), sealed: hex(sealed), hash: hex(p.sha256(sealed)) },
      { name: 'first root', root: asJson(first), nonce: hex(seq(NONCE_BYTES, 0x52)), sealed: hex(sealedFirst), hash: hex(p.sha256(sealedFirst)) },
    ],
    invalid: [
      { name: 'flipped bit', sealed: hex(flip(sealed, 60)), expect: 'E_INTEGRITY' },
      { name: 'version in clear edited (rollback by relabel)', sealed: hex(otherVersion), expect: 'E_INTEGRITY' },
      { name: 'truncated', sealed: hex(sealed.subarray(0, 100)), expect: 'E_INTEGRITY' },
      { name: 'another drive', sealed: hex(sealed), driveId: hex(seq(16, 0x72)), expect: 'E_INTEGRITY' },
    ],
  });
}

async function keys(): Promise<void> {
  const masterKey = seq(32, 0x90);
  const driveId = hex(seq(16, 0xd0));
  const kdf: KdfParams = { alg: 'argon2id', memKiB: 64, passes: 1, parallelism: 1, salt: toBase64(seq(16, 0x05)) };
  const password = 'correct horse battery staple é';
  const nonce = seq(NONCE_BYTES, 0x0d);
  const { header, authSecret } = await wrapMasterKey(p, masterKey, driveId, password, kdf, nonce);
  const k = deriveDriveKeys(masterKey, fromHex(driveId));
  const ikm = seq(32, 0);
  const labelVectors = Object.entries(labels).filter(([n]) => n.startsWith('LABEL_')).map(([name, label]) => ({ name, label, ikm: hex(ikm), okm: hex(deriveKey(ikm, label)) }));
  write('keys', {
    about: 'Key wrap with CHEAP test Argon2id parameters (64 KiB, 1 pass; real drives use 64 MiB, 3 passes). header = the exact UTF-8 JSON bytes of encodeHeader. HKDF = HKDF-SHA256(ikm, salt empty, info label, 32 bytes).',
    hkdf: labelVectors,
    drives: [{
      name: 'cheap-kdf drive', password, masterKey: hex(masterKey), driveId, kdf, nonce: hex(nonce),
      header: new TextDecoder().decode(encodeHeader(header)),
      authSecret: hex(authSecret), authHash: authHash(p, authSecret),
      derived: { tree: hex(k.tree), root: hex(k.root), nameHash: hex(k.nameHash), journal: hex(k.journal) },
      wrongPasswords: ['correct horse battery staple e', 'Correct horse battery staple é', ''],
      downgradedHeaders: [
        { name: 'passes edited', kdf: { ...kdf, passes: 2 } },
        { name: 'memory edited', kdf: { ...kdf, memKiB: 32 } },
        { name: 'salt edited', kdf: { ...kdf, salt: toBase64(seq(16, 0x06)) } },
      ],
    }],
  });
}

function recovery(): void {
  const keys = [seq(32, 0x90), new Uint8Array(32), new Uint8Array(32).fill(0xff)];
  const valid = keys.map((k) => ({ masterKey: hex(k), recoveryKey: encodeRecoveryKey(p, k) }));
  const r = valid[0].recoveryKey;
  const swap = (s: string, i: number, ch: string) => s.slice(0, i) + ch + s.slice(i + 1);
  const typo = swap(r, 3, r[3] === 'A' ? 'B' : 'A');
  write('recovery', {
    about: 'Recovery key: Crockford base32 of masterKey[32] || SHA-256("megafs recovery" || masterKey)[0..2], 55 characters in groups of 5. Decoding ignores case, spaces and dashes and reads I/L as 1, O as 0, U as V.',
    valid,
    lenient: [
      { text: r.toLowerCase().replace(/-/g, ' '), masterKey: valid[0].masterKey },
      { text: r.replace(/1/g, 'l').replace(/0/g, 'O'), masterKey: valid[0].masterKey },
    ],
    invalid: [
      { name: 'one character changed', text: typo, expect: 'E_BAD_RECOVERY_KEY' },
      { name: 'one character missing', text: r.slice(0, -1), expect: 'E_BAD_RECOVERY_KEY' },
      { name: 'one character extra', text: r + 'A', expect: 'E_BAD_RECOVERY_KEY' },
      { name: 'invalid character', text: swap(r, 0, '!'), expect: 'E_BAD_RECOVERY_KEY' },
      { name: 'non-zero trailing bits', text: swap(r, r.length - 1, String.fromCharCode(r.charCodeAt(r.length - 1) === 0x30 ? 0x31 : 0x30)), expect: 'E_BAD_RECOVERY_KEY' },
    ],
  });
}

function padding(): void {
  const lengths = [0, 1, 2, 100, 255, 256, 257, 300, 511, 512, 513, 1000, 1023, 1024, 1025, 4095, 4096, 4097, 10_000, 65_535, 65_536, 65_537,
    100_000, 262_143, 262_144, 262_145, 500_000, 1_000_000, 1_048_575, 1_048_576, 1_048_577, 4_194_304, 16_777_216];
  write('padding', {
    about: 'padme(L) = max(256, Padmé(L)); sealedSize(L) = 45 + padme(L) is the object size in a store for a payload of L bytes.',
    table: lengths.map((length) => ({ length, padded: padme(length), sealedSize: sealedSize(length) })),
  });
}

async function links(): Promise<void> {
  const plain: ShareLink = { base: 'https://drive.example.org', id: toBase64Url(seq(16, 0x11)), secret: seq(32, 0x22) };
  const withPw: ShareLink = { base: 'http://127.0.0.1:8080/megafs', id: toBase64Url(seq(16, 0x33)), secret: seq(32, 0x44), passwordKdf: { memLog2: 6, passes: 1 } };
  const manifest = utf8('{"opaque":"manifest"}');
  const entries = [];
  for (const [link, password] of [[plain, undefined], [withPw, 'hunter2 ☃']] as const) {
    const linkKey = await deriveLinkKey(link, password);
    const nonce = seq(NONCE_BYTES, 0x55);
    const sealed = sealManifest(p, linkKey, link, manifest, nonce);
    entries.push({
      url: formatLink(link), base: link.base, id: link.id, secret: hex(link.secret), passwordKdf: link.passwordKdf ?? null,
      password: password ?? null, linkKey: hex(linkKey), manifest: hex(manifest), nonce: hex(nonce), sealed: hex(sealed.bytes),
    });
  }
  const u = entries[0].url;
  write('links', {
    about: 'Share links <base>/s/<id>#<fragment>; fragment = "1" || flags (A none, B password) || base64url(secret[32]) [|| memLog2 digit || passes digit]. linkKey = HKDF(secret [|| Argon2id(password, HKDF(secret,"megafs v1 link salt")[0..16])], "megafs v1 link key"). The password vector uses CHEAP test cost (2^6 KiB, 1 pass).',
    valid: entries,
    invalidManifests: [
      { name: 'another link id', link: 0, id: toBase64Url(seq(16, 0x12)), expect: 'E_INTEGRITY' },
      { name: 'flipped bit', link: 0, flipByte: 50, expect: 'E_INTEGRITY' },
      { name: 'wrong password', link: 1, password: 'hunter3 ☃', expect: 'E_BAD_PASSWORD' },
      { name: 'no password given', link: 1, password: null, expect: 'E_BAD_PASSWORD' },
    ],
    badLinks: [
      'not a link', 'ftp://drive.example.org/s/ERITFBUWFxgZGhscHR4fIA#1A' + u.split('#1A')[1],
      u.split('#')[0], u.split('#')[0] + '#', u.replace('#1', '#2'), u.replace('#1A', '#1C'), u.slice(0, -1), u + 'A',
      u.replace('/s/', '/x/'), u.replace(/\/s\/[^#]+#/, '/s/short#'), u.replace(/#1A./, '#1A!'),
      entries[1].url.slice(0, -2) + '_B', entries[1].url.slice(0, -2),
    ].map((url) => ({ url, expect: 'E_BAD_LINK' })),
  });
}

xchacha();
objects();
chunks();
roots();
await keys();
recovery();
padding();
await links();
console.log(`vectors written to ${DIR}`);
