// Share link codec and manifest sealing: round trips, strict parsing, password links.
import test from 'ava';
import fc from 'fast-check';
import type { MegafsError } from '../../src/errors.js';
import { deriveLinkKey, newShareLink, openManifest, sealManifest } from '../../src/crypto/link.js';
import { noblePlatform } from '../../src/crypto/noble.js';
import { DEFAULT_LINK_KDF, formatLink, fromBase64Url, parseLink, toBase64Url } from '../../src/format/link.js';
import { nodePlatform as p } from '../../src/platform/node.js';

const CHEAP = { memLog2: 6, passes: 1 };

test('a new link has a 128-bit id and a 256-bit secret, and parses back', (t) => {
  const link = newShareLink(p, 'https://drive.example.org');
  t.regex(link.id, /^[A-Za-z0-9_-]{22}$/);
  t.is(link.secret.length, 32);
  const url = formatLink(link);
  t.regex(url, /^https:\/\/drive\.example\.org\/s\/[A-Za-z0-9_-]{22}#1A[A-Za-z0-9_-]{43}$/);
  t.deepEqual(parseLink(url), link);
  t.not(newShareLink(p, 'https://x').id, link.id);
});

test('password links carry the flag and the Argon2id cost', (t) => {
  const link = newShareLink(p, 'http://127.0.0.1:9000/prefix/', { password: true });
  t.deepEqual(link.passwordKdf, DEFAULT_LINK_KDF);
  const url = formatLink(link);
  t.regex(url, /^http:\/\/127\.0\.0\.1:9000\/prefix\/s\/[A-Za-z0-9_-]{22}#1B[A-Za-z0-9_-]{43}QD$/);
  t.deepEqual(parseLink(url), { ...link, base: 'http://127.0.0.1:9000/prefix' });
});

test('parse tolerates surrounding whitespace and any host, and ignores a query', (t) => {
  const link = newShareLink(p, 'https://a.b');
  t.deepEqual(parseLink(`  ${formatLink(link)}\n`), link);
  t.is(parseLink(formatLink(link).replace('#', '?utm=1#')).id, link.id);
});

test('anything malformed is E_BAD_LINK', (t) => {
  const url = formatLink(newShareLink(p, 'https://a.b'));
  const pw = formatLink(newShareLink(p, 'https://a.b', { passwordKdf: CHEAP }));
  const bad = [
    '', 'hello', 'https://a.b/', 'mailto:x@y', url.split('#')[0], `${url.split('#')[0]}#`, url.slice(0, -1), `${url}x`,
    url.replace('#1', '#0'), url.replace('#1A', '#1E'), url.replace('/s/', '/t/'), url.replace(/\/s\/.{22}/, '/s/abc'),
    url.replace(/#1A./, '#1A*'), pw.slice(0, -1), pw.slice(0, -2) + 'ZD', pw.slice(0, -2) + 'QA', pw.slice(0, -2) + 'Q_',
  ];
  for (const b of bad) t.is(t.throws<MegafsError>(() => parseLink(b))?.code, 'E_BAD_LINK', b);
});

test('base64url codec is strict and round-trips', (t) => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (bytes) => {
    t.deepEqual(fromBase64Url(toBase64Url(bytes), bytes.length, 'x'), bytes);
    t.is(toBase64Url(bytes), Buffer.from(bytes).toString('base64url'));
  }));
  // 'B' for one byte has a non-zero unused bit: not canonical.
  t.is(t.throws<MegafsError>(() => fromBase64Url('AB', 1, 'x'))?.code, 'E_BAD_LINK');
});

test('manifest sealing round-trips on both platforms and binds the link id', async (t) => {
  const link = newShareLink(p, 'https://a.b');
  const key = await deriveLinkKey(link);
  const manifest = new TextEncoder().encode('{"name":"talk.mp4"}');
  const sealed = sealManifest(p, key, link, manifest);
  t.deepEqual(openManifest(noblePlatform, key, link, sealed.bytes), manifest);
  const other = { ...link, id: newShareLink(p, 'https://a.b').id };
  t.is(t.throws<MegafsError>(() => openManifest(p, key, other, sealed.bytes))?.code, 'E_INTEGRITY');
  const otherKey = await deriveLinkKey(newShareLink(p, 'https://a.b'));
  t.is(t.throws<MegafsError>(() => openManifest(p, otherKey, link, sealed.bytes))?.code, 'E_INTEGRITY');
});

test('password links: the password is mixed into the key', async (t) => {
  const link = newShareLink(p, 'https://a.b', { passwordKdf: CHEAP });
  const key = await deriveLinkKey(link, 'sesame');
  t.notDeepEqual(key, await deriveLinkKey({ ...link, passwordKdf: undefined }));
  const sealed = sealManifest(p, key, link, new Uint8Array([1, 2, 3]));
  t.deepEqual(openManifest(p, await deriveLinkKey(parseLink(formatLink(link)), 'sesame'), link, sealed.bytes), new Uint8Array([1, 2, 3]));
  const wrong = await deriveLinkKey(link, 'Sesame');
  t.is(t.throws<MegafsError>(() => openManifest(p, wrong, link, sealed.bytes))?.code, 'E_BAD_PASSWORD');
  t.is((await t.throwsAsync<MegafsError>(deriveLinkKey(link)))?.code, 'E_BAD_PASSWORD');
  t.is((await t.throwsAsync<MegafsError>(deriveLinkKey(link, '')))?.code, 'E_BAD_PASSWORD');
});
