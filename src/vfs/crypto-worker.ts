// Worker thread of crypto-pool.ts: seals and opens chunks (XChaCha20-Poly1305 + SHA-256)
// off the main thread, which also serves FUSE. Messages carry their own buffers
// (transferred, never shared); a failure comes back as { error } and the caller maps it.
import { parentPort } from 'node:worker_threads';
import { openChunk, sealChunk } from '../crypto/chunk.js';
import { nodePlatform } from '../platform/node.js';
import type { CryptoJob } from './crypto-pool.js';

const port = parentPort!;
port.on('message', (job: CryptoJob) => {
  const place = { fileId: job.fileId, chunkIndex: job.chunkIndex, isLast: job.isLast };
  try {
    if (job.op === 'seal') {
      // Into the caller's pooled output buffer when it sent one (no fresh 1 MiB here).
      const o = sealChunk(nodePlatform, job.key, place, job.bytes, undefined, job.out);
      // The input goes back too (crypto-pool reuses its buffer).
      port.postMessage({ seq: job.seq, id: o.id, bytes: o.bytes, input: job.bytes }, [o.bytes.buffer as ArrayBuffer, job.bytes.buffer as ArrayBuffer]);
    } else {
      const plain = openChunk(nodePlatform, job.key, place, job.bytes, job.id);
      port.postMessage({ seq: job.seq, bytes: plain }, [plain.buffer as ArrayBuffer]);
    }
  } catch (e) {
    port.postMessage({ seq: job.seq, error: (e as Error).message, code: (e as { code?: string }).code });
  }
});
