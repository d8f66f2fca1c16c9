// Raw HTTP requests for server tests that must send what no well-behaved client sends
// (literal `..` paths, lying Content-Length, endless chunked bodies).
import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The parsed JSON error body's code, when there is one. */
  code?: string;
}

export interface RawRequest {
  method: string;
  /** Sent exactly as given (no normalization). */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Write this body in chunks of this many bytes until the response arrives or `totalBytes` is sent. */
  stream?: { chunkBytes: number; totalBytes: number };
}

export function raw(baseUrl: string, r: RawRequest): Promise<RawResponse> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      { host: u.hostname, port: u.port, method: r.method, path: r.path, headers: r.headers, agent: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let code: string | undefined;
          try {
            code = (JSON.parse(body.toString('utf8')) as { error?: { code?: string } }).error?.code;
          } catch {
            code = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, code });
        });
      },
    );
    // The server may close the socket while we still write: the response is what counts.
    req.on('error', (e) => (answered ? undefined : reject(e)));
    if (r.stream) {
      const chunk = Buffer.alloc(r.stream.chunkBytes, 0x61);
      let sent = 0;
      const pump = (): void => {
        while (!answered && !req.destroyed && sent < r.stream!.totalBytes) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!req.destroyed) req.end();
      };
      pump();
    } else {
      req.end(r.body);
    }
  });
}
