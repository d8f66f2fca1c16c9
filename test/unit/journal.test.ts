// Crash recovery: a child process writes and closes files (and truncates by path), then
// is killed with SIGKILL
// before any commit; the next open replays the journal, finds the data, and uploads it
// so that another machine sees it too.
import test from 'ava';
import { spawn } from 'node:child_process';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { FsStore } from '../../src/store/fs.js';
import { openVfs } from '../../src/vfs/index.js';

const dist = resolve(import.meta.dirname, '../..');

const CHILD = `
import { openVfs } from ${JSON.stringify(join(dist, 'src/vfs/index.js'))};
import { FsStore } from ${JSON.stringify(join(dist, 'src/store/fs.js'))};
import { deriveDriveKeys } from ${JSON.stringify(join(dist, 'src/crypto/keys.js'))};
const e = process.env;
const keys = deriveDriveKeys(Buffer.from(e.MK, 'hex'), Buffer.from(e.DID, 'hex'));
const store = await FsStore.open(e.STORE);
const v = await openVfs({ store, keys, stateDir: e.STATE, cacheDir: e.CACHE, cacheSizeBytes: 1 << 30, deviceId: 'child', commitDelayMs: 1e9, log: () => {} });
await v.mkdir('/dir', 0o755);
const fh = await v.create('/dir/data.bin', 0o644, 1);
const data = Buffer.alloc(3 * 1024 * 1024 + 5, 0x5a);
await v.write(fh, data, 0);
await v.flush(fh);
await v.release(fh);
await v.rename('/dir/data.bin', '/dir/moved.bin');
const fh2 = await v.create('/small', 0o600, 1);
await v.write(fh2, Buffer.from('tiny'), 0);
await v.release(fh2);
const fh3 = await v.create('/cut', 0o644, 1);
await v.write(fh3, Buffer.alloc(2 * 1024 * 1024, 7), 0);
await v.release(fh3);
await v.truncate('/cut', 1000); // truncate(2) by path: no close follows
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);
`;

test('journal: what was closed survives SIGKILL and goes up on the next start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-journal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mk = randomBytes(32);
  const did = randomBytes(16);
  const env = { ...process.env, MK: mk.toString('hex'), DID: did.toString('hex'), STORE: join(dir, 'store'), STATE: join(dir, 'state'), CACHE: join(dir, 'cache') };
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    child.stdout.on('data', (b: Buffer) => { if (b.toString().includes('ready')) ok(); });
    child.on('exit', (code) => fail(new Error(`child exited ${code}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));

  const keys = deriveDriveKeys(mk, did);
  const store = await FsStore.open(env.STORE);
  const v = await openVfs({ store, keys, stateDir: env.STATE, cacheDir: env.CACHE, cacheSizeBytes: 1 << 30, deviceId: 'child', log: () => undefined, commitDelayMs: 10 });
  t.is((await v.getattr('/dir/moved.bin')).size, 3 * 1024 * 1024 + 5);
  t.is((await v.getattr('/cut')).size, 1000, 'a truncate by path survives the kill');
  const buf = new Uint8Array(10);
  const fh = await v.open('/dir/moved.bin', fsc.O_RDONLY);
  t.is(await v.read(fh, buf, 10, 3 * 1024 * 1024 - 5), 10);
  t.true(buf.every((b) => b === 0x5a));
  await v.release(fh);
  t.is((await v.getattr('/small')).size, 4);
  await v.close();

  const other = await openVfs({ store, keys, stateDir: join(dir, 'state2'), cacheDir: join(dir, 'cache2'), cacheSizeBytes: 1 << 30, deviceId: 'other', log: () => undefined });
  const fh2 = await other.open('/small', fsc.O_RDONLY);
  t.is(await other.read(fh2, buf, 10, 0), 4);
  t.is(new TextDecoder().decode(buf.subarray(0, 4)), 'tiny');
  await other.release(fh2);
  t.is((await other.getattr('/dir/moved.bin')).size, 3 * 1024 * 1024 + 5);
  await other.close();
});
