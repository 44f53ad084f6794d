/** The SQLite collector database: its schema migrations and every statement sqlite-store.ts prepares. */
import type Database from 'better-sqlite3';
import { SESSION_COLUMNS, SQLITE_NOTES_MIGRATION } from './notes-sql.js';
import { VISITS_MIGRATION } from './sqlite-visit-sql.js';
import { SQLITE_AUDIT_MIGRATION } from './sqlite-audit.js';
import { NOTIFY_DISK_SQLITE_MIGRATION, NOTIFY_SQLITE_MIGRATION } from './sqlite-notify.js';

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
  // 2: the county console's needs (county/store.ts ConsoleStore).
  `
  ALTER TABLE stations ADD COLUMN agent_version TEXT;
  UPDATE stations SET agent_version = json_extract(inventory, '$.agent.version') WHERE inventory IS NOT NULL;
  -- at most one heartbeat per station and HEARTBEAT_HISTORY_STEP_MS bucket (by arrival), pruned after
  -- HEARTBEAT_HISTORY_DAYS: a province of 20,000 stations keeps ~40 million small rows, not billions.
  CREATE TABLE heartbeat_history (
    station_id TEXT NOT NULL, bucket INTEGER NOT NULL, ts TEXT NOT NULL,
    cpu_pct REAL, mem_pct REAL, disk_free_mb REAL, agent_rss_mb REAL, outbox_depth INTEGER, online_devices INTEGER,
    PRIMARY KEY (station_id, bucket)
  ) WITHOUT ROWID;
  CREATE INDEX heartbeat_history_bucket ON heartbeat_history (bucket);
  -- commands the console sent, one row per station addressed, and the station's answer
  CREATE TABLE pushes (
    station_id TEXT NOT NULL, transaction_id TEXT NOT NULL, push_id TEXT NOT NULL, action TEXT NOT NULL,
    args TEXT NOT NULL, sent_at TEXT NOT NULL, sent_by TEXT NOT NULL, status TEXT NOT NULL,
    response TEXT, responded_at TEXT,
    PRIMARY KEY (station_id, transaction_id)
  ) WITHOUT ROWID;
  CREATE INDEX pushes_push ON pushes (push_id);
  CREATE INDEX pushes_sent ON pushes (sent_at);
  CREATE INDEX records_stream ON records (station_id, stream, seq);
  `,
  // 3: losses as ranges (one row per run, never one per seq), quarantined far-ahead seqs, and partial
  // indexes so the ack and gap passes touch only the stations that have something to do.
  `
  CREATE TABLE lost_ranges (
    station_id TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, noted_at TEXT NOT NULL,
    PRIMARY KEY (station_id, from_seq)
  ) WITHOUT ROWID;
  INSERT INTO lost_ranges (station_id, from_seq, to_seq, noted_at)
    SELECT station_id, min(seq), max(seq), min(noted_at)
      FROM (SELECT station_id, seq, noted_at, seq - row_number() OVER (PARTITION BY station_id ORDER BY seq) AS run FROM lost)
     GROUP BY station_id, run;
  DROP TABLE lost;
  ALTER TABLE lost_ranges RENAME TO lost;
  ALTER TABLE stations ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE quarantine (
    station_id TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL, id TEXT NOT NULL,
    received_at TEXT NOT NULL, watermark INTEGER NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  ) WITHOUT ROWID;
  CREATE INDEX stations_unacked ON stations (station_id) WHERE watermark > acked_seq;
  CREATE INDEX stations_gap ON stations (station_id) WHERE max_seq > watermark;
  `,
  // 4: records (~500-byte payloads) in a rowid table with (station_id, seq) as its unique key: WITHOUT
  // ROWID suits small rows only, and measured 3-5× slower to insert into (docs/benchmarks.md). No
  // (station_id, stream, seq) index any more: the usage and events tables reach a station's records by
  // their own keys, one B-tree less to write per record.
  `
  CREATE TABLE records_rowid (
    station_id TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL, id TEXT NOT NULL,
    historical INTEGER NOT NULL, received_at TEXT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  );
  INSERT INTO records_rowid SELECT station_id, seq, stream, id, historical, received_at, payload FROM records ORDER BY station_id, seq;
  DROP TABLE records;
  ALTER TABLE records_rowid RENAME TO records;
  `,
  // 5: what the console reads, kept up to date as records are stored instead of recomputed from every
  // record on each page (as on PostgreSQL, docs/benchmarks.md "County console pages"), and a compact
  // station row (the documents in station_docs): usage totals per
  // station and UTC calendar month, and the latest lamp event (by seq) of each device, both maintained by
  // the write path from the rows it actually inserts (usageMonth, lampLatest below compute the month and
  // the key as this backfill does; tests/integration/collector/sqlite-migrations.test.ts checks it).
  // device_key: '' for an event without a device, '=' || device otherwise (NULLs are never equal in a key).
  `
  CREATE TABLE usage_month (
    station_id TEXT NOT NULL, month_ms INTEGER NOT NULL,
    sessions INTEGER NOT NULL, duration_s INTEGER NOT NULL, signal_s INTEGER NOT NULL,
    short_sessions INTEGER NOT NULL, short_duration_s INTEGER NOT NULL,
    PRIMARY KEY (station_id, month_ms)
  ) WITHOUT ROWID;
  INSERT INTO usage_month (station_id, month_ms, sessions, duration_s, signal_s, short_sessions, short_duration_s)
    SELECT station_id, CAST(strftime('%s', start_ms / 1000.0, 'unixepoch', 'start of month') AS INTEGER) * 1000,
           sum(1 - short), sum(CASE WHEN short = 0 THEN duration_s ELSE 0 END), sum(CASE WHEN short = 0 THEN signal_s ELSE 0 END),
           sum(short), sum(CASE WHEN short = 1 THEN duration_s ELSE 0 END)
      FROM usage GROUP BY 1, 2;
  CREATE TABLE lamp_latest (
    station_id TEXT NOT NULL, device_key TEXT NOT NULL, device TEXT, seq INTEGER NOT NULL, type TEXT NOT NULL,
    PRIMARY KEY (station_id, device_key)
  ) WITHOUT ROWID;
  INSERT INTO lamp_latest (station_id, device_key, device, seq, type)
    SELECT station_id, coalesce('=' || device, ''), device, seq, type FROM (
      SELECT station_id, device, seq, type, row_number() OVER (PARTITION BY station_id, device ORDER BY seq DESC) AS n
        FROM events WHERE type IN ('lamp_warning', 'lamp_warning_cleared'))
     WHERE n = 1;
  -- The inventory and heartbeat documents (1-3 KB) move out of the station row, which every heartbeat
  -- and every batch of records rewrites (SQLite writes the whole row each time) and every fleet page reads.
  CREATE TABLE station_docs (
    station_id TEXT PRIMARY KEY,
    inventory TEXT, inventory_at TEXT, heartbeat TEXT
  );
  INSERT INTO station_docs (station_id, inventory, inventory_at, heartbeat)
    SELECT station_id, inventory, inventory_at, heartbeat FROM stations WHERE inventory IS NOT NULL OR heartbeat IS NOT NULL;
  CREATE TABLE stations_compact (
    station_id TEXT PRIMARY KEY,
    name TEXT, town TEXT, county TEXT, level TEXT, timezone TEXT,
    online INTEGER, boot INTEGER, status_ts TEXT, status_at TEXT, agent_version TEXT,
    heartbeat_ts TEXT, heartbeat_at TEXT, outbox_depth INTEGER,
    watermark INTEGER NOT NULL DEFAULT 0,
    max_seq INTEGER NOT NULL DEFAULT 0,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0,
    first_seen_at TEXT NOT NULL
  );
  INSERT INTO stations_compact (station_id, name, town, county, level, timezone, online, boot, status_ts, status_at, agent_version,
                                heartbeat_ts, heartbeat_at, outbox_depth, watermark, max_seq, acked_seq, quarantined, first_seen_at)
    SELECT station_id, name, town, county, level, timezone, online, boot, status_ts, status_at, agent_version,
           heartbeat_ts, heartbeat_at, outbox_depth, watermark, max_seq, acked_seq, quarantined, first_seen_at
      FROM stations ORDER BY station_id;
  DROP TABLE stations;
  ALTER TABLE stations_compact RENAME TO stations;
  CREATE INDEX stations_unacked ON stations (station_id) WHERE watermark > acked_seq;
  CREATE INDEX stations_gap ON stations (station_id) WHERE max_seq > watermark;
  `,
  // 6: ledgers (county/ledgers.ts, docs/mqtt.md "Ledgers"): each station database's records at a base in
  // the station's seq space. What is stored already came from agents older than ledgers: the legacy
  // ledger '' at base 0, so records, watermarks and acks stay as they are.
  `
  CREATE TABLE ledgers (
    station_id TEXT NOT NULL, ledger TEXT NOT NULL, base INTEGER NOT NULL, end_seq INTEGER, first_seen_at TEXT NOT NULL,
    PRIMARY KEY (station_id, ledger)
  ) WITHOUT ROWID;
  ALTER TABLE stations ADD COLUMN ledger TEXT;
  ALTER TABLE stations ADD COLUMN ledger_base INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE stations ADD COLUMN ledger_changed_at TEXT;
  INSERT INTO ledgers (station_id, ledger, base, end_seq, first_seen_at)
    SELECT station_id, '', 0, NULL, first_seen_at FROM stations WHERE max_seq > 0;
  UPDATE stations SET ledger = '' WHERE max_seq > 0;
  `,
  // Notes typed on site (county/notes.ts): the latest note of each session.
  SQLITE_NOTES_MIGRATION,
  // Visits (county/visit-store.ts): a clean stop's status reason, declared opening hours, the latest run
  // of each schedule, and the visit items with their lifecycle (sqlite-visit-sql.ts).
  VISITS_MIGRATION,
  // accounts: the console's audit log (操作日志, county/audit.ts; the table is in sqlite-audit.ts).
  SQLITE_AUDIT_MIGRATION,
  // The schedule push form (issue 22): how the clerk chose a push's stations (one town, one station, all),
  // so the history says to whom it went in words. Older rows keep null.
  `
  ALTER TABLE pushes ADD COLUMN target TEXT;
  `,
  // Group notifications (county/notify/, docs/county.md "Group notifications"): the durable queue per
  // target, the messages sent, the targets (URLs masked), what was already told (marks) and each station's
  // event cursor; tables and statements in sqlite-notify.ts. Why a station last went offline (a clean stop
  // is no news) is the visits migration's stations.status_reason.
  NOTIFY_SQLITE_MIGRATION,
  // Disk nearly full (group notifications): each station's free disk space by its latest heartbeat (sqlite-notify.ts).
  NOTIFY_DISK_SQLITE_MIGRATION,
];

/** The usage rows starting in [lo, hi), as totals each multiplied by `sign` (+1 or −1). */
const edgeRows = (lo: string, hi: string, sign: string): string =>
  `SELECT station_id, ${sign} * (1 - short), ${sign} * (1 - short) * duration_s, ${sign} * (1 - short) * signal_s, ${sign} * short, ${sign} * short * duration_s
     FROM usage WHERE start_ms >= ${lo} AND start_ms < ${hi}`;

/** Stations by town (stations without one last), then id: the order both county tables print. */
const BY_TOWN = 'ORDER BY town IS NULL, town, station_id';
/** The columns of a StationRow (not the stored inventory and heartbeat documents). */
const STATION_COLUMNS = `station_id, name, town, county, level, timezone, online, boot, status_ts, status_at, status_reason, heartbeat_ts, heartbeat_at,
  outbox_depth, watermark, max_seq, acked_seq, quarantined, ledger, ledger_base, ledger_changed_at, opening_hours`;
// errors beyond 64 KiB (rows stored before the county capped faults) are read as a prefix and a length
// (store-rows.ts ERRORS_PREFIX): thousands of faults per device must not be read on every page.
const DEVICE_COLUMNS = `station_id, device_id, kind, driver, online, power,
  CASE WHEN length(errors) > 65536 THEN substr(errors, 1, 65536) ELSE errors END AS errors,
  CASE WHEN length(errors) > 65536 THEN json_array_length(errors) END AS errors_total, lamp_hours, ts, received_at`;

export const STATEMENTS = {
  ensure: 'INSERT OR IGNORE INTO stations (station_id, first_seen_at) VALUES (?, ?)',
  station: `SELECT ${STATION_COLUMNS} FROM stations WHERE station_id = ?`,
  stations: `SELECT ${STATION_COLUMNS} FROM stations ${BY_TOWN}`,
  status: 'UPDATE stations SET online = ?, boot = ?, status_ts = ?, status_at = ?, status_reason = ?, agent_version = coalesce(?, agent_version) WHERE station_id = ?',
  inventory: 'UPDATE stations SET name = ?, town = ?, county = ?, level = ?, timezone = ?, opening_hours = ? WHERE station_id = ?',
  inventoryDocPut: `INSERT INTO station_docs (station_id, inventory, inventory_at) VALUES (?, ?, ?)
                    ON CONFLICT (station_id) DO UPDATE SET inventory = excluded.inventory, inventory_at = excluded.inventory_at`,
  heartbeat: 'UPDATE stations SET heartbeat_ts = ?, heartbeat_at = ?, outbox_depth = ?, disk_free_pct = ?, disk_free_mb = ? WHERE station_id = ?',
  // The whole document only with the history point (every HEARTBEAT_HISTORY_STEP_MS): 1 KB less per heartbeat.
  heartbeatDoc: 'INSERT INTO station_docs (station_id, heartbeat) VALUES (?, ?) ON CONFLICT (station_id) DO UPDATE SET heartbeat = excluded.heartbeat',
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
  // A newly inserted usage row into its station's UTC-month totals (the month as migration 5 computes it).
  usageMonth: `INSERT INTO usage_month AS m (station_id, month_ms, sessions, duration_s, signal_s, short_sessions, short_duration_s)
               VALUES ($s, CAST(strftime('%s', $start / 1000.0, 'unixepoch', 'start of month') AS INTEGER) * 1000,
                       1 - $short, $duration * (1 - $short), $signal * (1 - $short), $short, $duration * $short)
               ON CONFLICT (station_id, month_ms) DO UPDATE SET sessions = m.sessions + excluded.sessions, duration_s = m.duration_s + excluded.duration_s,
                 signal_s = m.signal_s + excluded.signal_s, short_sessions = m.short_sessions + excluded.short_sessions,
                 short_duration_s = m.short_duration_s + excluded.short_duration_s`,
  // A newly inserted lamp event, if it is its device's latest by seq (whatever the arrival order).
  lampLatest: `INSERT INTO lamp_latest AS l (station_id, device_key, device, seq, type) VALUES ($s, coalesce('=' || $device, ''), $device, $seq, $type)
               ON CONFLICT (station_id, device_key) DO UPDATE SET seq = excluded.seq, type = excluded.type WHERE excluded.seq > l.seq`,
  // The station's cursor with its ledgers, one row per ledger (one query per station and batch, not three).
  cursor: `SELECT s.watermark, s.max_seq, s.quarantined, s.ledger AS current, l.ledger, l.base, l.end_seq
             FROM stations s LEFT JOIN ledgers l ON l.station_id = s.station_id WHERE s.station_id = ?`,
  settle: 'UPDATE stations SET max_seq = ?, watermark = ?, quarantined = ? WHERE station_id = ?',
  hasRecord: 'SELECT 1 FROM records WHERE station_id = ? AND seq = ?',
  // The last seq of the run of stored records that starts right above ?: walks the index in seq order
  // and stops at the first record without a successor (ORDER BY … LIMIT 1, not min(), so it stops).
  runEnd: `SELECT r.seq FROM records r WHERE r.station_id = ? AND r.seq > ?
             AND NOT EXISTS (SELECT 1 FROM records n WHERE n.station_id = r.station_id AND n.seq = r.seq + 1)
           ORDER BY r.seq LIMIT 1`,
  lostCover: 'SELECT to_seq FROM lost WHERE station_id = ? AND from_seq <= ? ORDER BY from_seq DESC LIMIT 1',
  nextStored: 'SELECT min(seq) AS seq FROM records WHERE station_id = ? AND seq > ?',
  nextLost: 'SELECT min(from_seq) AS seq FROM lost WHERE station_id = ? AND from_seq > ?',
  gapStations: 'SELECT station_id, watermark, max_seq, ledger, ledger_base FROM stations WHERE max_seq > watermark',
  pendingAcks: 'SELECT station_id, watermark, ledger, ledger_base FROM stations WHERE watermark > acked_seq',
  markAcked: 'UPDATE stations SET acked_seq = ? WHERE station_id = ? AND acked_seq < ?',
  ackedStations: 'SELECT station_id, acked_seq, ledger, ledger_base FROM stations WHERE acked_seq > 0',
  // ---- ledgers (county/ledgers.ts)
  ledgerInsert: 'INSERT INTO ledgers (station_id, ledger, base, end_seq, first_seen_at) VALUES (?, ?, ?, NULL, ?)',
  ledgerEnd: 'UPDATE ledgers SET end_seq = ? WHERE station_id = ? AND end_seq IS NULL AND ledger <> ?',
  // acked_seq −1: the retained ack must be published again, now naming this ledger (the claim picks it up).
  ledgerSwitch: `UPDATE stations SET ledger = ?, ledger_base = ?, acked_seq = CASE WHEN ? THEN -1 ELSE acked_seq END,
                   ledger_changed_at = CASE WHEN ? THEN ? ELSE ledger_changed_at END WHERE station_id = ?`,
  // The holes of [$a, $b]: what lies between the stored records and known lost ranges in it, inserted as
  // ranges by one statement. The running max of the ends before each covered interval handles overlaps.
  insertLost: `INSERT INTO lost (station_id, from_seq, to_seq, noted_at)
               SELECT $s, hf, ht, $now FROM (
                 SELECT max(t) OVER (ORDER BY f, t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1 AS hf, f - 1 AS ht
                   FROM (SELECT seq AS f, seq AS t FROM records WHERE station_id = $s AND seq BETWEEN $a AND $b
                         UNION ALL SELECT from_seq, to_seq FROM lost WHERE station_id = $s AND to_seq >= $a AND from_seq <= $b
                         UNION ALL SELECT $a - 1, $a - 1
                         UNION ALL SELECT $b + 1, $b + 1))
                WHERE ht >= hf
               RETURNING from_seq, to_seq`,
  lost: 'SELECT station_id, from_seq, to_seq, noted_at FROM lost ORDER BY station_id, from_seq',
  quarantine: `INSERT OR IGNORE INTO quarantine (station_id, seq, stream, id, received_at, watermark, payload) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  quarantinedAll: 'SELECT station_id, seq, stream, id, received_at, watermark, payload FROM quarantine ORDER BY station_id, seq',
  quarantinedOf: 'SELECT station_id, seq, stream, id, received_at, watermark, payload FROM quarantine WHERE station_id = ? ORDER BY seq',
  // The month totals of the UTC months the window mostly covers, corrected by the usage rows of its two
  // edges (store-rows.ts monthSplit(); the same statement as on PostgreSQL).
  usageTotals: `SELECT t.station_id AS station_id, sum(t.sessions) AS sessions, sum(t.duration_s) AS duration_s, sum(t.signal_s) AS signal_s,
                       sum(t.short_sessions) AS short_sessions, sum(t.short_duration_s) AS short_duration_s
                  FROM (SELECT station_id, sessions, duration_s, signal_s, short_sessions, short_duration_s
                          FROM usage_month WHERE month_ms >= $from AND month_ms < $to
                        UNION ALL
                        ${edgeRows('$lo1', '$hi1', '$sign1')}
                        UNION ALL
                        ${edgeRows('$lo2', '$hi2', '$sign2')}) t
                 WHERE t.station_id IN (SELECT station_id FROM stations WHERE coalesce(timezone, $defaultZone) = $zone)
                 GROUP BY t.station_id
                HAVING sum(t.sessions) + sum(t.short_sessions) > 0`,
  missing: `SELECT s.station_id,
                   s.max_seq - s.watermark - (SELECT count(*) FROM records r WHERE r.station_id = s.station_id AND r.seq > s.watermark)
                     - (SELECT coalesce(sum(min(l.to_seq, s.max_seq) - max(l.from_seq, s.watermark + 1) + 1), 0) FROM lost l
                         WHERE l.station_id = s.station_id AND l.to_seq > s.watermark AND l.from_seq <= s.max_seq) AS missing
              FROM stations s WHERE s.max_seq > s.watermark`,
  faultyDevices: `SELECT station_id, device_id FROM devices WHERE errors IS NOT NULL AND errors <> '[]' ORDER BY device_id`,
  // A lamp warning is active when the latest lamp event of that device (by seq) is the warning itself.
  lampWarnings: `SELECT station_id, device FROM lamp_latest WHERE type = 'lamp_warning' ORDER BY device`,
  // A note typed on site (notes.ts): kept when it is its session's latest by seq, whatever the arrival order.
  noteUpsert: `INSERT INTO session_notes AS n (station_id, session_id, seq, topic, attendees, organiser, note) VALUES ($s, $id, $seq, $topic, $attendees, $organiser, $note)
               ON CONFLICT (station_id, session_id) DO UPDATE SET seq = excluded.seq, topic = excluded.topic, attendees = excluded.attendees,
                 organiser = excluded.organiser, note = excluded.note WHERE excluded.seq > n.seq`,
  // ---- the console's (ConsoleStore)
  fleetStations: `SELECT ${STATION_COLUMNS}, agent_version FROM stations ${BY_TOWN}`,
  faultyDeviceRows: `SELECT ${DEVICE_COLUMNS} FROM devices WHERE errors IS NOT NULL AND errors <> '[]' ORDER BY station_id, device_id`,
  lampWarningHours: `SELECT l.station_id, l.device, d.lamp_hours FROM lamp_latest l
                       LEFT JOIN devices d ON d.station_id = l.station_id AND d.device_id = l.device
                      WHERE l.type = 'lamp_warning' ORDER BY l.station_id, l.device`,
  // Devices of the kinds that count as use by default (docs/design.md §6) switched on: a class in progress.
  activeDevices: `SELECT station_id, device_id, kind FROM devices
                   WHERE online = 1 AND power IN ('on', 'warming') AND kind IN ('projector', 'led_display', 'amplifier') ORDER BY station_id, device_id`,
  inventoryDoc: 'SELECT inventory FROM station_docs WHERE station_id = ?',
  // Only the devices of each document (a few hundred bytes of its 1-3 KB), for the listed stations.
  inventoryDevices: `SELECT station_id, CASE WHEN json_valid(inventory) THEN json_extract(inventory, '$.devices') END AS devices FROM station_docs
                      WHERE station_id IN (SELECT value FROM json_each(?)) AND inventory IS NOT NULL ORDER BY station_id`,
  deviceRows: `SELECT ${DEVICE_COLUMNS} FROM devices WHERE station_id = ? ORDER BY device_id`,
  usagePayloads: `SELECT r.payload FROM usage u JOIN records r ON r.station_id = u.station_id AND r.seq = u.seq
                   WHERE u.station_id = ? ORDER BY u.seq DESC LIMIT ?`,
  // Sessions with their notes (ConsoleStore.sessions): one station's latest, or a month's in one time zone by town.
  stationSessions: `SELECT ${SESSION_COLUMNS} FROM usage u LEFT JOIN session_notes n ON n.station_id = u.station_id AND n.session_id = u.id
                     WHERE u.station_id = ? ORDER BY u.seq DESC LIMIT ?`,
  windowSessions: `SELECT ${SESSION_COLUMNS} FROM usage u JOIN stations s ON s.station_id = u.station_id
                          LEFT JOIN session_notes n ON n.station_id = u.station_id AND n.session_id = u.id
                    WHERE u.start_ms >= $lo AND u.start_ms < $hi AND coalesce(s.timezone, $defaultZone) = $zone AND ($anyTown OR s.town IS $town)
                    ORDER BY s.town IS NULL, s.town, u.station_id, u.start_ms, u.seq LIMIT $limit`,
  eventPayloads: `SELECT r.payload FROM events e JOIN records r ON r.station_id = e.station_id AND r.seq = e.seq
                   WHERE e.station_id = ? ORDER BY e.seq DESC LIMIT ?`,
  eventPayloadsOfTypes: `SELECT r.payload FROM events e JOIN records r ON r.station_id = e.station_id AND r.seq = e.seq
                          WHERE e.station_id = ? AND e.type IN (SELECT value FROM json_each(?)) ORDER BY e.seq DESC LIMIT ?`,
  historyInsert: `INSERT OR IGNORE INTO heartbeat_history (station_id, bucket, ts, cpu_pct, mem_pct, disk_free_mb, agent_rss_mb, outbox_depth, online_devices)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  historyPrune: 'DELETE FROM heartbeat_history WHERE bucket < ?',
  history: `SELECT ts, cpu_pct, mem_pct, disk_free_mb, agent_rss_mb, outbox_depth, online_devices FROM heartbeat_history
             WHERE station_id = ? AND bucket >= ? ORDER BY bucket`,
  pushInsert: `INSERT INTO pushes (station_id, transaction_id, push_id, action, args, sent_at, sent_by, status, response, responded_at, target)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  pushRespond: `UPDATE pushes SET status = ?, response = ?, responded_at = ? WHERE station_id = ? AND transaction_id = ? AND status = 'sent'`,
  pushKnown: 'SELECT 1 FROM pushes WHERE station_id = ? AND transaction_id = ?',
  pushRows: `SELECT push_id, transaction_id AS "transaction", station_id, action, args, sent_at, sent_by, status, response, responded_at, target
               FROM pushes WHERE push_id = ? ORDER BY station_id`,
  recentPushes: `SELECT push_id, max(action) AS action, max(args) AS args, max(target) AS target, min(sent_at) AS sent_at, max(sent_by) AS sent_by, count(*) AS stations,
                        sum(status = 'ok') AS ok, sum(status = 'error') AS error
                   FROM pushes GROUP BY push_id ORDER BY min(sent_at) DESC, push_id DESC LIMIT ?`,
  // A town account's view (county/console/access.ts): only the rows of its towns' stations count.
  recentPushesOfTowns: `SELECT p.push_id, max(p.action) AS action, max(p.args) AS args, max(p.target) AS target, min(p.sent_at) AS sent_at, max(p.sent_by) AS sent_by, count(*) AS stations,
                        sum(p.status = 'ok') AS ok, sum(p.status = 'error') AS error
                   FROM pushes p JOIN stations s ON s.station_id = p.station_id
                  WHERE s.town IN (SELECT value FROM json_each(?))
                  GROUP BY p.push_id ORDER BY min(p.sent_at) DESC, p.push_id DESC LIMIT ?`,
} as const;

export type Statements = { [K in keyof typeof STATEMENTS]: Database.Statement };
