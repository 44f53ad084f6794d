/**
 * The county collector's SQLite store. Durable records are keyed by `(station_id, seq)` (docs/design.md §5):
 * a duplicate is a no-op, a gap is visible as `max_seq > watermark`. Several collectors may share one
 * database file (WAL + busy timeout); every read-modify-write runs in an IMMEDIATE transaction so two
 * processes never advance the same watermark from stale reads.
 */
import Database from 'better-sqlite3';
import type { UsageRecord } from '../../agent/sessions/record.js';
import type { EventRecord } from '../../agent/events.js';
import type { DeviceStatePayload, Heartbeat, Inventory, Status } from '../../agent/county/payloads.js';

export type Db = Database.Database;

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE stations (
    station_id TEXT PRIMARY KEY,
    name TEXT, town TEXT, county TEXT, level TEXT, timezone TEXT,
    online INTEGER, boot INTEGER, status_ts TEXT, status_at TEXT,
    heartbeat_ts TEXT, heartbeat_at TEXT, outbox_depth INTEGER, heartbeat TEXT,
    inventory TEXT, inventory_at TEXT,
    watermark INTEGER NOT NULL DEFAULT 0,
    max_seq INTEGER NOT NULL DEFAULT 0,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    first_seen_at TEXT NOT NULL
  );
  CREATE TABLE devices (
    station_id TEXT NOT NULL, device_id TEXT NOT NULL,
    kind TEXT, driver TEXT, online INTEGER, power TEXT, errors TEXT, lamp_hours REAL,
    state TEXT NOT NULL, ts TEXT, received_at TEXT NOT NULL,
    PRIMARY KEY (station_id, device_id)
  ) WITHOUT ROWID;
  CREATE TABLE records (
    station_id TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL, id TEXT NOT NULL,
    historical INTEGER NOT NULL, received_at TEXT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE usage (
    station_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
    start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, duration_s INTEGER NOT NULL, signal_s INTEGER NOT NULL,
    short INTEGER NOT NULL, trigger TEXT NOT NULL, end_reason TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  ) WITHOUT ROWID;
  CREATE INDEX usage_start ON usage (start_ms);
  CREATE TABLE events (
    station_id TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL, type TEXT NOT NULL,
    severity TEXT NOT NULL, device TEXT,
    PRIMARY KEY (station_id, seq)
  ) WITHOUT ROWID;
  CREATE INDEX events_type ON events (type, station_id, device, seq);
  -- seqs the station itself no longer has (it answered a resend with count 0): the watermark steps over
  -- them so the station's outbox can drain, and they stay here as evidence of the loss.
  CREATE TABLE lost (
    station_id TEXT NOT NULL, seq INTEGER NOT NULL, noted_at TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  ) WITHOUT ROWID;
  `,
];

export type StoreOutcome = 'stored' | 'duplicate' | 'conflict';

export interface GapInfo {
  station_id: string;
  watermark: number;
  max_seq: number;
  /** First missing seq and the last one before the next stored record. */
  from_seq: number;
  to_seq: number;
}

export interface StationRow {
  station_id: string;
  name: string | null;
  town: string | null;
  county: string | null;
  level: string | null;
  timezone: string | null;
  online: number | null;
  boot: number | null;
  status_ts: string | null;
  heartbeat_ts: string | null;
  heartbeat_at: string | null;
  outbox_depth: number | null;
  watermark: number;
  max_seq: number;
  acked_seq: number;
}

export function openCollectorDb(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // Records are acked to stations once stored: losing a committed row after an ack would lose it for good.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new Error(`${path} has schema version ${version}, newer than this collector (${MIGRATIONS.length})`);
  }
  if (version < MIGRATIONS.length) {
    db.transaction(() => {
      // Re-read inside the lock: a second collector may have migrated meanwhile.
      const v = db.pragma('user_version', { simple: true }) as number;
      for (let i = v; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
      db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
  }
  return db;
}

export class CollectorStore {
  private readonly s;

  constructor(readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      ensure: p('INSERT OR IGNORE INTO stations (station_id, first_seen_at) VALUES (?, ?)'),
      station: p('SELECT * FROM stations WHERE station_id = ?'),
      status: p('UPDATE stations SET online = ?, boot = ?, status_ts = ?, status_at = ? WHERE station_id = ?'),
      inventory: p(
        'UPDATE stations SET name = ?, town = ?, county = ?, level = ?, timezone = ?, inventory = ?, inventory_at = ? WHERE station_id = ?',
      ),
      heartbeat: p('UPDATE stations SET heartbeat_ts = ?, heartbeat_at = ?, outbox_depth = ?, heartbeat = ? WHERE station_id = ?'),
      device: p(
        `INSERT INTO devices (station_id, device_id, kind, driver, online, power, errors, lamp_hours, state, ts, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (station_id, device_id) DO UPDATE SET kind = excluded.kind, driver = excluded.driver,
           online = excluded.online, power = excluded.power, errors = excluded.errors, lamp_hours = excluded.lamp_hours,
           state = excluded.state, ts = excluded.ts, received_at = excluded.received_at
         WHERE excluded.ts >= devices.ts OR devices.ts IS NULL`,
      ),
      insertRecord: p(
        'INSERT OR IGNORE INTO records (station_id, seq, stream, id, historical, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      recordId: p('SELECT id FROM records WHERE station_id = ? AND seq = ?'),
      insertUsage: p(
        `INSERT INTO usage (station_id, seq, id, start_ms, end_ms, duration_s, signal_s, short, trigger, end_reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertEvent: p('INSERT INTO events (station_id, seq, ts, type, severity, device) VALUES (?, ?, ?, ?, ?, ?)'),
      maxSeq: p('UPDATE stations SET max_seq = ? WHERE station_id = ? AND max_seq < ?'),
      has: p('SELECT 1 FROM records WHERE station_id = ? AND seq = ? UNION ALL SELECT 1 FROM lost WHERE station_id = ? AND seq = ?'),
      watermark: p('SELECT watermark FROM stations WHERE station_id = ?'),
      setWatermark: p('UPDATE stations SET watermark = ? WHERE station_id = ?'),
      nextStored: p('SELECT min(seq) AS seq FROM records WHERE station_id = ? AND seq > ?'),
      gapStations: p('SELECT station_id, watermark, max_seq FROM stations WHERE max_seq > watermark'),
      pendingAcks: p('SELECT station_id, watermark FROM stations WHERE watermark > acked_seq'),
      markAcked: p('UPDATE stations SET acked_seq = ? WHERE station_id = ? AND acked_seq < ?'),
      insertLost: p('INSERT OR IGNORE INTO lost (station_id, seq, noted_at) VALUES (?, ?, ?)'),
    };
  }

  /** Stations known to have a row: saves an INSERT per message on the hot path. */
  private readonly known = new Set<string>();

  private ensure(stationId: string): void {
    if (this.known.has(stationId)) return;
    this.s.ensure.run(stationId, new Date().toISOString());
    this.known.add(stationId);
  }

  /** Runs `fn` in one IMMEDIATE transaction (batches many messages into one fsync). */
  batch<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      // The rollback may have taken rows ensure() remembers.
      this.known.clear();
      throw err;
    }
  }

  station(stationId: string): StationRow | undefined {
    return this.s.station.get(stationId) as StationRow | undefined;
  }

  /** False when the status is an out-of-date Last Will (its MQTT session is older than the known one). */
  putStatus(stationId: string, status: Status, receivedAt: string): boolean {
    this.ensure(stationId);
    const row = this.station(stationId)!;
    if (!status.online && row.boot !== null && status.boot < row.boot) return false;
    const ts = status.online ? status.ts : null;
    this.s.status.run(status.online ? 1 : 0, status.boot, ts, receivedAt, stationId);
    return true;
  }

  putInventory(stationId: string, inv: Inventory, receivedAt: string): void {
    this.ensure(stationId);
    const st = inv.station;
    this.s.inventory.run(st.name, st.town, st.county, st.level, st.timezone, JSON.stringify(inv), receivedAt, stationId);
  }

  putHeartbeat(stationId: string, hb: Heartbeat, receivedAt: string): void {
    this.ensure(stationId);
    this.s.heartbeat.run(hb.ts, receivedAt, hb.outbox.depth, JSON.stringify(hb), stationId);
  }

  putDeviceState(stationId: string, deviceId: string, st: DeviceStatePayload, receivedAt: string): void {
    this.ensure(stationId);
    this.s.device.run(
      stationId,
      deviceId,
      st.kind,
      st.driver,
      st.online ? 1 : 0,
      st.power,
      JSON.stringify(st.errors),
      st.lamp_hours ?? null,
      JSON.stringify(st),
      st.ts,
      receivedAt,
    );
  }

  /** Stores a durable record once; the watermark advances over every contiguous seq now present. */
  putRecord(stationId: string, stream: 'usage' | 'events', rec: UsageRecord | EventRecord, raw: string, receivedAt: string): StoreOutcome {
    this.ensure(stationId);
    const r = this.s.insertRecord.run(stationId, rec.seq, stream, rec.id, rec.historical ? 1 : 0, receivedAt, raw);
    if (r.changes === 0) {
      const existing = this.s.recordId.get(stationId, rec.seq) as { id: string };
      return existing.id === rec.id ? 'duplicate' : 'conflict';
    }
    if (stream === 'usage') {
      const u = rec as UsageRecord;
      this.s.insertUsage.run(
        stationId,
        u.seq,
        u.id,
        Date.parse(u.start),
        Date.parse(u.end),
        u.duration_s,
        u.signal_s,
        u.short ? 1 : 0,
        u.trigger,
        u.end_reason,
      );
    } else {
      const e = rec as EventRecord;
      this.s.insertEvent.run(stationId, e.seq, e.ts, e.type, e.severity, e.device ?? null);
    }
    this.s.maxSeq.run(rec.seq, stationId, rec.seq);
    this.advance(stationId);
    return 'stored';
  }

  private advance(stationId: string): number {
    const start = (this.s.watermark.get(stationId) as { watermark: number }).watermark;
    let wm = start;
    while (this.s.has.get(stationId, wm + 1, stationId, wm + 1) !== undefined) wm++;
    if (wm !== start) this.s.setWatermark.run(wm, stationId);
    return wm;
  }

  /** The first gap of every station that has one. */
  gaps(): GapInfo[] {
    const rows = this.s.gapStations.all() as Array<{ station_id: string; watermark: number; max_seq: number }>;
    return rows.map((r) => {
      const next = (this.s.nextStored.get(r.station_id, r.watermark) as { seq: number | null }).seq ?? r.max_seq + 1;
      return { ...r, from_seq: r.watermark + 1, to_seq: next - 1 };
    });
  }

  /** Stations whose contiguous watermark is above what was last acked to them. */
  pendingAcks(): Array<{ station_id: string; watermark: number }> {
    return this.s.pendingAcks.all() as Array<{ station_id: string; watermark: number }>;
  }

  /** False when another collector already acked this far (nothing to publish). */
  markAcked(stationId: string, seq: number): boolean {
    return this.s.markAcked.run(seq, stationId, seq).changes > 0;
  }

  /** Records seqs the station reports it no longer holds; only seqs not stored and below max_seq. */
  markLost(stationId: string, fromSeq: number, toSeq: number): number {
    const row = this.station(stationId);
    if (!row) return 0;
    const until = Math.min(toSeq, row.max_seq - 1);
    const now = new Date().toISOString();
    let n = 0;
    for (let seq = Math.max(fromSeq, row.watermark + 1); seq <= until; seq++) {
      if (this.s.has.get(stationId, seq, stationId, seq) === undefined) n += this.s.insertLost.run(stationId, seq, now).changes;
    }
    this.advance(stationId);
    return n;
  }

  close(): void {
    this.db.close();
  }
}
