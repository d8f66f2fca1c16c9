// The web page of a link: GET /s/ID answers HTML (with the share's state as the HTTP
// status: 451 and the operator's reason for a take-down, 410 revoked/expired, 404), and
// /s-assets/ serves the page script, its Service Worker and the stylesheet. Strict CSP:
// only this origin, no inline script, no third-party requests, no referrer.
import type { ServerResponse } from 'node:http';
import type { Ctx, Router } from '../router.js';
import { bundle } from './bundle.js';
import type { ShareDb, ShareRow } from './db.js';
import { ShareUnavailable, STATUS_FOR_STATE } from './errors.js';
import { PAGE_CSS, pageHtml, statusHtml } from './html.js';

const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self'",
  "worker-src 'self'", "frame-src 'self'", "form-action 'none'", "base-uri 'none'", "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function sendText(res: ServerResponse, status: number, type: string, text: string, extra: Record<string, string> = {}): void {
  const bytes = Buffer.from(text);
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': bytes.length, ...extra });
  res.end(bytes);
}

export function registerWebRoutes(
  router: Router, _shares: ShareDb,
  pub: (h: (ctx: Ctx) => Promise<void> | void) => (ctx: Ctx) => Promise<void>,
  live: (ctx: Ctx, id: string) => ShareRow,
): void {
  router.add('GET', /^\/s\/([A-Za-z0-9_-]{1,64})\/?$/, async (ctx) => {
    try {
      live(ctx, ctx.params[0]);
    } catch (e) {
      if (!(e instanceof ShareUnavailable)) throw e;
      sendText(ctx.res, STATUS_FOR_STATE[e.state], 'text/html; charset=utf-8', statusHtml(e.state, e.reason));
      return;
    }
    sendText(ctx.res, 200, 'text/html; charset=utf-8', pageHtml());
  });
  router.add('GET', /^\/s-assets\/page\.js$/, pub(async (ctx) => {
    sendText(ctx.res, 200, 'text/javascript; charset=utf-8', await bundle('page'));
  }));
  // The worker's scope is /s-assets/: it serves only the download stream URLs under it.
  router.add('GET', /^\/s-assets\/sw\.js$/, pub(async (ctx) => {
    sendText(ctx.res, 200, 'text/javascript; charset=utf-8', await bundle('sw'));
  }));
  router.add('GET', /^\/s-assets\/page\.css$/, (ctx) => {
    sendText(ctx.res, 200, 'text/css; charset=utf-8', PAGE_CSS);
  });
}
