// HttpStore against a real `megafs serve` on loopback: the store conformance suite,
// including a restart of the server in the middle of writes.
import test from 'ava';
import { storeConformance } from '../helpers/store-suite.js';
import { newUser, startTestServer, storeFor } from '../helpers/server.js';

storeConformance(test, 'http', async () => {
  const server = await startTestServer();
  const store = storeFor(server.url, await newUser(server.url), { listPageSize: 10 });
  return {
    store,
    restart: async () => {
      await server.restart();
      return store;
    },
    cleanup: () => server.close(),
  };
});
