/**
 * The collector store conformance suite against each implementation: SQLite on a real file in a
 * temporary folder, and PostgreSQL 15 (Debian's) as a real server started for this file on a free
 * loopback port in a temporary folder, one fresh database per test. Both are removed afterwards.
 */
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openPgCollectorStore } from '../../scripts/county/pg-store.js';
import { openSqliteCollectorStore } from '../../scripts/county/sqlite-store.js';
import { Postgres, removeDir, tempDir } from '../../scripts/lib/kit/index.js';
import { collectorStoreContract } from './collector-store.contract.js';

collectorStoreContract('SQLite', async () => {
  const dir = tempDir('collector-store-');
  const store = openSqliteCollectorStore(join(dir, 'county.db'));
  return {
    store,
    dispose: async () => {
      await store.close();
      removeDir(dir);
    },
  };
});

let server: Postgres | undefined;
let n = 0;
beforeAll(async () => {
  server = await Postgres.start();
}, 60_000);
afterAll(async () => {
  await server?.dispose();
});

collectorStoreContract('PostgreSQL', async () => {
  const name = `contract_${++n}`;
  const store = await openPgCollectorStore(await server!.createDatabase(name));
  return {
    store,
    dispose: async () => {
      await store.close();
      await server!.dropDatabase(name);
    },
  };
});
