// The collector on a memory store, in-process, with real drive sessions (openVfs): what
// nothing names goes, what anything names stays; and the races of docs/design.md "What the
// collector may delete", each interleaved on purpose: a writer whose uploads are on the
// store but whose root is not (held at its compare-and-swap while the collector runs), a
// session whose base another device has since dropped (its lease keeps it), a second
// collector (refused), a dry run (changes nothing).
import test, { type ExecutionContext } from 'ava';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { collect, Collector, type GcDrive } from '../../src/drive/gc.js';
import type { Store } from '../../src/store/store.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import { resolveRoot } from '../../src/vfs/drive-meta.js';
import { openRoot } from '../../src/crypto/root.js';
import { nodePlatform } from '../../src/platform/node.js';
import { MemoryStore } from '../helpers/memory-store.js';

const MiB = 1 << 20;
const HOUR = 3600_000;

/** The same store through a door whose root swaps wait for `hold` once `armed`: a
 *  writer whose commit has not landed. */
function heldDoor(mem: MemoryStore) {
  const door = { hold: null as Promise<void> | null, armed: false, held: 0, store: null as unknown as Store };
  door.store = new Proxy(mem, {
    get(target, prop) {
      if (prop === 'casRoot') {
        return async (expected: string | null, bytes: Uint8Array) => {
          if (door.armed && door.hold) {
            door.held++;
            await door.hold;
          }
          return target.casRoot(expected, bytes);
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return door;
}

async function world(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'megafs-gc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mem = new MemoryStore();
  const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
  let n = 0;
  const open = (machine = `m${n++}`, o: { store?: Store; lease?: boolean; commitDelayMs?: number } = {}): Promise<VfsHandle> => openVfs({
    store: o.store ?? mem, keys, stateDir: join(dir, machine, 'state'), cacheDir: join(dir, machine, 'cache'), cacheSizeBytes: 1 << 30,
    deviceId: machine, log: () => undefined, commitDelayMs: o.commitDelayMs ?? 10, ...(o.lease ? { lease: true } : {}),
  });
  const drive: GcDrive = { store: mem, stores: [mem], keys };
  /** Every object was put two hours ago (past the grace). */
  const age = (): void => { for (const [id, ms] of mem.mtimes) mem.mtimes.set(id, ms - 2 * HOUR); };
  /** Every object the current root names, through all it keeps, is on the store. */
  const allNamedPresent = async (): Promise<string[]> => {
    const c = new Collector(drive, { dryRun: true, deviceIdHex: '0'.repeat(32), cacheDir: null });
    const root = openRoot(nodePlatform, keys, (await mem.getRoot())!.bytes);
    const { drive: d } = await resolveRoot(c.io, root.treeId);
    const named = await c.mark(d!, root.treeId, d!.sessions);
    return [...named].filter((id) => !mem.objects.has(id));
  };
  /** How many session records the current root holds. */
  const sessions = async (): Promise<number> => {
    const c = new Collector(drive, { dryRun: true, deviceIdHex: '0'.repeat(32), cacheDir: null });
    const { drive: d } = await resolveRoot(c.io, openRoot(nodePlatform, keys, (await mem.getRoot())!.bytes).treeId);
    return d?.sessions.length ?? 0;
  };
  return { mem, keys, open, drive, age, allNamedPresent, sessions, dir };
}

async function writeFile(v: VfsHandle, path: string, data: Uint8Array): Promise<void> {
  const fh = await v.create(path, 0o644, fsc.O_RDWR);
  await v.write(fh, data, 0);
  await v.release(fh);
}

async function readFile(v: VfsHandle, path: string, size: number): Promise<Buffer> {
  const fh = await v.open(path, fsc.O_RDONLY);
  const buf = Buffer.alloc(size + 1);
  let at = 0;
  for (;;) {
    const n = await v.read(fh, buf.subarray(at), buf.length - at, at);
    if (n === 0) break;
    at += n;
  }
  await v.release(fh);
  return buf.subarray(0, at);
}

const storedBytes = (m: MemoryStore): number => [...m.objects.values()].reduce((a, b) => a + b.length, 0);

test('gc: overwritten bytes go once no kept version names them; the rest reads on a fresh machine', async (t) => {
  const w = await world(t);
  const big = randomBytes(3 * MiB);
  const small = randomBytes(10_000);
  let v = await w.open('a');
  await writeFile(v, '/big.bin', big);
  await writeFile(v, '/small.bin', small);
  await v.close();
  // Rewritten in place (no truncate, so nothing goes to the bin): the old chunks are
  // named by the older versions only.
  const next = randomBytes(3 * MiB);
  v = await w.open('a');
  const fh = await v.open('/big.bin', fsc.O_WRONLY);
  await v.write(fh, next, 0);
  await v.release(fh);
  await v.close();
  w.age();
  const before = storedBytes(w.mem);

  // The policy keeps the versions of the last day: they name the old bytes, which stay.
  const kept = await collect(w.drive, { dryRun: false, deviceIdHex: '1'.repeat(32), cacheDir: null });
  t.true(storedBytes(w.mem) > before - MiB, 'a version of the last day still names the old bytes');
  t.true(kept.versions.kept >= 2);

  const dry = await collect(w.drive, { dryRun: true, deviceIdHex: '1'.repeat(32), cacheDir: null, forgetOlderThanMs: 0 });
  const rootBefore = await w.mem.getRoot();
  t.true(dry.stores[0].garbageBytes >= 3 * MiB, JSON.stringify(dry));
  t.is(dry.stores[0].deleted, 0);
  t.true(storedBytes(w.mem) > before - MiB, 'a dry run deletes nothing');
  t.deepEqual((await w.mem.getRoot())!.etag, rootBefore!.etag, 'a dry run writes no root');

  const r = await collect(w.drive, { dryRun: false, deviceIdHex: '1'.repeat(32), cacheDir: null, forgetOlderThanMs: 0 });
  t.is(r.versions.kept, 1);
  t.true(r.stores[0].deletedBytes >= 3 * MiB, JSON.stringify(r));
  t.true(storedBytes(w.mem) < before - 3 * MiB);
  t.deepEqual(await w.allNamedPresent(), []);
  const fresh = await w.open('fresh');
  t.deepEqual((await fresh.readdir('/')).map((e) => e.name).sort(), ['big.bin', 'small.bin']);
  t.true((await readFile(fresh, '/small.bin', small.length)).equals(small));
  t.true((await readFile(fresh, '/big.bin', next.length)).equals(next));
  await fresh.close();
  // Left to free: only the drive-level objects the collector's own swaps replaced.
  w.age();
  const again = await collect(w.drive, { dryRun: true, deviceIdHex: '1'.repeat(32), cacheDir: null, forgetOlderThanMs: 0 });
  t.true(again.stores[0].garbageBytes < 64 * 1024, JSON.stringify(again));
});

test('gc race: a writer\'s uploads are on the store but its root is not: the collector keeps them, the root lands whole', async (t) => {
  const w = await world(t);
  let v = await w.open('a');
  await writeFile(v, '/old.bin', randomBytes(2 * MiB));
  await v.close();
  w.age();
  // The writer: its commit is held at the swap, after its uploads and its announcement.
  const held = heldDoor(w.mem);
  let release!: () => void;
  held.hold = new Promise<void>((r) => { release = r; });
  v = await w.open('writer', { store: held.store, commitDelayMs: 600_000 });
  const data = randomBytes(3 * MiB);
  const chunks = (): number => [...w.mem.objects.values()].filter((b) => b.length >= MiB).length;
  const before = chunks();
  await writeFile(v, '/new.bin', data);
  // Its lease and its announcement have landed and its chunks are on the store; then its
  // commit reaches the swap and waits there.
  while (chunks() < before + 3) await new Promise((r) => setTimeout(r, 20));
  held.armed = true;
  const syncing = v.sync();
  while (held.held === 0) await new Promise((r) => setTimeout(r, 20));
  // No clock allowance: only the writer's pending record keeps what it uploaded.
  const r = await collect(w.drive, { dryRun: false, deviceIdHex: '1'.repeat(32), cacheDir: null, forgetOlderThanMs: 0, clockAllowanceMs: 0 });
  t.true(r.stores[0].young >= 3, `the writer's chunks are kept by its pending record: ${JSON.stringify(r)}`);
  release();
  await syncing;
  await v.close();
  t.deepEqual(await w.allNamedPresent(), []);
  const fresh = await w.open('fresh');
  t.true((await readFile(fresh, '/new.bin', data.length)).equals(data));
  await fresh.close();
});

test('gc race: a session holding a lease on a base another device has since dropped: its base is kept, its change lands whole', async (t) => {
  const w = await world(t);
  const data = randomBytes(3 * MiB);
  let v = await w.open('a');
  await writeFile(v, '/f.bin', data);
  await v.close();
  // A mount on machine b (a lease on the base naming f.bin).
  const mount = await w.open('b', { lease: true });
  await mount.readdir('/');
  for (let i = 0; i < 200 && (await w.sessions()) === 0; i++) await new Promise((r) => setTimeout(r, 20)); // the lease's swap
  t.is(await w.sessions(), 1);
  // Machine a removes f.bin; then the collector forgets every older version.
  v = await w.open('a');
  await v.unlink('/f.bin');
  await v.binEmpty!(() => true); // only the mount's base names it now
  await v.close();
  w.age();
  const r = await collect(w.drive, { dryRun: false, deviceIdHex: '1'.repeat(32), cacheDir: null, forgetOlderThanMs: 0 });
  t.is(r.sessions.live, 1, JSON.stringify(r));
  // The mount still has f.bin (it has not merged): it changes one byte of it and commits.
  const fh = await mount.open('/f.bin', fsc.O_RDWR);
  await mount.write(fh, new Uint8Array([1]), 5);
  await mount.release(fh);
  await mount.sync();
  await mount.close();
  t.deepEqual(await w.allNamedPresent(), []);
  const fresh = await w.open('fresh');
  const names = (await fresh.readdir('/')).map((e) => e.name);
  t.is(names.length, 1, names.join(','));
  const got = await readFile(fresh, `/${names[0]}`, data.length);
  const want = Buffer.from(data);
  want[5] = 1;
  t.true(got.equals(want), 'every chunk of the changed file is on the store');
  await fresh.close();
});

test('gc: a second collector while one holds the lock is refused (E_LOCKED); the lock goes with the first', async (t) => {
  const w = await world(t);
  const v = await w.open('a');
  await writeFile(v, '/x', randomBytes(1000));
  await v.close();
  let second: unknown = null;
  await collect(w.drive, {
    dryRun: false, deviceIdHex: '1'.repeat(32), cacheDir: null,
    hooks: { afterList: async () => { second = await collect(w.drive, { dryRun: false, deviceIdHex: '2'.repeat(32), cacheDir: null }).catch((e: unknown) => e); } },
  });
  t.is((second as { code?: string }).code, 'E_LOCKED');
  t.regex((second as Error).message, /another megafs gc \(device 11111111\)/);
  const after = await collect(w.drive, { dryRun: false, deviceIdHex: '2'.repeat(32), cacheDir: null });
  t.truthy(after.rootVersion);
});
