/**
 * Opens the collector's database for the console: a SQLite file path, or a `postgres://` URL once the
 * collector's PostgreSQL store is in this build. The console reads and writes only through
 * CollectorStore & ConsoleStore (scripts/county/store.ts), never SQL of its own.
 */
import { openSqliteCollectorStore } from '../sqlite-store.js';
import type { ConsoleDb } from './context.js';

export async function openConsoleDb(db: string): Promise<ConsoleDb> {
  if (/^postgres(ql)?:\/\//i.test(db)) throw new Error('this build has no PostgreSQL store yet: give --db a SQLite file');
  return openSqliteCollectorStore(db);
}
