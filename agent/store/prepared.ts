/**
 * Statements of the repositories, each prepared once on first use. Lazily, so a read-only open of an
 * older database (stationctl beside an agent that has not migrated yet) never fails on a statement for
 * a table a later migration adds, as long as nothing runs it.
 */
import type Database from 'better-sqlite3';

export type Db = Database.Database;

export type Prepared<P extends unknown[] | object = unknown[], R = unknown> = () => Database.Statement<P, R>;

export function lazy<P extends unknown[] | object = unknown[], R = unknown>(db: Db, sql: string): Prepared<P, R> {
  let stmt: Database.Statement<P, R> | undefined;
  return () => (stmt ??= db.prepare<P, R>(sql));
}
