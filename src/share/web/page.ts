// The share page script: reads the key from the URL fragment (never sent to the server),
// fetches and opens the manifest with the same code as `megafs get` (the @noble
// platform), asks for the password when the link has one, and saves files by streaming
// them through the Service Worker (sw.ts). Without a Service Worker it falls back to a
// Blob grown chunk by chunk (the browser may keep it on disk; said in docs/design.md).
import { noblePlatform } from '../../crypto/noble.js';
import { toHex } from '../../format/bytes.js';
import { MegafsError } from '../../errors.js';
import { parseLink, type ShareLink as Link } from '../../format/link.js';
import { fetchManifest, fileChunks, openLink } from '../fetch.js';
import { entrySize, walkFiles, type Manifest, type ManifestFile } from '../manifest.js';
import type { DownloadJob } from './sw.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function setStatus(text: string, isError = false): void {
  const s = $('status');
  s.textContent = text;
  s.className = isError ? 'error' : '';
}

export function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${bytes} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

let worker: Promise<ServiceWorker | null> | null = null;

/** The active download worker, or null where Service Workers are unavailable. */
function downloadWorker(): Promise<ServiceWorker | null> {
  worker ??= (async () => {
    if (!('serviceWorker' in navigator)) return null;
    try {
      const reg = await navigator.serviceWorker.register('/s-assets/sw.js', { scope: '/s-assets/' });
      const w = reg.active ?? reg.installing ?? reg.waiting;
      if (!w) return null;
      if (w.state !== 'activated') {
        await new Promise<void>((resolve) => w.addEventListener('statechange', () => { if (w.state === 'activated') resolve(); }));
      }
      return w;
    } catch {
      return null;
    }
  })();
  return worker;
}

async function saveViaWorker(w: ServiceWorker, link: Link, file: ManifestFile, row: HTMLElement): Promise<void> {
  const token = toHex(crypto.getRandomValues(new Uint8Array(16)));
  const channel = new MessageChannel();
  const ready = new Promise<void>((resolve) => { channel.port1.onmessage = () => resolve(); });
  const job: DownloadJob = { type: 'job', token, base: link.base, id: link.id, file };
  w.postMessage(job, [channel.port2]);
  await ready;
  channel.port1.onmessage = (e: MessageEvent<{ type: string; doneBytes?: number; message?: string }>) => {
    const m = e.data;
    if (m.type === 'progress') row.dataset.state = `${Math.floor((100 * m.doneBytes!) / Math.max(1, file.size))}%`;
    if (m.type === 'done') row.dataset.state = 'saved';
    if (m.type === 'error') { row.dataset.state = 'error'; setStatus(m.message ?? 'download failed', true); }
  };
  // A navigation inside a hidden frame goes through the worker, which answers with an
  // attachment: the browser saves it as a download, streamed.
  const frame = document.createElement('iframe');
  frame.hidden = true;
  frame.src = `/s-assets/dl/${token}/${encodeURIComponent(file.name)}`;
  document.body.append(frame);
  setTimeout(() => frame.remove(), 60 * 60_000);
}

async function saveViaBlob(link: Link, file: ManifestFile, row: HTMLElement): Promise<void> {
  let blob = new Blob([]);
  for await (const chunk of fileChunks(noblePlatform, link, file)) blob = new Blob([blob, chunk as BlobPart]);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = file.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  row.dataset.state = 'saved';
}

async function save(link: Link, file: ManifestFile, row: HTMLElement): Promise<void> {
  try {
    const w = await downloadWorker();
    await (w ? saveViaWorker(w, link, file, row) : saveViaBlob(link, file, row));
  } catch (e) {
    row.dataset.state = 'error';
    setStatus((e as Error).message, true);
  }
}

function show(link: Link, m: Manifest): void {
  setStatus(m.root.kind === 'folder' ? 'Shared folder' : 'Shared file');
  $('name').textContent = m.root.name;
  $('size').textContent = formatSize(entrySize(m.root));
  const list = $('entries');
  for (const { path, file } of walkFiles(m.root)) {
    const row = document.createElement('li');
    row.dataset.path = path;
    const label = document.createElement('span');
    // Names come from the sharer: text only, never HTML.
    label.textContent = `${m.root.kind === 'folder' ? path.slice(m.root.name.length + 1) : path} (${formatSize(file.size)})`;
    const button = document.createElement('button');
    button.textContent = 'Download';
    button.addEventListener('click', () => { void save(link, file, row); });
    row.append(label, button);
    list.append(row);
  }
  $('content').hidden = false;
  void downloadWorker();
}

function askPassword(link: Link, sealed: Uint8Array): void {
  setStatus('This link is protected by a password.');
  const form = $<HTMLFormElement>('password-form');
  form.hidden = false;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('password-error').hidden = true;
    setStatus('Checking the password…');
    openLink(noblePlatform, link, sealed, $<HTMLInputElement>('password').value).then((m) => {
      form.hidden = true;
      show(link, m);
    }, (e: unknown) => {
      if (e instanceof MegafsError && e.code === 'E_BAD_PASSWORD') { $('password-error').hidden = false; setStatus('This link is protected by a password.'); }
      else setStatus((e as Error).message, true);
    });
  });
}

async function start(): Promise<void> {
  let link: Link;
  try {
    link = parseLink(location.href);
  } catch (e) {
    setStatus((e as Error).message, true);
    return;
  }
  try {
    const sealed = await fetchManifest(link);
    if (link.passwordKdf) { askPassword(link, sealed); return; }
    show(link, await openLink(noblePlatform, link, sealed));
  } catch (e) {
    const reason = (e as { reason?: string | null }).reason;
    setStatus((e as Error).message, true);
    if (reason) $('status').dataset.reason = reason;
  }
}

void start();
