/**
 * The audit log's migration on a county database of the version before it (SQLite on a real file,
 * PostgreSQL 15 on a real server): it opens at the current version with what it held intact, and the
 * audit log works at once. The migration is found by what it creates, not by its place in the list
 * (migrations of other features may come after it).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntry } from '../../../county/audit.js';
import { PG_MIGRATIONS, VERSION_TABLE } from '../../../county/pg-schema.js';
import { openPgCollectorStore } from '../../../county/pg-store.js';
import { MIGRATIONS } from '../../../county/sqlite-schema.js';
import { openSqliteCollectorStore } from '../../../county/sqlite-store.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { Postgres, removeDir, tempDir } from '../../../scripts/lib/kit/index.js';

const AUDIT = (m: string) => m.includes('CREATE TABLE audit_log');

async function worksAfterUpgrade(store: ConsoleDb): Promise<void> {
  expect(await store.station('s')).toMatchObject({ watermark: 3, max_seq: 3, acked_seq: 3 });
  await store.appendAudit([auditEntry({ at: '2026-11-03T12:00:00.000Z', kind: 'sign_in', actor: 'wangli', address: '10.0.0.1', detail: { role: 'operator' } })]);
  expect(await store.auditLog({ limit: 10, offset: 0 })).toMatchObject([{ kind: 'sign_in', actor: 'wangli', detail: '{"role":"operator"}' }]);
}

describe('the audit log migration', () => {
  let server: Postgres | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
    for (const d of dirs) removeDir(d);
  });

  it('upgrades a SQLite county database of the version before it', async () => {
    const at = MIGRATIONS.findIndex(AUDIT);
    expect(at).toBeGreaterThan(0);
    const dir = tempDir('audit-migration-');
    dirs.push(dir);
    const path = join(dir, 'county.db');
    const old = new Database(path);
    for (const m of MIGRATIONS.slice(0, at)) old.exec(m);
    old.pragma(`user_version = ${at}`);
    old.prepare('INSERT INTO stations (station_id, first_seen_at, watermark, max_seq, acked_seq) VALUES (?, ?, ?, ?, ?)').run('s', 'x', 3, 3, 3);
    old.close();
    const store = openSqliteCollectorStore(path);
    try {
      await worksAfterUpgrade(store);
    } finally {
      await store.close();
    }
  });

  it('upgrades a PostgreSQL county database of the version before it', async () => {
    const at = PG_MIGRATIONS.findIndex(AUDIT);
    expect(at).toBeGreaterThan(0);
    const url = await server!.createDatabase('audit_migration');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      for (const m of PG_MIGRATIONS.slice(0, at)) await db.query(m);
      await db.query(`CREATE TABLE ${VERSION_TABLE} (version INTEGER NOT NULL); INSERT INTO ${VERSION_TABLE} VALUES (${at})`);
      await db.query("INSERT INTO stations (station_id, first_seen_at, watermark, max_seq, acked_seq) VALUES ('s', 'x', 3, 3, 3)");
    } finally {
      await db.end();
    }
    const store = await openPgCollectorStore(url);
    try {
      await worksAfterUpgrade(store);
    } finally {
      await store.close();
    }
  });
});
