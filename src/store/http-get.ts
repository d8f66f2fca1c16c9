// GETs over plain-HTTP keep-alive sockets whose reads land straight in the body's buffer
// (net's `onread` buffer generator): no 64 KiB buffer per read, no copy by the HTTP parser.
// node:http costs ~2 ms of CPU per MiB more (two allocations and a copy per 64 KiB read).
// Handles responses with a Content-Length (all `megafs serve` sends); anything else (a
// chunked proxy page) rejects with FALLBACK and the caller repeats the GET with node:http.
import { connect, type Socket } from 'node:net';

/** Rejection reason: the answer is not one this reader handles; use node:http instead. */
export const FALLBACK = Symbol('fallback');

export interface DirectResponse {
  status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
}

const HEAD_MAX_BYTES = 16 * 1024;
const BODY_MAX_BYTES = 64 * 1024 * 1024;
/** An idle socket is closed after this long (the server's keep-alive timeout is 30 s). */
const IDLE_MS = 10_000;

const netError = (code: string, message = code): Error => Object.assign(new Error(message), { code });

/** One keep-alive connection; at most one request on it at a time. */
class Conn {
  readonly socket: Socket;
  private scratch = Buffer.allocUnsafe(HEAD_MAX_BYTES);
  private headBytes = 0;
  private body: Buffer | null = null;
  private bodyBytes = 0;
  private status = 0;
  private headers: Record<string, string> = {};
  private done: ((e: Error | typeof FALLBACK | null, r?: DirectResponse) => void) | null = null;
  /** Bytes received for the request in progress (a reused socket that fails at 0 is retried). */
  received = 0;
  /** Requests started on this connection. */
  uses = 0;
  keepAlive = true;

  constructor(host: string, port: number, private readonly timeoutMs: number) {
    this.socket = connect({
      host, port, noDelay: true,
      onread: { buffer: () => this.target(), callback: (n: number) => { this.onRead(n); return true; } },
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.finish(netError(e.code ?? 'ECONNRESET', e.message)));
    this.socket.on('close', () => this.finish(netError('ECONNRESET', 'socket closed')));
    this.socket.on('timeout', () => this.socket.destroy(netError('ETIMEDOUT', 'timeout')));
  }

  /** Send `head` (the request line and headers); `done` is called once with the answer. */
  start(head: string, done: (e: Error | typeof FALLBACK | null, r?: DirectResponse) => void): void {
    this.headBytes = 0;
    this.body = null;
    this.received = 0;
    this.uses++;
    this.done = done;
    this.socket.ref();
    this.socket.setTimeout(this.timeoutMs);
    this.socket.write(head, 'latin1');
  }

  /** Where the next read goes: the rest of the head scratch, or the rest of the body. */
  private target(): Buffer {
    if (this.body && this.bodyBytes < this.body.length) return this.body.subarray(this.bodyBytes);
    return this.scratch.subarray(this.headBytes < this.scratch.length ? this.headBytes : 0);
  }

  private onRead(n: number): void {
    if (!this.done) return void this.socket.destroy(); // bytes nobody asked for
    this.received += n;
    if (this.body) {
      this.bodyBytes += n;
    } else {
      const from = Math.max(0, this.headBytes - 3);
      this.headBytes += n;
      const end = this.scratch.subarray(0, this.headBytes).indexOf('\r\n\r\n', from, 'latin1');
      if (end < 0) {
        if (this.headBytes >= this.scratch.length) this.fallback();
        return;
      }
      if (!this.parseHead(this.scratch.toString('latin1', 0, end))) return this.fallback();
      const extra = this.headBytes - end - 4;
      if (extra > this.body!.length) return this.fallback();
      this.scratch.copy(this.body!, 0, end + 4, this.headBytes);
      this.bodyBytes = extra;
      this.headBytes = 0;
    }
    if (this.bodyBytes === this.body!.length) {
      this.socket.setTimeout(IDLE_MS);
      this.socket.unref();
      const r = { status: this.status, headers: this.headers, body: this.body! };
      this.body = null;
      this.finish(null, r);
    }
  }

  /** Status line and headers; false when the body is not a plain Content-Length body. */
  private parseHead(text: string): boolean {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]);
    if (!m) return false;
    this.status = Number(m[2]);
    this.headers = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      if (colon > 0) this.headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
    }
    const connection = (this.headers.connection ?? '').toLowerCase();
    this.keepAlive = m[1] === '1' ? connection !== 'close' : connection === 'keep-alive';
    if (this.status < 200 || this.headers['transfer-encoding'] !== undefined) return false;
    const length = this.status === 204 || this.status === 304 ? 0 : Number(this.headers['content-length'] ?? NaN);
    if (!Number.isSafeInteger(length) || length < 0 || length > BODY_MAX_BYTES) return false;
    this.body = Buffer.allocUnsafe(length);
    return true;
  }

  private fallback(): void {
    this.keepAlive = false;
    this.finish(FALLBACK);
    this.socket.destroy();
  }

  private finish(e: Error | typeof FALLBACK | null, r?: DirectResponse): void {
    const done = this.done;
    this.done = null;
    done?.(e, r);
  }
}

/** A pool of at most `maxSockets` connections to one host. */
export class DirectGetPool {
  private readonly all = new Set<Conn>();
  private readonly idle: Conn[] = [];
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  /** `hostHeader`: the Host header value (host[:port], IPv6 in brackets). */
  constructor(
    private readonly host: string, private readonly port: number, private readonly hostHeader: string,
    private readonly maxSockets: number, private readonly timeoutMs: number,
  ) {}

  /** GET `path` with `headers` (values must hold no CR or LF). Rejects with a network
   *  error (with `code`) or FALLBACK; any HTTP status resolves. */
  async get(path: string, headers: Record<string, string>): Promise<DirectResponse> {
    let head = `GET ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n`;
    for (const [k, v] of Object.entries(headers)) {
      if (/[\r\n]/.test(k + v)) throw new Error('BUG: CR or LF in a header');
      head += `${k}: ${v}\r\n`;
    }
    head += '\r\n';
    for (;;) {
      const conn = await this.acquire();
      const reused = conn.uses > 0;
      try {
        const r = await new Promise<DirectResponse>((resolve, reject) =>
          conn.start(head, (e, res) => (e ? reject(e) : resolve(res!))));
        this.release(conn);
        return r;
      } catch (e) {
        conn.socket.destroy();
        // A kept-alive socket the server closed meanwhile fails before any byte: retry fresh.
        if (reused && conn.received === 0 && e !== FALLBACK && !this.closed) continue;
        throw e;
      }
    }
  }

  private async acquire(): Promise<Conn> {
    for (;;) {
      if (this.closed) throw netError('ECONNABORTED', 'client closed');
      const idle = this.idle.pop();
      if (idle && !idle.socket.destroyed) return idle;
      if (idle) continue;
      if (this.all.size < this.maxSockets) break;
      await new Promise<void>((res) => this.waiting.push(res));
    }
    const conn = new Conn(this.host, this.port, this.timeoutMs);
    this.all.add(conn);
    conn.socket.once('close', () => {
      this.all.delete(conn);
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      this.waiting.shift()?.();
    });
    return conn;
  }

  private release(conn: Conn): void {
    if (!conn.keepAlive || this.closed) return void conn.socket.destroy();
    this.idle.push(conn);
    this.waiting.shift()?.();
  }

  close(): void {
    this.closed = true;
    for (const c of this.all) c.socket.destroy();
    for (const w of this.waiting.splice(0)) w();
  }
}
