/** The SQLite collector database: its schema migrations and every statement sqlite-store.ts prepares. */
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly string[] = [
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

/** Stations by town (stations without one last), then id: the order both county tables print. */
const BY_TOWN = 'ORDER BY town IS NULL, town, station_id';
/** The columns of a StationRow (not the stored inventory and heartbeat documents). */
const STATION_COLUMNS = `station_id, name, town, county, level, timezone, online, boot, status_ts, heartbeat_ts, heartbeat_at,
  outbox_depth, watermark, max_seq, acked_seq`;

export const STATEMENTS = {
  ensure: 'INSERT OR IGNORE INTO stations (station_id, first_seen_at) VALUES (?, ?)',
  station: `SELECT ${STATION_COLUMNS} FROM stations WHERE station_id = ?`,
  stations: `SELECT ${STATION_COLUMNS} FROM stations ${BY_TOWN}`,
  status: 'UPDATE stations SET online = ?, boot = ?, status_ts = ?, status_at = ? WHERE station_id = ?',
  inventory: 'UPDATE stations SET name = ?, town = ?, county = ?, level = ?, timezone = ?, inventory = ?, inventory_at = ? WHERE station_id = ?',
  heartbeat: 'UPDATE stations SET heartbeat_ts = ?, heartbeat_at = ?, outbox_depth = ?, heartbeat = ? WHERE station_id = ?',
  device: `INSERT INTO devices (station_id, device_id, kind, driver, online, power, errors, lamp_hours, state, ts, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (station_id, device_id) DO UPDATE SET kind = excluded.kind, driver = excluded.driver,
             online = excluded.online, power = excluded.power, errors = excluded.errors, lamp_hours = excluded.lamp_hours,
             state = excluded.state, ts = excluded.ts, received_at = excluded.received_at
           WHERE excluded.ts >= devices.ts OR devices.ts IS NULL`,
  insertRecord: 'INSERT OR IGNORE INTO records (station_id, seq, stream, id, historical, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?)',
  recordId: 'SELECT id FROM records WHERE station_id = ? AND seq = ?',
  record: 'SELECT station_id, seq, stream, id, historical, received_at, payload FROM records WHERE station_id = ? AND seq = ?',
  countRecords: 'SELECT count(*) AS n FROM records',
  insertUsage: `INSERT INTO usage (station_id, seq, id, start_ms, end_ms, duration_s, signal_s, short, trigger, end_reason)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertEvent: 'INSERT INTO events (station_id, seq, ts, type, severity, device) VALUES (?, ?, ?, ?, ?, ?)',
  maxSeq: 'UPDATE stations SET max_seq = ? WHERE station_id = ? AND max_seq < ?',
  has: 'SELECT 1 FROM records WHERE station_id = ? AND seq = ? UNION ALL SELECT 1 FROM lost WHERE station_id = ? AND seq = ?',
  watermark: 'SELECT watermark FROM stations WHERE station_id = ?',
  setWatermark: 'UPDATE stations SET watermark = ? WHERE station_id = ?',
  nextStored: 'SELECT min(seq) AS seq FROM records WHERE station_id = ? AND seq > ?',
  gapStations: 'SELECT station_id, watermark, max_seq FROM stations WHERE max_seq > watermark',
  pendingAcks: 'SELECT station_id, watermark FROM stations WHERE watermark > acked_seq',
  markAcked: 'UPDATE stations SET acked_seq = ? WHERE station_id = ? AND acked_seq < ?',
  ackedStations: 'SELECT station_id, acked_seq FROM stations WHERE acked_seq > 0',
  insertLost: 'INSERT OR IGNORE INTO lost (station_id, seq, noted_at) VALUES (?, ?, ?)',
  lost: 'SELECT station_id, seq FROM lost ORDER BY station_id, seq',
  usageTotals: `SELECT u.station_id AS station_id,
                       sum(1 - u.short) AS sessions,
                       sum(CASE WHEN u.short = 0 THEN u.duration_s ELSE 0 END) AS duration_s,
                       sum(CASE WHEN u.short = 0 THEN u.signal_s ELSE 0 END) AS signal_s,
                       sum(u.short) AS short_sessions,
                       sum(CASE WHEN u.short = 1 THEN u.duration_s ELSE 0 END) AS short_duration_s
                  FROM usage u JOIN stations s ON s.station_id = u.station_id
                 WHERE u.start_ms >= ? AND u.start_ms < ? AND coalesce(s.timezone, ?) = ?
                 GROUP BY u.station_id`,
  missing: `SELECT s.station_id,
                   s.max_seq - s.watermark - (SELECT count(*) FROM records r WHERE r.station_id = s.station_id AND r.seq > s.watermark)
                     - (SELECT count(*) FROM lost l WHERE l.station_id = s.station_id AND l.seq > s.watermark) AS missing
              FROM stations s`,
  faultyDevices: `SELECT station_id, device_id FROM devices WHERE errors IS NOT NULL AND errors <> '[]' ORDER BY device_id`,
  // A lamp warning is active when the latest lamp event of that device (by seq) is the warning itself.
  lampWarnings: `SELECT station_id, device, type FROM (
                   SELECT station_id, device, type, row_number() OVER (PARTITION BY station_id, device ORDER BY seq DESC) AS n
                     FROM events WHERE type IN ('lamp_warning', 'lamp_warning_cleared'))
                  WHERE n = 1 AND type = 'lamp_warning' ORDER BY device`,
} as const;

export type Statements = { [K in keyof typeof STATEMENTS]: Database.Statement };
