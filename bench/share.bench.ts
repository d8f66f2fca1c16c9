// Sharing a big file, before and after shares without a copy (issue 16), side by side on
// one `megafs serve` (child process, loopback) in one run: a drive on the account holds a
// BENCH_SHARE_MB file (default 200, MB = 10^6 bytes), committed. "copy" does what
// `megafs share` did until manifest version 2 (src/share/create.ts before it): read the
// file through the vfs, seal every chunk again under a fresh file key, upload the copies
// (4 in flight), register them; "no copy" is today's createShare (capture, manifest of
// the drive's own chunks, record in DRIVE.shares, commit, register). Each prints the time
// and the bytes the account's store grew by (GET /v1/usage). Alternating rounds
// (BENCH_SHARE_ROUNDS, default 2), fresh link each time. Then what no copy defers: the
// first write after a share seals the file again under a new key (once), the next does not.
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkKeyFor, sealChunk } from '../src/crypto/chunk.js';
import { deriveDriveKeys } from '../src/crypto/keys.js';
import { deriveLinkKey, newShareLink, sealManifest } from '../src/crypto/link.js';
import { FILE_ID_BYTES, KEY_BYTES, CHUNK_SIZE } from '../src/format/constants.js';
import { nodePlatform as p } from '../src/platform/node.js';
import { httpShareApi } from '../src/share/api.js';
import { createShare } from '../src/share/create.js';
import { signup } from '../src/store/http-account.js';
import { bearer } from '../src/store/http-client.js';
import { HttpStore } from '../src/store/http.js';
import { openVfs, type VfsHandle } from '../src/vfs/index.js';
import { startServe } from './serve-child.js';

const MB = Number(process.env.BENCH_SHARE_MB ?? 200);
const ROUNDS = Number(process.env.BENCH_SHARE_ROUNDS ?? 2);
const SIZE = MB * 1e6;

type Api = ReturnType<typeof httpShareApi>;

/** The copying share of manifest version 1, as it was: every chunk read, sealed anew, uploaded. */
async function copyShare(vfs: VfsHandle, store: HttpStore, api: Api, path: string): Promise<void> {
  const fileKey = p.randomBytes(KEY_BYTES);
  const fileId = p.randomBytes(FILE_ID_BYTES);
  const chunkKey = chunkKeyFor(fileKey);
  const count = Math.ceil(SIZE / CHUNK_SIZE);
  const ids: string[] = [];
  const inflight = new Set<Promise<void>>();
  const fh = await vfs.open(path, fsc.O_RDONLY);
  for (let i = 0; i < count; i++) {
    const buf = new Uint8Array(Math.min(CHUNK_SIZE, SIZE - i * CHUNK_SIZE));
    for (let got = 0; got < buf.length;) got += await vfs.read(fh, buf.subarray(got), buf.length - got, i * CHUNK_SIZE + got);
    const sealed = sealChunk(p, chunkKey, { fileId, chunkIndex: i, isLast: i === count - 1 }, buf);
    ids.push(sealed.id);
    const up: Promise<void> = store.put(sealed.id, sealed.bytes).then(() => { inflight.delete(up); });
    inflight.add(up);
    if (inflight.size >= 4) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await vfs.release(fh);
  const link = newShareLink(p, api.origin);
  const manifest = new TextEncoder().encode(JSON.stringify({ v: 1, root: { kind: 'file', name: 'big', size: SIZE, mtimeMs: 0, fileId: '', fileKey: '', chunks: ids } }));
  await api.create(link.id, sealManifest(p, await deriveLinkKey(link), link, manifest).bytes, ids, null);
}

const dir = await mkdtemp(join(tmpdir(), 'megafs-bench-share-'));
const server = await startServe(join(dir, 'serve'));
try {
  const authSecret = new Uint8Array(randomBytes(32));
  await signup(server.url, 'bench', authSecret, null);
  const store = new HttpStore({ url: server.url, user: 'bench', authSecret });
  const api = httpShareApi(server.url, bearer('bench', authSecret));
  const vfs = await openVfs({
    store, keys: deriveDriveKeys(randomBytes(32), randomBytes(16)), stateDir: join(dir, 'state'), cacheDir: join(dir, 'cache'),
    cacheSizeBytes: 4 * SIZE, deviceId: 'bench', log: () => undefined,
  });
  const fh = await vfs.create('/big', 0o644, fsc.O_WRONLY);
  const block = randomBytes(CHUNK_SIZE);
  for (let at = 0; at < SIZE; at += CHUNK_SIZE) { block[0] = at & 0xff; await vfs.write(fh, block.subarray(0, Math.min(CHUNK_SIZE, SIZE - at)), at); }
  await vfs.release(fh);
  await vfs.sync();
  const used = async (): Promise<number> => (await store.usage()).usedBytes;
  const rows: { what: string; ms: number; added: number }[] = [];
  const run = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    const before = await used();
    const t0 = performance.now();
    await fn();
    rows.push({ what, ms: performance.now() - t0, added: (await used()) - before });
  };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['copy', 'no copy'] : ['no copy', 'copy'];
    for (const what of order) {
      await run(what, () => (what === 'copy' ? copyShare(vfs, store, api, '/big') : createShare(p, vfs, store, api, '/big')));
    }
  }
  // What no copy moves to later: the first change after the share seals the file again
  // under a new key (the rekey rule), once; a second change costs what any write does.
  const poke = async (): Promise<void> => {
    const w = await vfs.open('/big', fsc.O_WRONLY);
    await vfs.write(w, new Uint8Array(4096).fill(1), 0);
    await vfs.fsync(w, false);
    await vfs.release(w);
  };
  await run('first 4 KiB write + fsync after the share (rekey)', poke);
  await run('next 4 KiB write + fsync', poke);
  console.log(`share a ${MB} MB file (megafs serve on loopback, ${ROUNDS} rounds alternating)`);
  console.log('| how | time (s) | bytes added to the store |');
  console.log('|---|---:|---:|');
  for (const r of rows) console.log(`| ${r.what} | ${(r.ms / 1000).toFixed(2)} | ${r.added.toLocaleString('en-US')} |`);
  await vfs.close();
  await store.close();
} finally {
  server.stop();
  await rm(dir, { recursive: true, force: true });
}
