// The fault-injection suite (test/helpers/fault-suite.ts) on a real `megafs serve` (over
// HTTP, with its own retries) and on two directory stores replicated with a write quorum
// of both. The memory and single-directory runs are in test/unit/faults.test.ts, the S3
// run (Ceph's gateway) in test/integration/s3.test.ts.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peekRootVersion } from '../../src/crypto/root.js';
import { FsStore } from '../../src/store/fs.js';
import { ReplicatedStore } from '../../src/store/replicate.js';
import { runFaultSuite } from '../helpers/fault-suite.js';
import { newUser, startTestServer, storeFor } from '../helpers/server.js';

test('faults: megafs serve', async (t) => {
  t.timeout(300_000);
  const server = await startTestServer();
  t.teardown(() => server.close());
  await runFaultSuite(t, async () => {
    const store = storeFor(server.url, await newUser(server.url));
    return { store, cleanup: () => store.close() };
  }, 18); // one account per run; the server lets one address sign up 20 times before it slows it down
});

test('faults: two directory stores, write quorum both', async (t) => {
  t.timeout(300_000);
  await runFaultSuite(t, async () => {
    const dirs = [await mkdtemp(join(tmpdir(), 'megafs-faults-r1-')), await mkdtemp(join(tmpdir(), 'megafs-faults-r2-'))];
    const stores = await Promise.all(dirs.map((d) => FsStore.open(d)));
    const store = new ReplicatedStore(stores, { rootVersion: peekRootVersion, writeQuorum: 2 });
    return {
      store,
      cleanup: async () => {
        await store.close();
        for (const d of dirs) await rm(d, { recursive: true, force: true });
      },
    };
  }, 25);
});
