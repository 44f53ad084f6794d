/**
 * Opens the collector's database from what `--db` says: a `postgres://` (or `postgresql://`) URL selects
 * the PostgreSQL store (counties and provinces, several collectors), anything else is a SQLite file (the
 * embedded default). Both implement CollectorStore and ConsoleStore, so the collector, its reports and
 * the county console do not care which.
 */
import { openPgCollectorStore } from './pg-store.js';
import { openSqliteCollectorStore } from './sqlite-store.js';
import { openSqliteThreadStore } from './sqlite-thread-store.js';
import type { CollectorStore, ConsoleStore, StoreOptions } from './store.js';

export type CountyStore = CollectorStore & ConsoleStore;

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

export interface OpenOptions {
  /**
   * SQLite on a worker thread (sqlite-thread-store.ts): what the running collector uses, so its event
   * loop keeps reading the broker while a batch commits. The command line's reports read in-thread.
   */
  thread?: boolean;
}

export async function openCollectorStore(db: string, options: StoreOptions = {}, open: OpenOptions = {}): Promise<CountyStore> {
  if (isPostgresUrl(db)) return openPgCollectorStore(db, options);
  return open.thread ? openSqliteThreadStore(db, options) : openSqliteCollectorStore(db, options);
}
