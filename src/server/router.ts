// A small router: method + path pattern -> handler. Patterns are anchored regular
// expressions whose groups become `params`; later features (share links under /s/<id>,
// the web page) add routes without touching the dispatcher.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyBudget } from './body-budget.js';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  /** The client's address (for throttling and logs). */
  ip: string;
  /** The server's budget of body bytes in memory (readBody reserves from it). */
  budget: BodyBudget;
}

export type Handler = (ctx: Ctx) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export type Match = { handler: Handler; params: string[] } | { allowed: string[] } | null;

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: RegExp, handler: Handler): this {
    this.routes.push({ method, pattern, handler });
    return this;
  }

  /** The handler for a request, or the allowed methods when only the method is wrong. */
  match(method: string, path: string): Match {
    const allowed: string[] = [];
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET' && !this.has('HEAD', path))) {
        return { handler: r.handler, params: m.slice(1) };
      }
      allowed.push(r.method);
    }
    return allowed.length > 0 ? { allowed } : null;
  }

  private has(method: string, path: string): boolean {
    return this.routes.some((r) => r.method === method && r.pattern.test(path));
  }
}
