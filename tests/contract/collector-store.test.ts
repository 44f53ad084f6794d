/**
 * The collector store conformance suite against each implementation: SQLite on a real file in a
 * temporary folder (in this thread, and on a worker thread as the collector runs it), and PostgreSQL 15 (Debian's) as a real server started for this file on a free
 * loopback port in a temporary folder, one fresh database per test. Both are removed afterwards.
 */
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openPgCollectorStore } from '../../county/pg-store.js';
import { openSqliteCollectorStore } from '../../county/sqlite-store.js';
import { openSqliteThreadStore } from '../../county/sqlite-thread-store.js';
import { Postgres, removeDir, tempDir } from '../../scripts/lib/kit/index.js';
import { collectorStoreContract, type StoreUnderTest } from './collector-store.contract.js';
import { rollupContract } from './collector-store-rollups.contract.js';
import { ledgerContract } from './collector-store-ledgers.contract.js';
import { notesContract } from './collector-store-notes.contract.js';
import { visitsContract } from './collector-store-visits.contract.js';
import { consoleAccountsContract } from './console-accounts.contract.js';
import { notifyStoreContract } from './notify-store.contract.js';

/** A store, and more stores on the same database (a second collector), all closed by dispose(). */
function opened(first: StoreUnderTest, openAnother: () => Promise<StoreUnderTest>, remove: () => Promise<void> | void) {
  const others: StoreUnderTest[] = [];
  return {
    store: first,
    another: async () => {
      const s = await openAnother();
      others.push(s);
      return s;
    },
    dispose: async () => {
      for (const s of [first, ...others]) await s.close();
      await remove();
    },
  };
}

const sqlite = async () => {
  const dir = tempDir('collector-store-');
  const path = join(dir, 'county.db');
  return opened(openSqliteCollectorStore(path), async () => openSqliteCollectorStore(path), () => removeDir(dir));
};
collectorStoreContract('SQLite', sqlite);
rollupContract('SQLite', sqlite);
ledgerContract('SQLite', sqlite);
notesContract('SQLite', sqlite);
visitsContract('SQLite', sqlite);
consoleAccountsContract('SQLite', sqlite);
notifyStoreContract('SQLite', sqlite, { exclusiveLead: false });

// What the running collector uses: the same store on a worker thread (needs the build: dist/…/sqlite-worker.js).
const sqliteThread = async () => {
  const dir = tempDir('collector-store-');
  const path = join(dir, 'county.db');
  return opened(await openSqliteThreadStore(path), () => openSqliteThreadStore(path), () => removeDir(dir));
};
collectorStoreContract('SQLite on a worker thread', sqliteThread);
rollupContract('SQLite on a worker thread', sqliteThread);
ledgerContract('SQLite on a worker thread', sqliteThread);
notesContract('SQLite on a worker thread', sqliteThread);
visitsContract('SQLite on a worker thread', sqliteThread);
consoleAccountsContract('SQLite on a worker thread', sqliteThread);
notifyStoreContract('SQLite on a worker thread', sqliteThread, { exclusiveLead: false });

let server: Postgres | undefined;
let n = 0;
beforeAll(async () => {
  server = await Postgres.start();
}, 60_000);
afterAll(async () => {
  await server?.dispose();
});

const postgres = async () => {
  const name = `contract_${++n}`;
  const url = await server!.createDatabase(name);
  return opened(await openPgCollectorStore(url), () => openPgCollectorStore(url), () => server!.dropDatabase(name));
};
collectorStoreContract('PostgreSQL', postgres);
rollupContract('PostgreSQL', postgres);
ledgerContract('PostgreSQL', postgres);
notesContract('PostgreSQL', postgres);
visitsContract('PostgreSQL', postgres);
consoleAccountsContract('PostgreSQL', postgres);
notifyStoreContract('PostgreSQL', postgres, { exclusiveLead: true });
