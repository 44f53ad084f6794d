/**
 * Opens the collector's database from what `--db` says: a `postgres://` (or `postgresql://`) URL selects
 * the PostgreSQL store (counties and provinces, several collectors), anything else is a SQLite file (the
 * embedded default). Both implement CollectorStore and ConsoleStore, so the collector, its reports and
 * the county console do not care which.
 */
import { existsSync } from 'node:fs';
import { openPgCollectorStore } from './pg-store.js';
import { openSqliteCollectorStore } from './sqlite-store.js';
import { openSqliteThreadStore } from './sqlite-thread-store.js';
import type { CollectorStore, ConsoleStore, StoreOptions } from './store.js';
import { isPostgresUrl } from './config.js';

export type CountyStore = CollectorStore & ConsoleStore;

export { isPostgresUrl };

export interface OpenOptions {
  /**
   * SQLite on a worker thread (sqlite-thread-store.ts): what the running collector uses, so its event
   * loop keeps reading the broker while a batch commits. The command line's reports read in-thread.
   */
  thread?: boolean;
  /**
   * Refuse a SQLite file that does not exist yet (the command line, unless --create): a mistyped path
   * must not silently start an empty county.
   */
  mustExist?: boolean;
}

/** The database is not there: said in the clerk's words, with the fix. */
export class MissingDatabaseError extends Error {
  constructor(readonly path: string) {
    super(`数据库文件 ${path} 不存在：请检查路径；第一次运行采集服务时加 --create（或在配置文件 collector: 中写 create: true）/ the database file ${path} does not exist: check the path; on the collector's first run add --create (or create: true in the config file's collector: section)`);
    this.name = 'MissingDatabaseError';
  }
}

export async function openCollectorStore(db: string, options: StoreOptions = {}, open: OpenOptions = {}): Promise<CountyStore> {
  if (isPostgresUrl(db)) return openPgCollectorStore(db, options);
  if (open.mustExist && !existsSync(db)) throw new MissingDatabaseError(db);
  return open.thread ? openSqliteThreadStore(db, options) : openSqliteCollectorStore(db, options);
}
