// Browser entry (bundled by esbuild in test/integration/browser.test.ts): runs the link and
// chunk vectors with the very modules and @noble platform the share page uses, in the
// page, and returns the names of the vectors that failed.
import { noblePlatform } from '../../src/crypto/noble.js';
import { chunkKeyFor, openChunk } from '../../src/crypto/chunk.js';
import { deriveLinkKey, openManifest } from '../../src/crypto/link.js';
import { fromHex, toHex } from '../../src/format/bytes.js';
import { parseLink } from '../../src/format/link.js';

interface LinkVector { url: string; id: string; secret: string; password: string | null; linkKey: string; manifest: string; sealed: string }
interface ChunkVector { name: string; fileId: string; chunkIndex: number; isLast: boolean; plaintext?: string; id?: string; sealed?: string; chunkKey?: string; expect?: string }
interface Vectors {
  links: { valid: LinkVector[]; badLinks: { url: string; expect: string }[] };
  chunks: { fileKey: string; chunkKey: string; valid: ChunkVector[]; invalid: ChunkVector[] };
}

async function run(v: Vectors): Promise<{ passed: number; failed: string[] }> {
  const failed: string[] = [];
  let passed = 0;
  const check = (ok: boolean, name: string) => { if (ok) passed++; else failed.push(name); };
  for (const l of v.links.valid) {
    const link = parseLink(l.url);
    check(link.id === l.id && toHex(link.secret) === l.secret, `parse ${l.url}`);
    const key = await deriveLinkKey(link, l.password ?? undefined);
    check(toHex(key) === l.linkKey, `link key ${l.url}`);
    check(toHex(openManifest(noblePlatform, key, link, fromHex(l.sealed))) === l.manifest, `manifest ${l.url}`);
  }
  for (const b of v.links.badLinks) {
    let code = 'none';
    try { parseLink(b.url); } catch (e) { code = (e as { code?: string }).code ?? 'other'; }
    check(code === b.expect, `bad link ${b.url}`);
  }
  const chunkKey = chunkKeyFor(fromHex(v.chunks.fileKey));
  check(toHex(chunkKey) === v.chunks.chunkKey, 'chunk key');
  for (const c of [...v.chunks.valid, ...v.chunks.invalid]) {
    if (c.sealed === undefined) continue; // generated from a pattern (the 1 MiB vector): Node-side only
    const key = c.chunkKey !== undefined ? fromHex(c.chunkKey) : chunkKey;
    const place = { fileId: fromHex(c.fileId), chunkIndex: c.chunkIndex, isLast: c.isLast };
    let result: string;
    try { result = toHex(openChunk(noblePlatform, key, place, fromHex(c.sealed), c.id)); } catch (e) { result = (e as { code?: string }).code ?? 'other'; }
    check(c.expect ? result === c.expect : result === c.plaintext, `chunk ${c.name}`);
  }
  return { passed, failed };
}

(globalThis as unknown as { megafsVectors: typeof run }).megafsVectors = run;
