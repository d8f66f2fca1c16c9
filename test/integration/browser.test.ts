// The share page in a real browser (Debian's chromium, headless): it opens a link from a
// real `megafs serve`, decrypts in the page and saves files through the Service Worker
// stream; passwords, folders, a 30 MiB file byte-exact, a 200 MiB file, a take-down; and
// the request log shows that no request ever carried the link secret. Links point into
// the chunks of a drive on the server's account (shares without a copy).
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { nodePlatform } from '../../src/platform/node.js';
import { createShare } from '../../src/share/create.js';
import { parseLink, toBase64Url } from '../../src/format/link.js';
import { toHex } from '../../src/format/bytes.js';
import { ShareDb } from '../../src/server/shares/db.js';
import { launchBrowser, startRecordingProxy, type RecordingProxy, type TestBrowser } from '../helpers/browser.js';
import { openTestDrive, startShareEnv, type ShareEnv, type TestDrive } from '../helpers/share.js';

let env: ShareEnv;
let drive: TestDrive;
let proxy: RecordingProxy;
let browser: TestBrowser;
let src: string;
const secrets: string[] = [];

test.before(async () => {
  env = await startShareEnv();
  proxy = await startRecordingProxy(env.server.url);
  browser = await launchBrowser();
  src = await mkdtemp(join(tmpdir(), 'megafs-browser-src-'));
  await writeFile(join(src, 'hello.txt'), 'hello from megafs\n');
  await writeFile(join(src, 'photo.bin'), randomBytes(2 * (1 << 20) + 777));
  await mkdir(join(src, 'album/inner'), { recursive: true });
  await writeFile(join(src, 'album/one.txt'), 'one');
  await writeFile(join(src, 'album/inner/two.bin'), randomBytes(1 << 20));
  drive = await openTestDrive(env);
  await drive.copyIn(src);
});

test.after.always(async () => {
  await browser?.close();
  await proxy?.close();
  await drive?.close();
  await env?.close();
  await rm(src, { recursive: true, force: true });
});

async function shareLink(path: string, o = {}): Promise<string> {
  const s = await createShare(nodePlatform, drive.vfs, env.store, env.api, path, o);
  const l = parseLink(s.link);
  secrets.push(toBase64Url(l.secret), toHex(l.secret));
  // The browser talks to the server through the recording proxy.
  return s.link.replace(env.server.url, proxy.url);
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Click the Download button of the row for `path` and return the saved file's path. */
async function download(page: Page, rowPath: string): Promise<string> {
  const [d] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.locator(`li[data-path="${rowPath}"] button`).click(),
  ]);
  const failure = await d.failure();
  if (failure) throw new Error(`download failed: ${failure}`);
  return (await d.path())!;
}

test.serial('the page\'s crypto passes the link and chunk vectors in the browser', async (t) => {
  const entry = fileURLToPath(new URL('../helpers/browser-vectors.js', import.meta.url));
  const out = await build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', logLevel: 'silent' });
  const vectorsDir = fileURLToPath(new URL('../../../test/vectors/', import.meta.url));
  const vectors = {
    links: JSON.parse(await readFile(join(vectorsDir, 'links.json'), 'utf8')) as unknown,
    chunks: JSON.parse(await readFile(join(vectorsDir, 'chunks.json'), 'utf8')) as unknown,
  };
  const page = await browser.context.newPage();
  await page.addScriptTag({ content: out.outputFiles[0].text });
  const r = await page.evaluate((v) => (globalThis as unknown as { megafsVectors: (v: unknown) => Promise<{ passed: number; failed: string[] }> }).megafsVectors(v), vectors);
  t.deepEqual(r.failed, []);
  t.true(r.passed > 20);
  await page.close();
});

test.serial('a file link downloads and decrypts in the page', async (t) => {
  const page = await browser.context.newPage();
  await page.goto(await shareLink('/photo.bin'));
  await page.locator('#content:not([hidden])').waitFor();
  t.is(await page.locator('#name').textContent(), 'photo.bin');
  t.is(await page.locator('#size').textContent(), '2.0 MiB');
  const saved = await download(page, 'photo.bin');
  t.true((await readFile(saved)).equals(await readFile(join(src, 'photo.bin'))));
  await page.close();
});

test.serial('a 30 MiB file downloads byte-exact in the page', async (t) => {
  const data = randomBytes(30 * (1 << 20));
  await writeFile(join(src, 'thirty.bin'), data);
  await drive.write('/thirty.bin', data);
  const page = await browser.context.newPage();
  await page.goto(await shareLink('/thirty.bin'));
  await page.locator('#content:not([hidden])').waitFor();
  t.is(await page.locator('#size').textContent(), '30.0 MiB');
  t.is(await sha256File(await download(page, 'thirty.bin')), await sha256File(join(src, 'thirty.bin')));
  await page.close();
});

test.serial('a password link asks for the password', async (t) => {
  const page = await browser.context.newPage();
  await page.goto(await shareLink('/hello.txt', { password: 'open sesame', passwordKdf: { memLog2: 10, passes: 1 } }));
  await page.locator('#password-form:not([hidden])').waitFor();
  await page.fill('#password', 'wrong');
  await page.click('#password-ok');
  await page.locator('#password-error:not([hidden])').waitFor();
  await page.fill('#password', 'open sesame');
  await page.click('#password-ok');
  await page.locator('#content:not([hidden])').waitFor();
  const saved = await download(page, 'hello.txt');
  t.is(await readFile(saved, 'utf8'), 'hello from megafs\n');
  await page.close();
});

test.serial('a folder link lists its files, each downloadable', async (t) => {
  const page = await browser.context.newPage();
  await page.goto(await shareLink('/album'));
  await page.locator('#content:not([hidden])').waitFor();
  t.is(await page.locator('#name').textContent(), 'album');
  t.deepEqual((await page.locator('#entries li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.path))).sort(),
    ['album/inner/two.bin', 'album/one.txt']);
  t.is(await readFile(await download(page, 'album/one.txt'), 'utf8'), 'one');
  t.true((await readFile(await download(page, 'album/inner/two.bin'))).equals(await readFile(join(src, 'album/inner/two.bin'))));
  await page.close();
});

test.serial('a 200 MiB file is streamed to disk', async (t) => {
  const size = 200 * (1 << 20);
  const fh = await open(join(src, 'huge.bin'), 'w');
  const block = randomBytes(1 << 20);
  for (let i = 0; i < 200; i++) { block[0] = i; await fh.write(block); }
  await fh.close();
  await drive.write('/huge.bin', await readFile(join(src, 'huge.bin')));
  const link = await shareLink('/huge.bin');
  const page = await browser.context.newPage();
  await page.goto(link);
  await page.locator('#content:not([hidden])').waitFor();
  const before = await browser.rssBytes();
  let peak = before;
  const peaks = new Map<string, number>();
  /** Sizes of the partial download file seen on disk while the download ran. */
  const partial: number[] = [];
  const sampler = setInterval(() => {
    void readdir(browser.downloadsDir).then(async (names) => {
      for (const n of names) partial.push((await stat(join(browser.downloadsDir, n)).catch(() => ({ size: 0 }))).size);
    });
    void browser.processes().then((ps) => {
      peak = Math.max(peak, ps.reduce((n, p) => n + p.rssBytes, 0));
      for (const p of ps) peaks.set(`${p.type}:${p.pid}`, Math.max(peaks.get(`${p.type}:${p.pid}`) ?? 0, p.rssBytes));
    });
  }, 100);
  const saved = await download(page, 'huge.bin');
  clearInterval(sampler);
  t.log([...peaks].map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(0)} MiB`).join(', '));
  t.is(await sha256File(saved), await sha256File(join(src, 'huge.bin')));
  t.log(`browser RSS before ${(before / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB for a ${size / 2 ** 20} MiB file`);
  // Streaming: the file reached the disk bit by bit while the download ran (a Blob would
  // appear whole at the end), and the browser's memory is bounded (measured in
  // docs/design.md: it does not grow with the file's size).
  t.true(partial.some((n) => n > 0 && n < size / 2), `partial sizes seen: ${partial.slice(0, 20).join(', ')}`);
  await page.close();
});

test.serial('a tampered chunk fails the download in the page; no wrong bytes are saved', async (t) => {
  await drive.write('/victim.bin', randomBytes(300_000));
  const s = await createShare(nodePlatform, drive.vfs, env.store, env.api, '/victim.bin');
  secrets.push(toBase64Url(parseLink(s.link).secret));
  const chunk = s.entry.kind === 'file' ? s.entry.chunks[0]! : '';
  const names = await readdir(join(env.server.dataDir, 'accounts'), { recursive: true });
  const path = join(env.server.dataDir, 'accounts', names.find((n) => n.endsWith(chunk))!);
  const bytes = await readFile(path);
  bytes[100] ^= 1;
  await writeFile(path, bytes);
  const page = await browser.context.newPage();
  await page.goto(s.link.replace(env.server.url, proxy.url));
  await page.locator('#content:not([hidden])').waitFor();
  const [d] = await Promise.all([page.waitForEvent('download'), page.locator('li[data-path="victim.bin"] button').click()]);
  t.truthy(await d.failure());
  await page.locator('li[data-state="error"]').waitFor();
  t.regex(await page.locator('#status').textContent() ?? '', /does not match/);
  await page.close();
});

test.serial('a taken-down link shows the 451 reason', async (t) => {
  const link = await shareLink('/hello.txt');
  const db = new ShareDb(join(env.server.dataDir, 'accounts.db'));
  db.takedown(parseLink(link).id, 'court order 2026/17');
  db.close();
  const page = await browser.context.newPage();
  const res = await page.goto(link);
  t.is(res?.status(), 451);
  t.is(await page.locator('#reason-text').textContent(), 'court order 2026/17');
  await page.close();
});

test.serial('no request carried a link secret, and the page made no third-party request', async (t) => {
  t.true(proxy.requests.length > 10);
  for (const r of proxy.requests) {
    const text = `${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n${r.body.toString('latin1')}`;
    for (const s of secrets) t.false(text.includes(s), `${r.method} ${r.url} carried a secret`);
  }
  t.true(proxy.requests.every((r) => !/^https?:/.test(r.url)));
});
