// The daemon's control socket (MEGAFS_HOME/run/<hash of mount point>.sock): one JSON
// request line in, one JSON reply line out. `megafs status` and `megafs unmount` use it.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { HomePaths } from './config.js';

export type ControlRequest = { cmd: 'status' } | { cmd: 'unmount' };
export type ControlReply = { ok: true; value?: unknown } | { ok: false; code: string; message: string };

export function socketPath(paths: HomePaths, mountpoint: string): string {
  return join(paths.run, `${createHash('sha256').update(mountpoint).digest('hex').slice(0, 16)}.sock`);
}

/** Every control socket file present (some may belong to daemons that died). */
export async function listSockets(paths: HomePaths): Promise<string[]> {
  const names = await readdir(paths.run).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.sock')).map((n) => join(paths.run, n));
}

export async function serveControl(path: string, handle: (req: ControlRequest) => Promise<unknown>): Promise<Server> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  await rm(path, { force: true }); // a socket left by a daemon that was killed
  const server = createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      let reply: Promise<ControlReply>;
      try {
        reply = handle(JSON.parse(line) as ControlRequest).then(
          (value) => ({ ok: true, value }) as const,
          (e: { code?: string; message?: string }) => ({ ok: false, code: e?.code ?? 'E_INTERNAL', message: e?.message ?? String(e) }) as const,
        );
      } catch (e) {
        reply = Promise.resolve({ ok: false, code: 'E_USAGE', message: String(e) });
      }
      void reply.then((r) => conn.end(`${JSON.stringify(r)}\n`));
    });
    conn.on('error', () => {});
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(path, () => ok()));
  return server;
}

/** Send one request; null when no daemon listens on `path`. */
export function askDaemon(path: string, req: ControlRequest, timeoutMs = 10 * 60_000): Promise<ControlReply | null> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => conn.destroy(new Error(`the daemon did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (chunk: string) => { buf += chunk; });
    conn.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlReply);
      } catch {
        resolve(null);
      }
    });
    conn.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') resolve(null);
      else reject(e);
    });
  });
}
