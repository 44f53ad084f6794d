/**
 * Opens the collector's database for the console: a SQLite file path, or a `postgres://` URL (the
 * collector's PostgreSQL store, migrated when needed). The console reads and writes only through
 * CollectorStore & ConsoleStore (county/store.ts), never SQL of its own.
 */
import { openPgCollectorStore } from '../pg-store.js';
import { openSqliteCollectorStore } from '../sqlite-store.js';
import type { ConsoleDb } from './context.js';

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

export async function openConsoleDb(db: string): Promise<ConsoleDb> {
  return isPostgresUrl(db) ? openPgCollectorStore(db) : openSqliteCollectorStore(db);
}
