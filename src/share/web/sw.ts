// The share page's Service Worker (scope /s-assets/): turns a download the page asked for
// into a streamed HTTP response, so the browser's download manager writes the file to
// disk as chunks arrive. It fetches, verifies (SHA-256 against the id) and decrypts one
// chunk at a time (a few ahead), so memory stays at a few MiB whatever the file size.
// The page hands it the file's key over postMessage; nothing leaves the browser.
import { noblePlatform } from '../../crypto/noble.js';
import { fileChunks } from '../fetch.js';
import type { ManifestFile } from '../manifest.js';

export interface DownloadJob {
  type: 'job';
  token: string;
  /** The link's base URL and id. */
  base: string;
  id: string;
  file: ManifestFile;
}

interface FetchEventLike extends Event { request: Request; respondWith(r: Response | Promise<Response>): void }
interface ExtendableEventLike extends Event { waitUntil(p: Promise<unknown>): void }
interface MessageEventLike extends Event { data: unknown; ports: readonly MessagePort[] }
interface SwScope {
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEventLike) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchEventLike) => void): void;
  addEventListener(type: 'message', fn: (e: MessageEventLike) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
}

const sw = self as unknown as SwScope;
/** token -> job and the port that reports its progress. Jobs are used once. */
const jobs = new Map<string, { job: DownloadJob; port: MessagePort }>();

sw.addEventListener('install', (e) => e.waitUntil(sw.skipWaiting()));
sw.addEventListener('activate', (e) => e.waitUntil(sw.clients.claim()));

sw.addEventListener('message', (e) => {
  const job = e.data as DownloadJob;
  if (job?.type !== 'job' || !e.ports[0]) return;
  jobs.set(job.token, { job, port: e.ports[0] });
  e.ports[0].postMessage({ type: 'ready' });
});

function disposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

sw.addEventListener('fetch', (e) => {
  const m = /\/s-assets\/dl\/([0-9a-f]{32})\//.exec(new URL(e.request.url).pathname);
  if (!m) return;
  const entry = jobs.get(m[1]);
  if (!entry) { e.respondWith(new Response('This download has expired; start it again from the page.', { status: 404 })); return; }
  jobs.delete(m[1]);
  const { job, port } = entry;
  // Ids are checked with WebCrypto's native SHA-256; decryption is @noble/ciphers.
  const hash = async (b: Uint8Array) => new Uint8Array(await crypto.subtle.digest('SHA-256', b as BufferSource));
  const chunks = fileChunks(noblePlatform, { base: job.base, id: job.id }, job.file, hash);
  let doneBytes = 0;
  // highWaterMark 0: pull() runs only when the download manager asks for more.
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) { controller.close(); port.postMessage({ type: 'done', doneBytes }); return; }
        doneBytes += next.value.length;
        controller.enqueue(next.value);
        port.postMessage({ type: 'progress', doneBytes });
      } catch (err) {
        port.postMessage({ type: 'error', message: (err as Error).message, code: (err as { code?: string }).code });
        controller.error(err);
      }
    },
    cancel() { void chunks.return(undefined); },
  }, { highWaterMark: 0 });
  e.respondWith(new Response(body, {
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': disposition(job.file.name),
      'Content-Length': String(job.file.size),
      'Cache-Control': 'no-store',
    },
  }));
});
