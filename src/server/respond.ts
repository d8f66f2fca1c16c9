// The server's one translation from error codes to HTTP statuses, and the response
// helpers. Error bodies are always {"error": {"code", "message"}}; an error that is not a
// MegafsError is a bug or an I/O fault: it is logged and answered with a fixed 500 body,
// so nothing internal (paths, stacks, SQL) leaks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MegafsError, type ErrorCode } from '../errors.js';

export const STATUS_FOR: Partial<Record<ErrorCode, number>> = {
  E_USAGE: 400, E_FORMAT: 400, E_BAD_ID: 400,
  E_AUTH: 401, E_FORBIDDEN: 403, E_NOT_FOUND: 404,
  E_CONFLICT: 409, E_GONE: 410, E_TOO_LARGE: 413,
  E_HASH_MISMATCH: 422, E_RATE_LIMIT: 429, E_TAKEN_DOWN: 451,
  E_UNAVAILABLE: 503, E_QUOTA: 507,
};

export type Log = (line: string) => void;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}

/** `sent`: called once the body is handed to the kernel (not when the socket failed first). */
export function sendBytes(res: ServerResponse, status: number, body: Uint8Array, headers: Record<string, string> = {}, sent?: () => void): void {
  res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, ...headers });
  res.end(body, sent);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

/** Answer an error. A request whose body was not read gets `Connection: close`, so the
 *  unread bytes are dropped with the socket instead of being read. */
export function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, log: Log): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  let status = 500;
  let code: ErrorCode = 'E_INTERNAL';
  let message = 'internal error';
  const headers: Record<string, string> = {};
  if (err instanceof MegafsError && STATUS_FOR[err.code] !== undefined) {
    status = STATUS_FOR[err.code]!;
    code = err.code;
    message = err.message;
    const retry = (err as { retryAfterS?: number }).retryAfterS;
    if (retry !== undefined) headers['Retry-After'] = String(retry);
    if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="megafs"';
  } else {
    log(`internal error on ${req.method} ${req.url?.split('?')[0]}: ${(err as Error)?.stack ?? String(err)}`);
  }
  if (unreadBody(req)) headers.Connection = 'close';
  sendJson(res, status, { error: { code, message } }, headers);
}

/** True when the request carries a body that has not been read to its end. */
export function unreadBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  const hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
  return hasBody && !req.complete;
}
