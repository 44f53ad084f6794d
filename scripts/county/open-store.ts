/**
 * Opens the collector's database from what `--db` says: a `postgres://` (or `postgresql://`) URL selects
 * the PostgreSQL store (counties and provinces, several collectors), anything else is a SQLite file (the
 * embedded default). Both implement CollectorStore and ConsoleStore, so the collector, its reports and
 * the county console do not care which.
 */
import { openPgCollectorStore } from './pg-store.js';
import { openSqliteCollectorStore } from './sqlite-store.js';
import type { CollectorStore, ConsoleStore, StoreOptions } from './store.js';

export type CountyStore = CollectorStore & ConsoleStore;

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

export async function openCollectorStore(db: string, options: StoreOptions = {}): Promise<CountyStore> {
  return isPostgresUrl(db) ? openPgCollectorStore(db, options) : openSqliteCollectorStore(db, options);
}
