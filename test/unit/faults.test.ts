// The fault-injection suite (test/helpers/fault-suite.ts) on the in-memory store and on a
// local directory store (the default). The other store kinds run it in
// test/integration/faults.test.ts.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../../src/store/fs.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { runFaultSuite } from '../helpers/fault-suite.js';

test('faults: memory store', async (t) => {
  t.timeout(240_000);
  await runFaultSuite(t, async () => ({ store: new MemoryStore(), cleanup: async () => undefined }), 40);
});

test('faults: directory store', async (t) => {
  t.timeout(240_000);
  await runFaultSuite(t, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'megafs-faults-fs-'));
    const store = await FsStore.open(dir);
    return { store, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
  }, 15);
});
