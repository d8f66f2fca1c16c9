// The HTML of the share page. The live page is a shell that /s-assets/page.js fills in;
// a link that cannot be served gets a static page saying why (no script at all).

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function doc(title: string, body: string, script: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/s-assets/page.css">
${script ? '<script src="/s-assets/page.js" defer></script>' : ''}
</head><body><main>
<h1>megafs</h1>
${body}
</main></body></html>
`;
}

export function pageHtml(): string {
  return doc('megafs shared link', `
<p id="status" role="status">Opening the link…</p>
<form id="password-form" hidden>
  <label for="password">This link needs a password</label>
  <input id="password" type="password" autocomplete="off">
  <button id="password-ok" type="submit">Open</button>
  <p id="password-error" class="error" hidden>Wrong password</p>
</form>
<section id="content" hidden>
  <h2 id="name"></h2>
  <p id="size"></p>
  <ul id="entries"></ul>
</section>
<noscript>This page decrypts the file in your browser and needs JavaScript.</noscript>
<p class="note">The key is in the part of the link after #, which your browser never sends. The server cannot read this file.</p>`, true);
}

export function statusHtml(state: 'missing' | 'revoked' | 'expired' | 'taken-down', reason?: string): string {
  const text = {
    missing: 'There is no such link.',
    revoked: 'This link was revoked by its owner.',
    expired: 'This link has expired.',
    'taken-down': 'This link was taken down by the operator of this server.',
  }[state];
  const why = state === 'taken-down' ? `<p id="reason">Reason: <span id="reason-text">${escapeHtml(reason ?? '')}</span></p>` : '';
  return doc('megafs: link unavailable', `<p id="status" class="error" data-state="${state}">${text}</p>${why}`, false);
}

export const PAGE_CSS = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f6f6; color: #222; }
main { max-width: 42rem; margin: 3rem auto; padding: 1.5rem 2rem; background: #fff; border-radius: 8px; }
h1 { font-size: 1.1rem; color: #777; margin: 0 0 1rem; }
.error { color: #b00020; }
.note { color: #777; font-size: 0.85rem; margin-top: 2rem; }
ul { list-style: none; padding: 0; }
li { display: flex; justify-content: space-between; gap: 1rem; padding: 0.3rem 0; border-bottom: 1px solid #eee; }
button { font: inherit; padding: 0.3rem 0.9rem; }
progress { width: 100%; }
`;
