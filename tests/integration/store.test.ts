import { describe, it, expect, afterEach } from 'vitest';
import Database from 'better-sqlite3';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Store, DB_FILE } from '../../agent/store/store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../agent/store/migrations.js';
import { AgentError } from '../../protocol/errors.js';
import { tempDir, removeDir } from '../../scripts/lib/kit/index.js';

const dirs: string[] = [];
const fresh = () => {
  const d = tempDir('store-');
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach(removeDir));

/** The tables on disk, read through a second connection (the store keeps its own private). */
function tables(store: Store): string[] {
  const db = new Database(store.path, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('store', () => {
  it('creates the data dir and migrates an empty database to the latest schema, in WAL with synchronous=FULL', () => {
    const dir = join(fresh(), 'nested', 'data');
    const store = Store.open(dir);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(store.durability()).toEqual({ journal_mode: 'wal', synchronous: 2 }); // 2: FULL
    expect(tables(store)).toEqual(
      expect.arrayContaining(['meta', 'device_state', 'sessions', 'records', 'alerts', 'county_schedules', 'schedule_runs', 'daily_summary']),
    );
    expect(store.integrityCheck()).toEqual(['ok']);
    store.close();
  });

  it.each(Array.from({ length: SCHEMA_VERSION }, (_, v) => v))('migrates a database from schema version %i, keeping its data', (from) => {
    const dir = fresh();
    if (from === 0) {
      // An empty database file, as left by a first start that died before migrating.
      new Database(join(dir, DB_FILE)).close();
    } else {
      const old = Store.open(dir, { targetVersion: from });
      expect(old.schemaVersion()).toBe(from);
      old.setMeta('agent_boot', '41');
      old.close();
    }
    const store = Store.open(dir);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    if (from >= 1) expect(store.meta('agent_boot')).toBe('41');
    expect(store.integrityCheck()).toEqual(['ok']);
    store.close();
  });

  it('leaves the old schema intact when a migration fails (one transaction)', () => {
    const dir = fresh();
    Store.open(dir, { targetVersion: 1 }).close();
    const raw = new Database(join(dir, DB_FILE));
    raw.exec('CREATE TABLE daily_summary (x INTEGER)'); // makes migration 2 fail
    raw.close();
    expect(() => Store.open(dir)).toThrow(/daily_summary already exists/);
    const check = new Database(join(dir, DB_FILE));
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    check.close();
  });

  it('refuses a database from the future with a clear error', () => {
    const dir = fresh();
    Store.open(dir).close();
    const raw = new Database(join(dir, DB_FILE));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    let err: unknown;
    try {
      Store.open(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('db_too_new');
    expect((err as AgentError).message).toMatch(/newer than this agent understands/);
  });

  it('reports a data dir that cannot be created as one clear error', () => {
    const parent = fresh();
    writeFileSync(join(parent, 'a-file'), 'x');
    let err: unknown;
    try {
      Store.open(join(parent, 'a-file', 'data'));
    } catch (e) {
      err = e;
    }
    expect((err as AgentError).code).toBe('data_dir');
    expect((err as AgentError).message).toMatch(/data_dir .* cannot be created or written \(ENOTDIR\)/);
  });

  it('opens read-only for stationctl and refuses when there is no database', () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    expect(() => Store.open(dir, { readonly: true })).toThrow(/cannot open database/);
    Store.open(dir).close();
    const ro = Store.open(dir, { readonly: true });
    expect(() => ro.setMeta('x', '1')).toThrow(/readonly/);
    ro.close();
  });

  it('starts the published seq of a version 2 database at its highest published or acknowledged record', () => {
    const dir = fresh();
    const old = Store.open(dir, { targetVersion: 2 });
    const raw = new Database(old.path);
    const put = raw.prepare("INSERT INTO records(seq, id, stream, type, ts, payload, published, acked) VALUES (?, ?, 'usage', 'usage', '2026-03-01T00:00:00.000Z', '{}', ?, ?)");
    put.run(1, 'a', 1, 1);
    put.run(2, 'b', 0, 1);
    put.run(3, 'c', 1, 0);
    put.run(4, 'd', 0, 0);
    raw.close();
    old.setMeta('next_seq', '5');
    old.close();
    const store = Store.open(dir);
    expect(store.outbox.publishedSeq()).toBe(3);
    expect(store.outbox.lastSeq()).toBe(4);
    store.close();
  });

  it('refuses to allocate a seq that is not a safe integer, with a clear error', () => {
    const store = Store.open(fresh());
    store.setMeta('next_seq', String(2 ** 53));
    expect(() => store.outbox.append('events', 'agent_start', '2026-03-01T00:00:00.000Z', (seq, id) => ({ seq, id }))).toThrow(/seq counter 9007199254740992 is not a safe integer/);
    expect(store.outbox.countStored(0, 2 ** 60)).toBe(0);
    store.close();
  });

  it('gives every database a ledger identity of its own, made once: a new database, and an existing one when it is upgraded', () => {
    const dir = fresh();
    const old = Store.open(dir, { targetVersion: 3 });
    const raw = new Database(old.path);
    raw.prepare("INSERT INTO records(seq, id, stream, type, ts, payload) VALUES (1, 'a', 'events', 'agent_start', '2026-03-01T00:00:00.000Z', '{}')").run();
    raw.close();
    old.setMeta('next_seq', '2');
    expect(old.meta('ledger')).toBeUndefined();
    old.close();
    const upgraded = Store.open(dir);
    const ledger = upgraded.outbox.ledger();
    expect(ledger).toMatch(/^[0-9a-f]{32}$/);
    // The upgrade keeps the seqs: the next record continues them, under the ledger.
    const rec = upgraded.outbox.append('events', 'agent_start', '2026-03-01T00:00:01.000Z', (seq, id, l) => ({ seq, id, ledger: l }));
    expect(rec).toMatchObject({ seq: 2, payload: { ledger } });
    upgraded.close();
    const reopened = Store.open(dir);
    expect(reopened.outbox.ledger()).toBe(ledger);
    reopened.close();
    // A re-imaged PC: a new database, a new ledger.
    const other = Store.open(fresh());
    expect(other.outbox.ledger()).not.toBe(ledger);
    other.close();
  });

  it('has one migration per schema version', () => {
    expect(MIGRATIONS.length).toBe(SCHEMA_VERSION);
  });
});

describe('retention', () => {
  it('prunes only acknowledged events past the cut-off, never usage records or the outbox', () => {
    const dir = tempDir('retention-');
    dirs.push(dir);
    const store = Store.open(dir);
    const ledger = store.outbox;
    const old = '2024-01-01T00:00:00.000Z';
    const recent = '2026-11-01T00:00:00.000Z';
    const ackedOldEvent = ledger.append('events', 'agent_start', old, (seq, id) => ({ seq, id }));
    const ackedOldUsage = ledger.append('usage', 'usage', old, (seq, id) => ({ seq, id }));
    const ackedRecentEvent = ledger.append('events', 'agent_start', recent, (seq, id) => ({ seq, id }));
    ledger.ackUpTo(ackedRecentEvent.seq);
    const pendingOldEvent = ledger.append('events', 'device_fault', old, (seq, id) => ({ seq, id }));

    expect(store.retention.pruneAckedEvents('2025-01-01T00:00:00.000Z')).toBe(1);
    expect(store.retention.pruneAckedEvents('2025-01-01T00:00:00.000Z')).toBe(0);
    const left = ledger.stored(1, Number.MAX_SAFE_INTEGER, 1_000).map((r) => r.seq);
    expect(left).toEqual([ackedOldUsage.seq, ackedRecentEvent.seq, pendingOldEvent.seq]);
    expect(left).not.toContain(ackedOldEvent.seq);
    // The seq counter does not go back after a prune.
    expect(ledger.append('events', 'agent_start', recent, (seq, id) => ({ seq, id })).seq).toBe(pendingOldEvent.seq + 1);
    store.close();
  });
});
