/**
 * The collector store conformance suite against each implementation: SQLite on a real file in a
 * temporary folder (removed after each test).
 */
import { join } from 'node:path';
import { openSqliteCollectorStore } from '../../scripts/county/sqlite-store.js';
import { removeDir, tempDir } from '../../scripts/lib/kit/index.js';
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
