/**
 * The console's audit log on PostgreSQL (AuditStore, county/audit.ts): its migration (appended to
 * PG_MIGRATIONS in pg-schema.ts) and its statements.
 */
import type pg from 'pg';
import { AUDIT_MAX_READ, type AuditEntry, type AuditFilter, type AuditQuery, type AuditRow, type AuditStore } from './audit.js';

/**
 * The audit log's table: time as UTC ISO text as everywhere in this schema, compared byte by byte
 * (COLLATE "C", as SQLite does) so that text order is time order whatever the database's locale.
 */
export const PG_AUDIT_MIGRATION = `
  CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT COLLATE "C" NOT NULL, kind TEXT NOT NULL, actor TEXT, address TEXT, target TEXT, detail TEXT
  );
  CREATE INDEX audit_log_at ON audit_log (at, id);
  CREATE INDEX audit_log_kind_at ON audit_log (kind, at);
  `;

// $1 from, $2 to ('' = unbounded), $3 kinds (empty = all).
const WHERE = `WHERE ($1 = '' OR at >= $1) AND ($2 = '' OR at < $2) AND (cardinality($3::text[]) = 0 OR kind = ANY($3::text[]))`;

const SQL = {
  insert: `INSERT INTO audit_log (at, kind, actor, address, target, detail)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
  page: `SELECT id, at, kind, actor, address, target, detail FROM audit_log ${WHERE} ORDER BY at DESC, id DESC LIMIT $4 OFFSET $5`,
  count: `SELECT count(*)::bigint AS n FROM audit_log ${WHERE}`,
  prune: `DELETE FROM audit_log WHERE at < $1`,
} as const;

const params = (f: AuditFilter): unknown[] => [f.from ?? '', f.to ?? '', [...(f.kinds ?? [])]];

export class PgAudit implements AuditStore {
  constructor(private readonly pool: pg.Pool) {}

  async appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const col = <K extends keyof AuditEntry>(k: K) => entries.map((e) => e[k]);
    await this.pool.query(SQL.insert, [col('at'), col('kind'), col('actor'), col('address'), col('target'), col('detail')]);
  }

  async auditLog(q: AuditQuery): Promise<AuditRow[]> {
    const limit = Math.max(0, Math.min(AUDIT_MAX_READ, Math.floor(q.limit)));
    const r = await this.pool.query(SQL.page, [...params(q), limit, Math.max(0, Math.floor(q.offset))]);
    return (r.rows as Array<AuditRow & { id: number | string }>).map((x) => ({ ...x, id: Number(x.id) }));
  }

  async countAudit(f: AuditFilter): Promise<number> {
    return Number(((await this.pool.query(SQL.count, params(f))).rows[0] as { n: number }).n);
  }

  async pruneAudit(before: string): Promise<number> {
    return (await this.pool.query(SQL.prune, [before])).rowCount ?? 0;
  }
}
