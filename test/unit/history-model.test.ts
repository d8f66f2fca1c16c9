// A model-based test of the drive's history with two devices on one store: random
// writes, overwrites, deletes, bin restores and empties, shares and unshares, syncs,
// crashes (a device killed and started again from its journal) and collector runs,
// interleaved on both devices. After every step: every file of every kept version
// and every bin entry reads back, byte-exactly as one of the contents that path was
// given; every live share gives exactly the bytes it was made of; each device reads its
// own files as the model says. At the end, after both devices closed, the bin was emptied
// and a collection forgot every old version: the store holds no chunk or directory that
// nothing names (only the drive-level objects the collector's own swaps replaced).
import test from 'ava';
import { constants as fsc } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { deriveDriveKeys } from '../../src/crypto/keys.js';
import { collect, Collector } from '../../src/drive/gc.js';
import { entryBytes } from '../../src/drive/entry-reader.js';
import { driveTreeIo, readNow } from '../../src/drive/history.js';
import { allPurged, allShares, allTrash } from '../../src/vfs/drive-meta.js';
import { ENTRY_DIR, ENTRY_FILE, type TreeEntry } from '../../src/format/tree.js';
import { binPath } from '../../src/vfs/bin.js';
import { toHex } from '../../src/format/bytes.js';
import { openVfs, type VfsHandle } from '../../src/vfs/index.js';
import type { TreeIo } from '../../src/vfs/tree-io.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { readWhole } from '../helpers/vfs-read.js';

type Dev = 0 | 1;
type Action =
  | { k: 'write'; dev: Dev; file: number; size: number }
  | { k: 'unlink'; dev: Dev; file: number }
  | { k: 'restore'; dev: Dev }
  | { k: 'empty'; dev: Dev }
  | { k: 'sync'; dev: Dev }
  | { k: 'crash'; dev: Dev }
  | { k: 'gc'; forget: boolean }
  | { k: 'share'; dev: Dev; file: number }
  | { k: 'unshare'; dev: Dev };

const dev = fc.constantFrom<Dev>(0, 1);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('write' as const), dev, file: fc.nat(3), size: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 2_300_000 })) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('unlink' as const), dev, file: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('restore' as const), dev }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('empty' as const), dev }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('sync' as const), dev }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('crash' as const), dev }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('gc' as const), forget: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('share' as const), dev, file: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('unshare' as const), dev }) },
);

const pathOf = (d: Dev, file: number): string => `/d${d}/f${file}`;

async function bytesOf(io: TreeIo, fetch: (id: string) => Promise<Uint8Array>, e: TreeEntry): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of entryBytes(io, fetch, e, e.name)) parts.push(p);
  return Buffer.concat(parts);
}

test('history model: two devices, writes, deletes, restores, shares, crashes and collections; every kept version, bin entry and share reads back', async (t) => {
  t.timeout(240_000);
  let run = 0;
  let collections = 0;
  let checkedFiles = 0;
  let checkedShares = 0;
  await fc.assert(fc.asyncProperty(fc.array(action, { minLength: 6, maxLength: 24 }), async (actions) => {
    run++;
    const dir = await mkdtemp(join(tmpdir(), 'megafs-history-model-'));
    const mem = new MemoryStore();
    const keys = deriveDriveKeys(randomBytes(32), randomBytes(16));
    const drive = { store: mem, stores: [mem], keys };
    const open = (d: Dev): Promise<VfsHandle> => openVfs({
      store: mem, keys, stateDir: join(dir, `dev${d}`, 'state'), cacheDir: join(dir, `dev${d}`, 'cache'), cacheSizeBytes: 1 << 30,
      deviceId: `dev${d}`, log: () => undefined, commitDelayMs: 5, lease: true, // each device is a mount
    });
    // Every content each path was ever given (unique bytes per write), and what each
    // device's own files hold now.
    const given = new Map<string, Buffer[]>();
    const live = new Map<string, Buffer>();
    // Live shares: what each link must give, exactly (the file as it was shared).
    const shared = new Map<string, { dev: Dev; bytes: Buffer }>();
    const vs: VfsHandle[] = [];
    try {
      vs[0] = await open(0);
      await vs[0].mkdir('/d0', 0o755);
      await vs[0].mkdir('/d1', 0o755);
      await vs[0].sync();
      vs[1] = await open(1);

      const verify = async (when: string): Promise<void> => {
        const io = driveTreeIo(drive, (id) => mem.get(id));
        const fetch = (id: string) => mem.get(id);
        const now = (await readNow(drive, io))!;
        const seen = new Set<string>();
        // Emptied from the bin: gone from the old versions on purpose (a version's copy of
        // such a file is not read), never from the drive as it is.
        const purged = new Set((await allPurged(io, now.drive)).map((p) => p.id));
        const walk = async (dirId: string, path: string, old: boolean): Promise<void> => {
          for (const e of await io.loadDir(dirId)) {
            const p = `${path}/${e.name}`;
            if (e.type === ENTRY_DIR) await walk(e.dirId!, p, old);
            else if (e.type === ENTRY_FILE) {
              const ids = [...(e.file?.chunks ?? []), ...(e.file?.lists ?? [])].map(([, id]) => id);
              if (ids.some((id) => purged.has(id)) || purged.has(toHex(e.file!.fileId))) {
                if (!old) t.fail(`${when}: ${p} in the drive as it is names a purged object`);
                continue;
              }
              const key = `${p}:${e.file?.chunks?.map(([, id]) => id).join(',') ?? e.file?.lists?.map(([, id]) => id).join(',')}`;
              if (seen.has(key)) continue;
              seen.add(key);
              const b = await bytesOf(io, fetch, e);
              checkedFiles++;
              // A version may hold a file as it was created or truncated (empty), before
              // its bytes were written: a state it had.
              const options = given.get(p.replace(/ \(.*\)$/, '')) ?? [];
              if (b.length > 0 && !options.some((g) => g.equals(b))) {
                t.fail(`${when}: ${p} in a kept version holds ${b.length} bytes it was never given (given: ${options.map((g) => g.length).join(', ')})`);
              }
            }
          }
        };
        for (const [i, v] of now.versions.entries()) await walk(v.topDir, '', i > 0);
        const records = await allShares(io, now.drive);
        for (const [linkId, want] of shared) {
          const rec = records.find((r) => r.linkId === linkId && r.link !== '');
          if (!rec) { t.fail(`${when}: the share ${linkId} is not in the drive`); continue; }
          const [entry] = await io.loadDir(rec.snapshot);
          checkedFiles++;
          checkedShares++;
          if (!(await bytesOf(io, fetch, entry)).equals(want.bytes)) t.fail(`${when}: the share of ${rec.path} gives other bytes than were shared`);
        }
        for (const r of await allTrash(io, now.drive)) {
          if (r.entry.type !== ENTRY_FILE) continue;
          const b = await bytesOf(io, fetch, r.entry);
          checkedFiles++;
          if (!(given.get(binPath(r)) ?? []).some((g) => g.equals(b))) t.fail(`${when}: bin entry ${binPath(r)} holds bytes it was never given`);
        }
        for (const d of [0, 1] as Dev[]) {
          for (let f = 0; f < 4; f++) {
            const p = pathOf(d, f);
            const want = live.get(p);
            const has = (await vs[d].lookup!(p)) !== null;
            if (!want) { if (has) t.fail(`${when}: ${p} is on device ${d} but was removed`); continue; }
            if (!has) { t.fail(`${when}: ${p} is missing on device ${d}`); continue; }
            if (!(await readWhole(vs[d], p)).equals(want)) t.fail(`${when}: ${p} reads other bytes on device ${d}`);
          }
        }
      };

      for (const a of actions) {
        switch (a.k) {
          case 'write': {
            const p = pathOf(a.dev, a.file);
            const body = randomBytes(a.size);
            const v = vs[a.dev];
            const fh = (await v.lookup!(p)) ? await v.open(p, fsc.O_WRONLY | fsc.O_TRUNC) : await v.create(p, 0o644, fsc.O_WRONLY);
            await v.write(fh, body, 0);
            await v.release(fh);
            given.set(p, [...(given.get(p) ?? []), body]);
            live.set(p, body);
            break;
          }
          case 'unlink': {
            const p = pathOf(a.dev, a.file);
            if (!live.has(p)) break;
            await vs[a.dev].unlink(p);
            live.delete(p);
            break;
          }
          case 'restore': {
            const v = vs[a.dev];
            const rec = (await v.binRecords!()).find((r) => binPath(r).startsWith(`/d${a.dev}/`) && !live.has(binPath(r)));
            if (!rec) break;
            await v.binRestore!(rec, binPath(rec));
            live.set(binPath(rec), await readWhole(v, binPath(rec)));
            if (!(given.get(binPath(rec)) ?? []).some((g) => g.equals(live.get(binPath(rec))!))) t.fail(`a restore of ${binPath(rec)} gave bytes it was never given`);
            break;
          }
          case 'empty': await vs[a.dev].binEmpty!(() => true); break;
          case 'share': {
            const p = pathOf(a.dev, a.file);
            const body = live.get(p);
            if (!body) break;
            const v = vs[a.dev];
            const linkId = randomBytes(16).toString('hex');
            const c = await v.shares.capture(p, `f${a.file}`);
            v.shares.add({ linkId, link: `model:${linkId}`, createdMs: Date.now(), expiresMs: null, path: p }, c);
            await v.sync();
            shared.set(linkId, { dev: a.dev, bytes: body });
            break;
          }
          case 'unshare': {
            const mine = [...shared].find(([, s]) => s.dev === a.dev);
            if (!mine) break;
            // A device knows a share once its base has it: the one that made it always does.
            if (!(await vs[a.dev].shares.revoke(mine[0]))) t.fail(`device ${a.dev} could not revoke its share ${mine[0]}`);
            await vs[a.dev].sync();
            shared.delete(mine[0]);
            break;
          }
          case 'sync': await vs[a.dev].sync(); break;
          case 'crash': {
            vs[a.dev].abandon();
            vs[a.dev] = await open(a.dev);
            break;
          }
          case 'gc': {
            // No clock allowance: the test's one clock; the grace is the lock and the leases.
            await collect(drive, { dryRun: false, deviceIdHex: 'c'.repeat(32), cacheDir: null, clockAllowanceMs: 0, ...(a.forget ? { forgetOlderThanMs: 0 } : {}) });
            collections++;
            break;
          }
        }
        // After every step: what the root keeps reads back (a collection, a crash or an
        // unsynced change on the other device included).
        await verify(`after step ${JSON.stringify(a)} (run ${run})`);
      }
      await vs[0].sync();
      await vs[1].sync();
      await verify('at the end');
      // Both devices close; the bin goes; a collection forgets every old version.
      await vs[0].close();
      await vs[1].close();
      const last = await open(0);
      await last.binEmpty!(() => true);
      await last.close();
      vs.length = 0;
      await collect(drive, { dryRun: false, deviceIdHex: 'c'.repeat(32), cacheDir: null, clockAllowanceMs: 0, forgetOlderThanMs: 0 });
      const c = new Collector(drive, { dryRun: true, deviceIdHex: 'c'.repeat(32), cacheDir: null });
      const now = (await readNow(drive, c.io))!;
      const named = await c.mark(now.drive!, now.root.treeId, now.drive!.sessions);
      const unnamed = [...mem.objects.entries()].filter(([id]) => !named.has(id));
      // Only drive-level objects (version byte 3) the collector's own last swap replaced.
      t.deepEqual(unnamed.filter(([, b]) => b[0] !== 3).map(([id]) => id), [], 'a chunk or a directory nothing names is left');
      t.true(unnamed.length <= 4, `${unnamed.length} drive-level objects left unnamed`);
    } catch (e) {
      console.error(`history model run ${run} failed: ${(e as Error).stack ?? String(e)}`);
      throw e;
    } finally {
      for (const v of vs) v?.abandon();
      await rm(dir, { recursive: true, force: true });
    }
  }), {
    numRuns: Number(process.env.MEGAFS_HISTORY_RUNS ?? 12), endOnFailure: true,
    // Replay: MEGAFS_HISTORY_ACTIONS='[...]' (a counterexample's list) runs first.
    ...(process.env.MEGAFS_HISTORY_ACTIONS ? { examples: [[JSON.parse(process.env.MEGAFS_HISTORY_ACTIONS) as Action[]]] } : {}),
  });
  t.log(`${run} runs, ${collections} collections, ${checkedFiles} files of versions, bin entries and shares read back (${checkedShares} shares)`);
});
