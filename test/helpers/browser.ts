// A real browser for the share page tests: Debian's chromium, headless, driven by
// playwright-core, with a fresh profile and every background service that could make a
// network request switched off. And a recording proxy in front of `megafs serve`: the
// request log that shows what the server was sent (method, URL, headers, body).
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { request as httpRequest, createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  /** Where downloads land (while one runs, its partial file grows here). */
  downloadsDir: string;
  /** Summed resident memory (bytes) of this browser's processes right now. */
  rssBytes(): Promise<number>;
  /** This browser's processes: pid, --type (browser, renderer, gpu-process, utility...), RSS. */
  processes(): Promise<BrowserProcess[]>;
  close(): Promise<void>;
}

export interface BrowserProcess {
  pid: number;
  type: string;
  rssBytes: number;
}

/** The chromium started with `profile` and all its descendants, from /proc. */
async function processTree(profile: string): Promise<BrowserProcess[]> {
  const all: { pid: number; ppid: number; cmd: string; rssBytes: number }[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = await readFile(`/proc/${name}/status`, 'utf8');
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').join(' ');
      all.push({
        pid: Number(name), ppid: Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0), cmd,
        rssBytes: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024,
      });
    } catch { /* exited meanwhile */ }
  }
  const roots = all.filter((p) => p.cmd.includes(`--user-data-dir=${profile}`) && !p.cmd.includes('--type='));
  const mine = new Set(roots.map((p) => p.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) if (!mine.has(p.pid) && mine.has(p.ppid)) { mine.add(p.pid); grew = true; }
  }
  return all.filter((p) => mine.has(p.pid)).map((p) => ({ pid: p.pid, type: /--type=(\S+)/.exec(p.cmd)?.[1] ?? 'browser', rssBytes: p.rssBytes }));
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'megafs-chromium-'));
  const downloads = await mkdtemp(join(tmpdir(), 'megafs-downloads-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    downloadsPath: downloads,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-dev-shm-usage'],
  });
  return {
    context,
    downloadsDir: downloads,
    async rssBytes() {
      return (await processTree(profile)).reduce((n, p) => n + p.rssBytes, 0);
    },
    processes: () => processTree(profile),
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
      await rm(downloads, { recursive: true, force: true });
    },
  };
}

export interface LoggedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RecordingProxy {
  url: string;
  requests: LoggedRequest[];
  close(): Promise<void>;
}

/** A loopback HTTP proxy to `target` that records every request it forwards. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const t = new URL(target);
  const requests: LoggedRequest[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => { res.writeHead(502).end(); });
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
