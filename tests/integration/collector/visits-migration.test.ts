/**
 * The visits migration (county/sqlite-visit-sql.ts, county/pg-visit-sql.ts) on a real SQLite file and a
 * real PostgreSQL 15: a database of the version before it, holding `schedule_run` events as the collector
 * of that version stored them, opens with the latest run of each schedule exactly as the write path keeps
 * it from the same events, and with no visit item yet.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../county/sqlite-schema.js';
import { openSqliteCollectorStore } from '../../../county/sqlite-store.js';
import { PG_MIGRATIONS, VERSION_TABLE } from '../../../county/pg-schema.js';
import { openPgCollectorStore } from '../../../county/pg-store.js';
import { VISITS_MIGRATION } from '../../../county/sqlite-visit-sql.js';
import { VISITS_PG_MIGRATION } from '../../../county/pg-visit-sql.js';
import type { CollectorStore, ConsoleStore } from '../../../county/store.js';
import { Postgres, removeDir, tempDir } from '../../../scripts/lib/kit/index.js';
import { eventWrite, type RecordWrite } from '../../contract/event-writes.js';

/** A station's schedule runs: phases in and out of order, runs replacing runs, odd events the rule skips. */
function runs(station: string): RecordWrite[] {
  const ev = (seq: number, data: Record<string, unknown> | undefined, type: 'schedule_run' | 'agent_start' = 'schedule_run'): RecordWrite => {
    const w = eventWrite(station, seq, type, undefined, { ts: `2026-11-30T12:00:${String(seq).padStart(2, '0')}.000Z` });
    const record = { ...w.record, ...(data ? { data } : {}) } as RecordWrite['record'];
    return { ...w, record, raw: JSON.stringify(record) } as RecordWrite;
  };
  const steps = (ok: number, total: number) => Array.from({ length: total }, (_, i) => ({ device: 'p', action: 'power', value: 'on', status: i < ok ? 'ok' : 'timeout' }));
  return [
    ev(1, { schedule_id: 'evening', run_id: 'r1', phase: 'start', ok: true, steps: steps(2, 2) }),
    ev(2, { schedule_id: 'evening', run_id: 'r1', phase: 'end', ok: true, steps: steps(2, 2) }),
    ev(3, { schedule_id: 'evening', run_id: 'r2', phase: 'start', ok: false, steps: steps(1, 3) }),
    ev(4, { schedule_id: 'evening', run_id: 'r2', phase: 'end', ok: true, steps: steps(1, 1) }),
    ev(6, { schedule_id: 'morning', run_id: 'm1', phase: 'end', ok: false, steps: steps(0, 2) }),
    ev(5, { schedule_id: 'morning', run_id: 'm1', phase: 'start', ok: true, steps: [] }),
    ev(7, { schedule_id: 'noon', phase: 'start', ok: false }),
    ev(8, { schedule_id: 'noon', phase: 'start', ok: true }),
    ev(9, { schedule_id: 'bad', run_id: 'x', phase: 'start', ok: 'no' }),
    ev(10, { run_id: 'y', phase: 'start', ok: false }),
    ev(11, undefined, 'agent_start'),
  ];
}

const STATIONS = ['ra', 'rb'];
const writes = (): RecordWrite[] => STATIONS.flatMap(runs);
type Store = CollectorStore & ConsoleStore;
const snapshot = async (s: Store) => ({ failed: await s.failedClasses(), visits: await s.liveVisits() });

async function expected(open: () => Promise<Store>): Promise<unknown> {
  const s = await open();
  try {
    await s.apply(writes());
    const snap = await snapshot(s);
    expect(snap.failed.map((c) => `${c.station_id} ${c.schedule_id} ${c.run_id} ${c.start_ok}/${c.end_ok} ${c.start_done}/${c.start_total}`)).toEqual([
      'ra evening r2 false/true 1/3',
      'ra morning m1 true/false 0/0',
      'rb evening r2 false/true 1/3',
      'rb morning m1 true/false 0/0',
    ]);
    return snap;
  } finally {
    await s.close();
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
const file = (): string => {
  const d = tempDir('visits-migrate-');
  dirs.push(d);
  return join(d, 'county.db');
};

describe('the visits migration', () => {
  it('on SQLite, fills each schedule’s latest run from the stored events as the write path keeps it', async () => {
    const want = await expected(async () => openSqliteCollectorStore(file()));
    const path = file();
    const before = MIGRATIONS.indexOf(VISITS_MIGRATION);
    expect(before).toBeGreaterThan(0);
    const old = new Database(path);
    for (const m of MIGRATIONS.slice(0, before)) old.exec(m);
    old.pragma(`user_version = ${before}`);
    for (const st of STATIONS) old.prepare("INSERT INTO stations (station_id, first_seen_at, watermark, max_seq, acked_seq, ledger) VALUES (?, 'x', 11, 11, 11, '')").run(st);
    for (const w of writes()) {
      old.prepare('INSERT INTO records (station_id, seq, stream, id, historical, received_at, payload) VALUES (?, ?, ?, ?, 0, ?, ?)').run(w.station, w.record.seq, 'events', w.record.id, 'z', w.raw);
      old.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)').run(w.station, w.record.seq, (w.record as { ts: string }).ts, (w.record as { type: string }).type, 'warning', null);
    }
    old.close();
    const migrated = openSqliteCollectorStore(path);
    try {
      expect(await snapshot(migrated)).toEqual(want);
      expect(await migrated.station('ra')).toMatchObject({ status_reason: null, opening_hours: null });
    } finally {
      await migrated.close();
    }
  });

  describe('on PostgreSQL', () => {
    let server: Postgres;
    beforeAll(async () => {
      server = await Postgres.start();
    }, 60_000);
    afterAll(async () => {
      await server?.dispose();
    });

    it('fills each schedule’s latest run from the stored events as the write path keeps it', async () => {
      const want = await expected(async () => openPgCollectorStore(await server.createDatabase('visits_written')));
      const url = await server.createDatabase('visits_before');
      const before = PG_MIGRATIONS.indexOf(VISITS_PG_MIGRATION);
      expect(before).toBeGreaterThan(0);
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        for (const m of PG_MIGRATIONS.slice(0, before)) await db.query(m);
        await db.query(`CREATE TABLE ${VERSION_TABLE} (version INTEGER NOT NULL); INSERT INTO ${VERSION_TABLE} VALUES (${before})`);
        for (const st of STATIONS) await db.query("INSERT INTO stations (station_id, first_seen_at, watermark, max_seq, acked_seq, ledger) VALUES ($1, 'x', 11, 11, 11, '')", [st]);
        for (const w of writes()) {
          await db.query('INSERT INTO records (station_id, seq, stream, id, historical, received_at, payload) VALUES ($1, $2, $3, $4, false, $5, $6)', [w.station, w.record.seq, 'events', w.record.id, 'z', w.raw]);
          await db.query('INSERT INTO events VALUES ($1, $2, $3, $4, $5, $6)', [w.station, w.record.seq, (w.record as { ts: string }).ts, (w.record as { type: string }).type, 'warning', null]);
        }
      } finally {
        await db.end();
      }
      const migrated = await openPgCollectorStore(url);
      try {
        expect(await snapshot(migrated)).toEqual(want);
        expect(await migrated.station('ra')).toMatchObject({ status_reason: null, opening_hours: null });
      } finally {
        await migrated.close();
      }
    });
  });
});
