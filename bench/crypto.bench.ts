// Seal/open throughput of chunks: the node:crypto fast path against the pure @noble
// reference on the same run, the cost of a fresh output buffer per chunk, and the
// chunk-size trade-off behind CHUNK_SIZE (docs/format.md "Chunks"). Single-threaded and
// timed in CPU seconds: every MB/s figure is one core. Usage: npm run bench -- crypto
import { createCipheriv } from 'node:crypto';
import { chunkKeyFor, openChunk, sealChunk, type ChunkPlace } from '../src/crypto/chunk.js';
import { noblePlatform } from '../src/crypto/noble.js';
import { sealedSize } from '../src/crypto/object.js';
import type { CryptoPlatform } from '../src/crypto/platform.js';
import { nodePlatform } from '../src/platform/node.js';

const MiB = 1 << 20;
const key = chunkKeyFor(nodePlatform.randomBytes(32));
const place: ChunkPlace = { fileId: nodePlatform.randomBytes(16), chunkIndex: 0, isLast: false };
const aad = new Uint8Array(40);
const nonce = nodePlatform.randomBytes(24);

/** CPU seconds of this process: "per core" even when other work shares the machine. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Best MB per CPU-second (10^6 bytes) of 3 rounds, each processing about `budgetBytes`. */
function mbps(bytesPerOp: number, budgetBytes: number, op: () => void): number {
  const ops = Math.max(3, Math.ceil(budgetBytes / bytesPerOp));
  for (let i = 0; i < Math.min(ops, 5); i++) op(); // warm up the JIT and the buffers
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const start = cpuSeconds();
    for (let i = 0; i < ops; i++) op();
    const seconds = cpuSeconds() - start;
    best = Math.max(best, (ops * bytesPerOp) / seconds / 1e6);
  }
  return best;
}

/** The naive fast path, for comparison: one update() over the whole MiB, whose fresh
 *  1 MiB output lands above glibc's mmap threshold (page faults on every call). */
function naiveNodeSealMbps(budget: number): number {
  const plain = nodePlatform.randomBytes(MiB);
  const subkey = nodePlatform.randomBytes(32);
  const iv = new Uint8Array(12);
  return mbps(MiB, budget, () => {
    const c = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: plain.length });
    c.update(plain);
    c.final();
    c.getAuthTag();
  });
}

const fmt = (n: number): string => (Number.isNaN(n) ? '-' : n.toFixed(0)).padStart(7);

function aeadRow(p: CryptoPlatform, budget: number): { seal: number; open: number } {
  const plain = nodePlatform.randomBytes(MiB);
  const sealed = p.xchachaSeal(key, nonce, plain, aad);
  return {
    seal: mbps(MiB, budget, () => p.xchachaSeal(key, nonce, plain, aad)),
    open: mbps(MiB, budget, () => p.xchachaOpen(key, nonce, sealed, aad)),
  };
}

function chunkRow(p: CryptoPlatform, size: number, budget: number, reuse: boolean): { seal: number; open: number } {
  const plain = nodePlatform.randomBytes(size);
  const sealed = sealChunk(p, key, place, plain);
  const out = reuse ? new Uint8Array(sealedSize(size)) : undefined;
  const plainOut = reuse ? new Uint8Array(sealedSize(size)) : undefined;
  return {
    seal: mbps(size, budget, () => sealChunk(p, key, place, plain, undefined, out)),
    open: mbps(size, budget, () => openChunk(p, key, place, sealed.bytes, sealed.id, plainOut)),
  };
}

console.log('1 MiB chunks, MB per CPU-second (10^6 bytes; CPU time, so other load on the machine does not count)');
console.log('what                                          seal    open');
// First, while the process is fresh: glibc raises its mmap threshold after freeing
// mmapped blocks, which would hide the effect later in the run.
const naive = naiveNodeSealMbps(512 * MiB);
const nodeAead = aeadRow(nodePlatform, 512 * MiB);
const nobleAead = aeadRow(noblePlatform, 48 * MiB);
const nodeFresh = chunkRow(nodePlatform, MiB, 512 * MiB, false);
const nodeReuse = chunkRow(nodePlatform, MiB, 512 * MiB, true);
const nobleChunk = chunkRow(noblePlatform, MiB, 48 * MiB, false);
const rows: [string, { seal: number; open: number }][] = [
  ['node   XChaCha20-Poly1305 (AEAD only)', nodeAead],
  ['node   same, one 1 MiB update() (naive; seal)', { seal: naive, open: NaN }],
  ['noble  XChaCha20-Poly1305 (AEAD only)', nobleAead],
  ['node   chunk object + SHA-256 id, fresh buffer', nodeFresh],
  ['node   chunk object + SHA-256 id, reused buffer', nodeReuse],
  ['noble  chunk object + SHA-256 id', nobleChunk],
];
for (const [name, r] of rows) console.log(`${name.padEnd(44)}${fmt(r.seal)} ${fmt(r.open)}`);
console.log(`speed-up node/noble: AEAD seal ${(nodeAead.seal / nobleAead.seal).toFixed(1)}x, open ${(nodeAead.open / nobleAead.open).toFixed(1)}x;` +
  ` chunk seal ${(nodeReuse.seal / nobleChunk.seal).toFixed(1)}x, open ${(nodeReuse.open / nobleChunk.open).toFixed(1)}x`);

console.log('\nchunk size (node fast path, reused buffers, SHA-256 id checked on open)');
console.log('size      seal MB/s  open MB/s  overhead/object  objects per GiB');
for (const size of [64 * 1024, 256 * 1024, MiB, 4 * MiB]) {
  const r = chunkRow(nodePlatform, size, 256 * MiB, true);
  // Per object: 45 bytes of sealing overhead + a 32-byte id in the tree's chunk list.
  const overheadPct = ((sealedSize(size) - size + 32) / size) * 100;
  const label = size >= MiB ? `${size / MiB} MiB` : `${size / 1024} KiB`;
  console.log(`${label.padEnd(10)}${fmt(r.seal)}    ${fmt(r.open)}    ${overheadPct.toFixed(4).padStart(8)} %    ${String((1 << 30) / size).padStart(8)}`);
}
