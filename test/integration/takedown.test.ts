// Take-downs and the public share routes at the HTTP level: the admin API (token needed,
// PUT/GET/DELETE), 451 with the reason on the manifest, the objects and the page, the
// owner's routes refusing other accounts, and the per-IP rate limit on unknown links.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePlatform } from '../../src/platform/node.js';
import { createShare, type CreatedShare } from '../../src/share/create.js';
import { parseLink } from '../../src/format/link.js';
import { httpShareApi } from '../../src/share/api.js';
import { bearer } from '../../src/store/http-client.js';
import { newUser, startTestServer } from '../helpers/server.js';
import { ADMIN_TOKEN, openTestDrive, startShareEnv, type ShareEnv, type TestDrive } from '../helpers/share.js';
import { shareRoutes } from '../../src/server/shares/routes.js';

let env: ShareEnv;
let drive: TestDrive;

test.before(async () => {
  env = await startShareEnv();
  drive = await openTestDrive(env);
  await drive.write('/f.txt', new TextEncoder().encode('some file'));
});

test.after.always(async () => {
  await drive?.close();
  await env.close();
});

const share = (): Promise<CreatedShare> => createShare(nodePlatform, drive.vfs, env.store, env.api, '/f.txt');
const admin = (method: string, path: string, body?: unknown, token = ADMIN_TOKEN) =>
  fetch(`${env.server.url}${path}`, { method, headers: { Authorization: `Bearer ${token}` }, body: body ? JSON.stringify(body) : undefined });

test('the admin API takes a share down, lists it, and restores it', async (t) => {
  const s = await share();
  const id = s.record.id;
  const objectId = s.entry.kind === 'file' ? s.entry.chunks[0]! : '';
  t.is((await admin('PUT', `/v1/admin/takedowns/${id}`, { reason: 'notice <b>42</b>' })).status, 200);

  const m = await fetch(`${env.server.url}/v1/s/${id}/manifest`);
  t.is(m.status, 451);
  const body = await m.json() as { error: { code: string; reason: string; state: string } };
  t.is(body.error.code, 'E_TAKEN_DOWN');
  t.is(body.error.reason, 'notice <b>42</b>');
  t.is((await fetch(`${env.server.url}/v1/s/${id}/objects/${objectId}`)).status, 451);
  const page = await fetch(`${env.server.url}/s/${id}`);
  t.is(page.status, 451);
  const html = await page.text();
  t.true(html.includes('notice &#60;b&#62;42&#60;/b&#62;'), 'the reason is escaped');
  t.false(html.includes('<script'));

  const list = await (await admin('GET', '/v1/admin/takedowns')).json() as { takedowns: { id: string; reason: string; objectBytes: number }[] };
  const row = list.takedowns.find((r) => r.id === id);
  t.is(row?.reason, 'notice <b>42</b>');
  t.true(row!.objectBytes > 0);

  t.is((await admin('DELETE', `/v1/admin/takedowns/${id}`)).status, 204);
  t.is((await fetch(`${env.server.url}/v1/s/${id}/manifest`)).status, 200);
});

test('the admin API needs the token; a server without one has no admin API', async (t) => {
  const s = await share();
  t.is((await admin('PUT', `/v1/admin/takedowns/${s.record.id}`, { reason: 'x' }, 'wrong')).status, 401);
  t.is((await fetch(`${env.server.url}/v1/admin/takedowns`)).status, 401);
  t.is((await admin('PUT', `/v1/admin/takedowns/${s.record.id}`, {})).status, 400);
  const dataDir = await mkdtemp(join(tmpdir(), 'megafs-no-admin-'));
  const plain = await startTestServer({ dataDir, routes: shareRoutes({ dataDir }) });
  t.teardown(async () => { await plain.close(); await rm(dataDir, { recursive: true, force: true }); });
  t.is((await fetch(`${plain.url}/v1/admin/takedowns`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 403);
});

test('a live share page is served with a strict CSP and no referrer', async (t) => {
  const s = await share();
  const res = await fetch(`${env.server.url}/s/${s.record.id}`);
  t.is(res.status, 200);
  const csp = res.headers.get('content-security-policy') ?? '';
  t.regex(csp, /default-src 'none'/);
  t.regex(csp, /script-src 'self'/);
  t.false(csp.includes('unsafe'));
  t.is(res.headers.get('referrer-policy'), 'no-referrer');
  const js = await fetch(`${env.server.url}/s-assets/page.js`);
  t.is(js.status, 200);
  t.false(/https?:\/\/(?!www\.w3\.org)[a-z]/i.test(await js.text()), 'the bundle names no other origin');
});

test('owners see and revoke only their own shares', async (t) => {
  const s = await share();
  const other = await newUser(env.server.url);
  const api = httpShareApi(env.server.url, bearer(other.user, other.authSecret));
  t.false((await api.list()).some((r) => r.id === s.record.id));
  await t.throwsAsync(api.revoke(s.record.id), { code: 'E_NOT_FOUND' });
  // Another account may not put my objects in its share.
  const objects = s.entry.kind === 'file' ? s.entry.chunks.filter((c): c is string => c !== null) : [];
  await t.throwsAsync(api.create(parseLink(s.link).id.replace(/^./, 'Z'), new Uint8Array(100), objects, null), { code: 'E_NOT_FOUND' });
  t.is((await fetch(`${env.server.url}/v1/s/${s.record.id}/manifest`)).status, 200);
});

test('unknown links are rate-limited per IP', async (t) => {
  // Its own server: the other tests share this IP (127.0.0.1).
  const dataDir = await mkdtemp(join(tmpdir(), 'megafs-misses-'));
  const server = await startTestServer({ dataDir, routes: shareRoutes({ dataDir }) });
  t.teardown(async () => { await server.close(); await rm(dataDir, { recursive: true, force: true }); });
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) {
    const id = `${i.toString().padStart(21, 'x')}A`;
    statuses.push((await fetch(`${server.url}/v1/s/${id}/manifest`)).status);
  }
  t.is(statuses[0], 404);
  t.true(statuses.includes(429));
  t.is(statuses.at(-1), 429);
});
