/**
 * The SQLite collector database's migrations on a real file: a version-1 database (one `lost` row per
 * seq) opens as the current version with its losses as ranges and its data intact, and a database newer
 * than this collector is refused untouched.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../county/sqlite-schema.js';
import { openSqliteCollectorStore } from '../../../county/sqlite-store.js';
import { openSqliteThreadStore } from '../../../county/sqlite-thread-store.js';
import { removeDir, tempDir } from '../../../scripts/lib/kit/index.js';
import { legacyRows, rollupWrites, snapshot } from './rollup-fixture.js';
import { eventWrite } from '../../contract/event-writes.js';
import { noteWrites, notesSnapshot } from '../../contract/collector-store-notes.contract.js';
import { SQLITE_NOTES_MIGRATION } from '../../../county/notes-sql.js';
import type { IncomingEventRecord } from '../../../protocol/event-record.js';
import { sqliteAtVersion } from '../../helpers/older-database.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
const file = (): string => {
  const d = tempDir('collector-migrate-');
  dirs.push(d);
  return join(d, 'county.db');
};

describe('SQLite collector migrations', () => {
  it('turns the per-seq lost rows of a version-1 database into ranges, keeping everything else', async () => {
    const path = file();
    const v1 = new Database(path);
    v1.exec(MIGRATIONS[0]!);
    v1.pragma('user_version = 1');
    v1.prepare('INSERT INTO stations (station_id, first_seen_at, watermark, max_seq, acked_seq) VALUES (?, ?, ?, ?, ?)').run('s', 'x', 12, 13, 12);
    for (const seq of [2, 3, 4, 7, 9, 10, 11]) v1.prepare('INSERT INTO lost VALUES (?, ?, ?)').run('s', seq, `2026-01-${String(seq).padStart(2, '0')}`);
    v1.close();

    const store = openSqliteCollectorStore(path);
    try {
      expect(await store.lost()).toEqual([
        { station_id: 's', from_seq: 2, to_seq: 4, noted_at: '2026-01-02' },
        { station_id: 's', from_seq: 7, to_seq: 7, noted_at: '2026-01-07' },
        { station_id: 's', from_seq: 9, to_seq: 11, noted_at: '2026-01-09' },
      ]);
      expect(await store.station('s')).toMatchObject({ watermark: 12, max_seq: 13, acked_seq: 12, quarantined: 0 });
      expect((await store.fleet())[0]!.agent_version).toBeNull();
    } finally {
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });

  it('migration 5 fills the usage month totals and the latest lamp events, and moves the documents, as the write path keeps them', async () => {
    const written = openSqliteCollectorStore(file());
    await written.apply(rollupWrites());
    const expected = await snapshot(written);
    await written.close();
    expect((expected as { lamps: string[] }).lamps).toEqual(['ra "p1"', 'ra "p2"', 'ra (none)', 'rb "p2"', 'rb (none)']);
    // The same records in a version-4 database, as the collector of that version stored them.
    const path = file();
    const v4 = new Database(path);
    for (const m of MIGRATIONS.slice(0, 4)) v4.exec(m);
    v4.pragma('user_version = 4');
    const rows = legacyRows();
    for (const st of rows.stations) {
      const inv = st.inventory === null ? null : (JSON.parse(st.inventory) as { station: Record<string, string> }).station;
      v4.prepare('INSERT INTO stations (station_id, first_seen_at, watermark, max_seq, acked_seq, town, timezone, inventory, inventory_at, heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        st.station_id, 'x', st.max_seq, st.max_seq, st.max_seq, inv?.['town'] ?? null, inv?.['timezone'] ?? null, st.inventory, 'y', '{"v":1}',
      );
    }
    for (const r of rows.records) v4.prepare('INSERT INTO records VALUES (?, ?, ?, ?, 0, ?, ?)').run(r[0], r[1], r[2], r[3], 'z', r[4]);
    for (const u of rows.usage) v4.prepare('INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(...u.map((x) => (typeof x === 'boolean' ? Number(x) : x)));
    for (const e of rows.events) v4.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)').run(...e);
    v4.close();
    const migrated = openSqliteCollectorStore(path);
    try {
      expect(await snapshot(migrated)).toEqual(expected);
    } finally {
      await migrated.close();
    }
  });

  it('migration 6 puts what a version-5 database holds in each station\'s legacy ledger: a re-imaged station\'s records then go above it', async () => {
    const path = file();
    const v5 = new Database(path);
    for (const m of MIGRATIONS.slice(0, 5)) v5.exec(m);
    v5.pragma('user_version = 5');
    const legacy = [1, 2, 3].map((seq) => eventWrite('s', seq, 'agent_start', undefined, { ledger: null, id: `01OLD-${seq}` }));
    v5.prepare('INSERT INTO stations (station_id, first_seen_at, watermark, max_seq, acked_seq) VALUES (?, ?, 3, 3, 3)').run('s', 'x');
    v5.prepare('INSERT INTO stations (station_id, first_seen_at) VALUES (?, ?)').run('quiet', 'x');
    for (const w of legacy) {
      const e = w.record as IncomingEventRecord;
      v5.prepare('INSERT INTO records (station_id, seq, stream, id, historical, received_at, payload) VALUES (?, ?, ?, ?, 0, ?, ?)').run('s', w.record.seq, 'events', w.record.id, 'z', w.raw);
      v5.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)').run('s', e.seq, e.ts, e.type, e.severity, null);
    }
    v5.close();

    const store = openSqliteCollectorStore(path);
    try {
      expect(await store.station('s')).toMatchObject({ ledger: '', ledger_base: 0, ledger_changed_at: null, watermark: 3, acked_seq: 3 });
      expect(await store.station('quiet')).toMatchObject({ ledger: null, ledger_base: 0 });
      expect(await store.ackedStations()).toEqual([{ station_id: 's', acked_seq: 3, ledger: '', ledger_base: 0 }]);
      // The PC is re-imaged with a new agent: its seq 1 is another record than the one stored.
      const fresh = eventWrite('s', 1, 'agent_start', undefined, { ledger: '01NEWLEDGER0000000000000BB', id: '01NEW-1' });
      expect(await store.apply([fresh])).toEqual([{ kind: 'record', outcome: 'stored' }]);
      expect(await store.station('s')).toMatchObject({ ledger: '01NEWLEDGER0000000000000BB', ledger_base: 3, watermark: 4 });
      expect((await store.record('s', 1))!.id).toBe('01OLD-1');
      expect((await store.record('s', 4))!.id).toBe('01NEW-1');
    } finally {
      await store.close();
    }
  });

  it('the notes migration fills each session\'s latest note from what is stored, as the write path keeps them', async () => {
    const writtenPath = file();
    const written = openSqliteCollectorStore(writtenPath);
    await written.apply(noteWrites());
    const expected = await notesSnapshot(written);
    await written.close();
    expect(Object.values(expected).filter((n) => n !== null)).toHaveLength(3);
    // The same rows as the collector before this migration kept them: no notes table (nor any later migration's).
    const before = MIGRATIONS.indexOf(SQLITE_NOTES_MIGRATION);
    expect(before).toBeGreaterThan(0);
    const path = file();
    sqliteAtVersion(writtenPath, path, MIGRATIONS, before);
    const migrated = openSqliteCollectorStore(path);
    try {
      expect(await notesSnapshot(migrated)).toEqual(expected);
    } finally {
      await migrated.close();
    }
  });

  it('refuses a database newer than this collector and leaves it as it was', async () => {
    const path = file();
    openSqliteCollectorStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => openSqliteCollectorStore(path)).toThrow(`schema version ${MIGRATIONS.length + 1}, newer than this collector (${MIGRATIONS.length})`);
    // The same on the collector's worker thread: the open rejects with the same message, the thread ends.
    await expect(openSqliteThreadStore(path)).rejects.toThrow(`schema version ${MIGRATIONS.length + 1}, newer than this collector (${MIGRATIONS.length})`);
    const again = new Database(path, { readonly: true });
    expect(again.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length + 1);
    again.close();
  });
});
