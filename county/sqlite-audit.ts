/**
 * The console's audit log on SQLite (AuditStore, county/audit.ts): its migration (appended to
 * MIGRATIONS in sqlite-schema.ts) and its statements, prepared once per connection.
 */
import type Database from 'better-sqlite3';
import { AUDIT_MAX_READ, type AuditEntry, type AuditFilter, type AuditQuery, type AuditRow, type AuditStore } from './audit.js';

/** The audit log's table: time as UTC ISO text (text order is time order), newest read first. */
export const SQLITE_AUDIT_MIGRATION = `
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT, address TEXT, target TEXT, detail TEXT
  );
  CREATE INDEX audit_log_at ON audit_log (at, id);
  CREATE INDEX audit_log_kind_at ON audit_log (kind, at);
  `;

// Absent bounds and kinds are passed as '' / '[]' (one statement for every filter).
const WHERE = `WHERE ($from = '' OR at >= $from) AND ($to = '' OR at < $to)
                 AND (json_array_length($kinds) = 0 OR kind IN (SELECT value FROM json_each($kinds)))`;

const SQL = {
  insert: 'INSERT INTO audit_log (at, kind, actor, address, target, detail) VALUES (?, ?, ?, ?, ?, ?)',
  page: `SELECT id, at, kind, actor, address, target, detail FROM audit_log ${WHERE} ORDER BY at DESC, id DESC LIMIT $limit OFFSET $offset`,
  count: `SELECT count(*) AS n FROM audit_log ${WHERE}`,
  prune: 'DELETE FROM audit_log WHERE at < ?',
} as const;

const params = (f: AuditFilter) => ({ from: f.from ?? '', to: f.to ?? '', kinds: JSON.stringify(f.kinds ?? []) });

export class SqliteAudit implements AuditStore {
  private readonly s: { [K in keyof typeof SQL]: Database.Statement };

  constructor(private readonly db: Database.Database) {
    this.s = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as { [K in keyof typeof SQL]: Database.Statement };
  }

  async appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    this.db.transaction(() => {
      for (const e of entries) this.s.insert.run(e.at, e.kind, e.actor, e.address, e.target, e.detail);
    }).immediate();
  }

  async auditLog(q: AuditQuery): Promise<AuditRow[]> {
    const limit = Math.max(0, Math.min(AUDIT_MAX_READ, Math.floor(q.limit)));
    return this.s.page.all({ ...params(q), limit, offset: Math.max(0, Math.floor(q.offset)) }) as AuditRow[];
  }

  async countAudit(f: AuditFilter): Promise<number> {
    return (this.s.count.get(params(f)) as { n: number }).n;
  }

  async pruneAudit(before: string): Promise<number> {
    return this.s.prune.run(before).changes;
  }
}
