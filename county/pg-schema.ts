/**
 * The PostgreSQL collector database: its versioned migrations (like the agent's and the SQLite store's:
 * an ordered list, applied in one transaction under an advisory lock, a newer schema refused) and the
 * SQL pg-store.ts and pg-reads.ts run. Times are kept as the ISO-8601 text the stations and the
 * collector write (the same strings as on SQLite); seqs are BIGINT, read back as numbers (they are safe
 * integers: ingest.ts).
 */
import { PG_AUDIT_MIGRATION } from './pg-audit.js';
import { PUSH_PG_SQL, PUSH_TARGET_PG_MIGRATION } from './pg-push-sql.js';
import { VISITS_PG_MIGRATION } from './pg-visit-sql.js';
import { NOTIFY_DISK_PG_MIGRATION, NOTIFY_PG_MIGRATION } from './pg-notify.js';

/** The UTC calendar month of a session start (UTC ms), as UTC ms: integer arithmetic, no float rounding. */
const MONTH_OF_START = `(extract(epoch FROM date_trunc('month', timestamp '1970-01-01' + start_ms * interval '1 millisecond')) * 1000)::bigint`;

/** usage_month rows summed from `source` (the rows an insert returned; migration 2 backfilled the same way). */
const usageMonthSelect = (source: string): string =>
  `SELECT station_id, ${MONTH_OF_START} AS month_ms,
          count(*) FILTER (WHERE NOT short), coalesce(sum(duration_s) FILTER (WHERE NOT short), 0), coalesce(sum(signal_s) FILTER (WHERE NOT short), 0),
          count(*) FILTER (WHERE short), coalesce(sum(duration_s) FILTER (WHERE short), 0)
     FROM ${source} GROUP BY 1, 2`;

/** The latest lamp event (by seq) of each device among `source`'s rows (the rows an insert returned). */
const lampLatestSelect = (source: string): string =>
  `SELECT DISTINCT ON (station_id, device) station_id, coalesce('=' || device, ''), device, seq, type
     FROM ${source} WHERE type IN ('lamp_warning', 'lamp_warning_cleared') ORDER BY station_id, device, seq DESC`;

import { PG_NOTES_MIGRATION, SESSION_COLUMNS } from './notes-sql.js';

/** The table holding the schema version (one row). */
export const VERSION_TABLE = 'county_schema';
/** pg_advisory_xact_lock key: collectors starting together migrate one after the other. */
export const MIGRATION_LOCK = 7_263_001;

export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE stations (
    station_id TEXT PRIMARY KEY,
    name TEXT, town TEXT, county TEXT, level TEXT, timezone TEXT,
    online BOOLEAN, boot BIGINT, status_ts TEXT, status_at TEXT, agent_version TEXT,
    heartbeat_ts TEXT, heartbeat_at TEXT, outbox_depth BIGINT, heartbeat TEXT,
    inventory TEXT, inventory_at TEXT,
    watermark BIGINT NOT NULL DEFAULT 0,
    max_seq BIGINT NOT NULL DEFAULT 0,
    acked_seq BIGINT NOT NULL DEFAULT 0,
    quarantined BIGINT NOT NULL DEFAULT 0,
    first_seen_at TEXT NOT NULL
  ) WITH (fillfactor = 70);
  -- Every heartbeat rewrites its station's row: room on the page lets PostgreSQL update it in place (HOT).
  CREATE INDEX stations_unacked ON stations (station_id) WHERE watermark > acked_seq;
  CREATE INDEX stations_gap ON stations (station_id) WHERE max_seq > watermark;
  CREATE TABLE devices (
    station_id TEXT NOT NULL, device_id TEXT NOT NULL,
    kind TEXT, driver TEXT, online BOOLEAN, power TEXT, errors TEXT, lamp_hours DOUBLE PRECISION,
    state TEXT NOT NULL, ts TEXT, received_at TEXT NOT NULL,
    PRIMARY KEY (station_id, device_id)
  );
  CREATE TABLE records (
    station_id TEXT NOT NULL, seq BIGINT NOT NULL, stream TEXT NOT NULL, id TEXT NOT NULL,
    historical BOOLEAN NOT NULL, received_at TEXT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  );
  CREATE TABLE usage (
    station_id TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL,
    start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, duration_s BIGINT NOT NULL, signal_s BIGINT NOT NULL,
    short BOOLEAN NOT NULL, trigger TEXT NOT NULL, end_reason TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  );
  CREATE INDEX usage_start ON usage (start_ms);
  CREATE TABLE events (
    station_id TEXT NOT NULL, seq BIGINT NOT NULL, ts TEXT NOT NULL, type TEXT NOT NULL,
    severity TEXT NOT NULL, device TEXT,
    PRIMARY KEY (station_id, seq)
  );
  CREATE INDEX events_type ON events (type, station_id, device, seq);
  -- seqs a station no longer has (it answered a resend with count 0), one row per run
  CREATE TABLE lost (
    station_id TEXT NOT NULL, from_seq BIGINT NOT NULL, to_seq BIGINT NOT NULL, noted_at TEXT NOT NULL,
    PRIMARY KEY (station_id, from_seq)
  );
  CREATE TABLE quarantine (
    station_id TEXT NOT NULL, seq BIGINT NOT NULL, stream TEXT NOT NULL, id TEXT NOT NULL,
    received_at TEXT NOT NULL, watermark BIGINT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
  );
  CREATE TABLE heartbeat_history (
    station_id TEXT NOT NULL, bucket BIGINT NOT NULL, ts TEXT NOT NULL,
    cpu_pct DOUBLE PRECISION, mem_pct DOUBLE PRECISION, disk_free_mb DOUBLE PRECISION, agent_rss_mb DOUBLE PRECISION,
    outbox_depth BIGINT, online_devices BIGINT,
    PRIMARY KEY (station_id, bucket)
  );
  CREATE INDEX heartbeat_history_bucket ON heartbeat_history (bucket);
  CREATE TABLE pushes (
    station_id TEXT NOT NULL, transaction_id TEXT NOT NULL, push_id TEXT NOT NULL, action TEXT NOT NULL,
    args TEXT NOT NULL, sent_at TEXT NOT NULL, sent_by TEXT NOT NULL, status TEXT NOT NULL,
    response TEXT, responded_at TEXT,
    PRIMARY KEY (station_id, transaction_id)
  );
  CREATE INDEX pushes_push ON pushes (push_id);
  -- The highest seq from wm up with every seq stored or lost: one step per run of records or lost
  -- range, never one per seq. Runs inside the caller's transaction, under its lock on the station row.
  CREATE FUNCTION county_advance(sid TEXT, wm BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $fn$
  DECLARE t BIGINT;
  BEGIN
    LOOP
      SELECT to_seq INTO t FROM lost WHERE station_id = sid AND from_seq <= wm + 1 ORDER BY from_seq DESC LIMIT 1;
      IF t IS NOT NULL AND t > wm THEN
        wm := t;
        CONTINUE;
      END IF;
      PERFORM 1 FROM records WHERE station_id = sid AND seq = wm + 1;
      IF NOT FOUND THEN
        RETURN wm;
      END IF;
      SELECT r.seq INTO wm FROM records r WHERE r.station_id = sid AND r.seq > wm
         AND NOT EXISTS (SELECT 1 FROM records n WHERE n.station_id = sid AND n.seq = r.seq + 1)
       ORDER BY r.seq LIMIT 1;
    END LOOP;
  END
  $fn$;
  `,
  // 2: what the console reads, kept up to date as records are stored instead of recomputed from every
  // record ever stored on each page (docs/benchmarks.md "County console pages"): usage totals per station
  // and UTC calendar month, and the latest lamp event (by seq) of each device. Both are maintained by the
  // statements that insert the usage and event rows (SQL.usage, SQL.events), from the rows actually
  // inserted, so a duplicate counts nothing. The month and the latest lamp event are computed here as by
  // usageMonthSelect and lampLatestSelect below (a released migration is never edited, so it spells them
  // out; tests/integration/collector/postgres.test.ts checks that the two agree).
  `
  CREATE TABLE usage_month (
    station_id TEXT NOT NULL, month_ms BIGINT NOT NULL,
    sessions BIGINT NOT NULL, duration_s BIGINT NOT NULL, signal_s BIGINT NOT NULL,
    short_sessions BIGINT NOT NULL, short_duration_s BIGINT NOT NULL,
    PRIMARY KEY (station_id, month_ms)
  );
  INSERT INTO usage_month (station_id, month_ms, sessions, duration_s, signal_s, short_sessions, short_duration_s)
    SELECT station_id, (extract(epoch FROM date_trunc('month', timestamp '1970-01-01' + start_ms * interval '1 millisecond')) * 1000)::bigint,
           count(*) FILTER (WHERE NOT short), coalesce(sum(duration_s) FILTER (WHERE NOT short), 0), coalesce(sum(signal_s) FILTER (WHERE NOT short), 0),
           count(*) FILTER (WHERE short), coalesce(sum(duration_s) FILTER (WHERE short), 0)
      FROM usage GROUP BY 1, 2;
  -- device_key: '' for an event without a device, '=' || device otherwise (a primary key has no NULLs).
  CREATE TABLE lamp_latest (
    station_id TEXT NOT NULL, device_key TEXT NOT NULL, device TEXT, seq BIGINT NOT NULL, type TEXT NOT NULL,
    PRIMARY KEY (station_id, device_key)
  );
  INSERT INTO lamp_latest (station_id, device_key, device, seq, type)
    SELECT DISTINCT ON (station_id, device) station_id, coalesce('=' || device, ''), device, seq, type
      FROM events WHERE type IN ('lamp_warning', 'lamp_warning_cleared') ORDER BY station_id, device, seq DESC;
  -- The inventory and heartbeat documents (1-3 KB) move out of the station row into their own table:
  -- every heartbeat and every batch of records rewrites the row, and PostgreSQL copies the whole row
  -- each time (and reads it on every fleet page). The rows are rebuilt compact, and without the partial
  -- indexes on the seq columns: an update that changes a column an index uses cannot be a heap-only
  -- (HOT) update, so every batch inserted new index entries for each station it touched. The ack and gap
  -- passes scan the (now small) table instead.
  CREATE TABLE station_docs (
    station_id TEXT PRIMARY KEY,
    inventory TEXT, inventory_at TEXT, heartbeat TEXT
  );
  INSERT INTO station_docs (station_id, inventory, inventory_at, heartbeat)
    SELECT station_id, inventory, inventory_at, heartbeat FROM stations WHERE inventory IS NOT NULL OR heartbeat IS NOT NULL;
  CREATE TABLE stations_compact (
    station_id TEXT NOT NULL,
    name TEXT, town TEXT, county TEXT, level TEXT, timezone TEXT,
    online BOOLEAN, boot BIGINT, status_ts TEXT, status_at TEXT, agent_version TEXT,
    heartbeat_ts TEXT, heartbeat_at TEXT, outbox_depth BIGINT,
    watermark BIGINT NOT NULL DEFAULT 0,
    max_seq BIGINT NOT NULL DEFAULT 0,
    acked_seq BIGINT NOT NULL DEFAULT 0,
    quarantined BIGINT NOT NULL DEFAULT 0,
    first_seen_at TEXT NOT NULL
  ) WITH (fillfactor = 50);
  INSERT INTO stations_compact (station_id, name, town, county, level, timezone, online, boot, status_ts, status_at, agent_version,
                                heartbeat_ts, heartbeat_at, outbox_depth, watermark, max_seq, acked_seq, quarantined, first_seen_at)
    SELECT station_id, name, town, county, level, timezone, online, boot, status_ts, status_at, agent_version,
           heartbeat_ts, heartbeat_at, outbox_depth, watermark, max_seq, acked_seq, quarantined, first_seen_at
      FROM stations ORDER BY station_id;
  DROP TABLE stations;
  ALTER TABLE stations_compact RENAME TO stations;
  ALTER TABLE stations ADD CONSTRAINT stations_pkey PRIMARY KEY (station_id);
  `,
  // Ledgers (county/ledgers.ts, docs/mqtt.md "Ledgers"), as SQLite's migration 6: what is stored already
  // came from agents older than ledgers, the legacy ledger '' at base 0.
  `
  CREATE TABLE ledgers (
    station_id TEXT NOT NULL, ledger TEXT NOT NULL, base BIGINT NOT NULL, end_seq BIGINT, first_seen_at TEXT NOT NULL,
    PRIMARY KEY (station_id, ledger)
  );
  ALTER TABLE stations ADD COLUMN ledger TEXT, ADD COLUMN ledger_base BIGINT NOT NULL DEFAULT 0, ADD COLUMN ledger_changed_at TEXT;
  INSERT INTO ledgers (station_id, ledger, base, end_seq, first_seen_at)
    SELECT station_id, '', 0, NULL, first_seen_at FROM stations WHERE max_seq > 0;
  UPDATE stations SET ledger = '' WHERE max_seq > 0;
  `,
  // Notes typed on site (county/notes.ts), as SQLite's: the latest note of each session.
  PG_NOTES_MIGRATION,
  // Visits (county/visit-store.ts), as SQLite's: a clean stop's status reason, declared opening hours, the
  // latest run of each schedule, and the visit items with their lifecycle (pg-visit-sql.ts).
  VISITS_PG_MIGRATION,
  // accounts: the console's audit log (操作日志, county/audit.ts; the table is in pg-audit.ts).
  PG_AUDIT_MIGRATION,
  // The schedule push form (issue 22), as SQLite's: how the clerk chose a push's stations (pg-push-sql.ts).
  PUSH_TARGET_PG_MIGRATION,
  NOTIFY_PG_MIGRATION, // Group notifications (county/notify/), as SQLite's: tables and statements in pg-notify.ts.
  NOTIFY_DISK_PG_MIGRATION, // Disk nearly full (group notifications), as SQLite's: free space of the latest heartbeat.
];

/** The usage rows starting in [lo, hi), as totals each multiplied by `sign` (+1 or −1). */
const edgeRows = (lo: string, hi: string, sign: string): string =>
  `SELECT station_id, ${sign}::bigint * (NOT short)::int, ${sign}::bigint * CASE WHEN short THEN 0 ELSE duration_s END,
          ${sign}::bigint * CASE WHEN short THEN 0 ELSE signal_s END, ${sign}::bigint * short::int, ${sign}::bigint * CASE WHEN short THEN duration_s ELSE 0 END
     FROM usage WHERE start_ms >= ${lo}::bigint AND start_ms < ${hi}::bigint`;

// Byte order, as SQLite sorts, whatever the database's locale: both stores list stations alike.
const BY_TOWN = 'ORDER BY town IS NULL, town COLLATE "C", station_id COLLATE "C"';
const STATION_COLUMNS = `station_id, name, town, county, level, timezone, online, boot, status_ts, status_at, status_reason, heartbeat_ts, heartbeat_at,
  outbox_depth, watermark, max_seq, acked_seq, quarantined, ledger, ledger_base, ledger_changed_at, opening_hours`;
// errors beyond 64 KiB (rows stored before the county capped faults) are read as a prefix and a length
// (store-rows.ts ERRORS_PREFIX): thousands of faults per device must not be read on every page.
const DEVICE_COLUMNS = `station_id, device_id, kind, driver, online, power,
  CASE WHEN length(errors) > 65536 THEN left(errors, 65536) ELSE errors END AS errors,
  CASE WHEN length(errors) > 65536 THEN json_array_length(errors::json) END AS errors_total, lamp_hours, ts, received_at`;

/**
 * The rows of one write, passed as a single parameter: a JSON array of arrays (pg-writes.ts rowsParam),
 * taken apart here into typed columns. Building PostgreSQL array literals (`unnest($1::text[], …)`) cost
 * the collector ≈ 15 µs of JavaScript per record (escaping every element); JSON.stringify does it natively
 * for ≈ 3 µs, and the server parses one jsonb value instead of one array per column.
 */
const rowsOf = (cols: ReadonlyArray<readonly [name: string, type: string]>, param = '$1'): string =>
  `(SELECT ${cols.map(([n, t], i) => `${t === 'text' ? `r->>${i}` : `(r->>${i})::${t}`} AS ${n}`).join(', ')} FROM jsonb_array_elements(${param}::jsonb) AS r)`;

export const SQL = {
  ensure: `INSERT INTO stations (station_id, first_seen_at) SELECT id, $2 FROM unnest($1::text[]) AS id ORDER BY id ON CONFLICT DO NOTHING`,
  // Row locks in one order (station id), so two collectors writing batches of the same stations queue
  // instead of deadlocking; every watermark is read and advanced under its lock.
  lockCursors: 'SELECT station_id, watermark, max_seq, quarantined, boot, ledger FROM stations WHERE station_id = ANY($1::text[]) ORDER BY station_id FOR UPDATE',
  // Each station's resulting status of the batch (the late-Will rule applied by the caller under the lock).
  statuses: `UPDATE stations s SET online = v.online, boot = v.boot, status_ts = v.ts, status_at = v.at, status_reason = v.reason, agent_version = coalesce(v.version, s.agent_version)
               FROM ${rowsOf([['id', 'text'], ['online', 'bool'], ['boot', 'bigint'], ['ts', 'text'], ['at', 'text'], ['version', 'text'], ['reason', 'text']])} AS v
              WHERE s.station_id = v.id`,
  inventories: `UPDATE stations s SET name = v.name, town = v.town, county = v.county, level = v.level, timezone = v.tz, opening_hours = v.hours
                  FROM ${rowsOf([['id', 'text'], ['name', 'text'], ['town', 'text'], ['county', 'text'], ['level', 'text'], ['tz', 'text'], ['hours', 'text']])} AS v
                 WHERE s.station_id = v.id`,
  inventoryDocs: `INSERT INTO station_docs AS d (station_id, inventory, inventory_at) SELECT * FROM ${rowsOf([['id', 'text'], ['doc', 'text'], ['at', 'text']])} AS v
                  ON CONFLICT (station_id) DO UPDATE SET inventory = excluded.inventory, inventory_at = excluded.inventory_at`,
  // The whole document only with the history point (every HEARTBEAT_HISTORY_STEP_MS): 1 KB less per heartbeat.
  heartbeatDocs: `INSERT INTO station_docs AS d (station_id, heartbeat) SELECT * FROM ${rowsOf([['id', 'text'], ['doc', 'text']])} AS v
                  ON CONFLICT (station_id) DO UPDATE SET heartbeat = excluded.heartbeat`,
  history: `INSERT INTO heartbeat_history (station_id, bucket, ts, cpu_pct, mem_pct, disk_free_mb, agent_rss_mb, outbox_depth, online_devices)
            SELECT * FROM ${rowsOf([['id', 'text'], ['bucket', 'bigint'], ['ts', 'text'], ['cpu', 'float8'], ['mem', 'float8'], ['disk', 'float8'], ['rss', 'float8'], ['depth', 'bigint'], ['online', 'bigint']])} AS v
            ON CONFLICT DO NOTHING`,
  historyPrune: 'DELETE FROM heartbeat_history WHERE bucket < $1',
  devices: `INSERT INTO devices (station_id, device_id, kind, driver, online, power, errors, lamp_hours, state, ts, received_at)
            SELECT * FROM ${rowsOf([['id', 'text'], ['device', 'text'], ['kind', 'text'], ['driver', 'text'], ['online', 'bool'], ['power', 'text'], ['errors', 'text'], ['lamp', 'float8'], ['state', 'text'], ['ts', 'text'], ['at', 'text']])} AS v
            ON CONFLICT (station_id, device_id) DO UPDATE SET kind = excluded.kind, driver = excluded.driver,
              online = excluded.online, power = excluded.power, errors = excluded.errors, lamp_hours = excluded.lamp_hours,
              state = excluded.state, ts = excluded.ts, received_at = excluded.received_at
            WHERE excluded.ts >= devices.ts OR devices.ts IS NULL`,
  records: `INSERT INTO records (station_id, seq, stream, id, historical, received_at, payload)
            SELECT * FROM ${rowsOf([['id', 'text'], ['seq', 'bigint'], ['stream', 'text'], ['rid', 'text'], ['historical', 'bool'], ['at', 'text'], ['payload', 'text']])} AS v
            ON CONFLICT DO NOTHING RETURNING station_id, seq`,
  recordIds: `SELECT r.station_id, r.seq, r.id FROM records r JOIN ${rowsOf([['id', 'text'], ['seq', 'bigint']])} AS k
               ON r.station_id = k.id AND r.seq = k.seq`,
  // The usage rows and, from exactly the rows inserted, the month totals (one statement, one round trip).
  usage: `WITH u AS (
            INSERT INTO usage (station_id, seq, id, start_ms, end_ms, duration_s, signal_s, short, trigger, end_reason)
            SELECT * FROM ${rowsOf([['id', 'text'], ['seq', 'bigint'], ['rid', 'text'], ['start_ms', 'bigint'], ['end_ms', 'bigint'], ['duration_s', 'bigint'], ['signal_s', 'bigint'], ['short', 'bool'], ['trigger', 'text'], ['end_reason', 'text']])} AS v
            RETURNING station_id, start_ms, short, duration_s, signal_s)
          INSERT INTO usage_month AS m (station_id, month_ms, sessions, duration_s, signal_s, short_sessions, short_duration_s)
          ${usageMonthSelect('u')}
          ON CONFLICT (station_id, month_ms) DO UPDATE SET sessions = m.sessions + excluded.sessions, duration_s = m.duration_s + excluded.duration_s,
            signal_s = m.signal_s + excluded.signal_s, short_sessions = m.short_sessions + excluded.short_sessions,
            short_duration_s = m.short_duration_s + excluded.short_duration_s`,
  // The event rows and each device's latest lamp event: a later seq replaces an earlier one, never the reverse.
  events: `WITH e AS (
             INSERT INTO events (station_id, seq, ts, type, severity, device)
             SELECT * FROM ${rowsOf([['id', 'text'], ['seq', 'bigint'], ['ts', 'text'], ['type', 'text'], ['severity', 'text'], ['device', 'text']])} AS v
             RETURNING station_id, seq, type, device)
           INSERT INTO lamp_latest AS l (station_id, device_key, device, seq, type)
           ${lampLatestSelect('e')}
           ON CONFLICT (station_id, device_key) DO UPDATE SET seq = excluded.seq, type = excluded.type
           WHERE excluded.seq > l.seq`,
  // Notes typed on site (notes.ts), one row per session in a batch: kept when later (by seq) than the one stored.
  notes: `INSERT INTO session_notes AS n (station_id, session_id, seq, topic, attendees, organiser, note)
          SELECT * FROM ${rowsOf([['id', 'text'], ['session', 'text'], ['seq', 'bigint'], ['topic', 'text'], ['attendees', 'bigint'], ['organiser', 'text'], ['note', 'text']])} AS v
          ON CONFLICT (station_id, session_id) DO UPDATE SET seq = excluded.seq, topic = excluded.topic, attendees = excluded.attendees,
            organiser = excluded.organiser, note = excluded.note WHERE excluded.seq > n.seq`,
  quarantine: `INSERT INTO quarantine (station_id, seq, stream, id, received_at, watermark, payload)
               SELECT * FROM ${rowsOf([['id', 'text'], ['seq', 'bigint'], ['stream', 'text'], ['rid', 'text'], ['at', 'text'], ['watermark', 'bigint'], ['payload', 'text']])} AS v
               ON CONFLICT DO NOTHING`,
  // The end of a batch, one statement and one new row version per station touched: its last heartbeat
  // (v.ts null: none in the batch), and when its records changed (v.max_seq not null) max_seq, the
  // quarantine count and the watermark. v.run: the batch's records are exactly the run
  // watermark+1…max_seq (checked by the caller under the lock), so the watermark is max_seq without
  // walking anything.
  finish: `UPDATE stations s SET heartbeat_ts = coalesce(v.ts, s.heartbeat_ts), heartbeat_at = coalesce(v.at, s.heartbeat_at),
                  outbox_depth = CASE WHEN v.ts IS NULL THEN s.outbox_depth ELSE v.depth END, disk_free_pct = CASE WHEN v.ts IS NULL THEN s.disk_free_pct ELSE v.pct END,
                  disk_free_mb = CASE WHEN v.ts IS NULL THEN s.disk_free_mb ELSE v.mb END,
                  max_seq = coalesce(v.max_seq, s.max_seq), quarantined = coalesce(v.q, s.quarantined),
                  watermark = CASE WHEN v.max_seq IS NULL THEN s.watermark WHEN v.run THEN v.max_seq ELSE county_advance(s.station_id, s.watermark) END
             FROM ${rowsOf([['id', 'text'], ['ts', 'text'], ['at', 'text'], ['depth', 'bigint'], ['pct', 'float8'], ['mb', 'float8'], ['max_seq', 'bigint'], ['q', 'bigint'], ['run', 'bool']])} AS v
            WHERE s.station_id = v.id RETURNING s.station_id, s.watermark`,
  // The same for one station's cursor alone (after marking a loss).
  settle: `UPDATE stations s SET max_seq = v.max_seq, quarantined = v.q,
                  watermark = CASE WHEN v.run THEN v.max_seq ELSE county_advance(s.station_id, s.watermark) END
             FROM ${rowsOf([['id', 'text'], ['max_seq', 'bigint'], ['q', 'bigint'], ['run', 'bool']])} AS v
            WHERE s.station_id = v.id RETURNING s.station_id, s.watermark`,
  // The holes of [$2, $3] between stored records and known lost ranges, inserted as ranges by one statement.
  insertLost: `INSERT INTO lost (station_id, from_seq, to_seq, noted_at)
               SELECT $1, hf, ht, $4 FROM (
                 SELECT max(t) OVER (ORDER BY f, t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1 AS hf, f - 1 AS ht
                   FROM (SELECT seq AS f, seq AS t FROM records WHERE station_id = $1 AND seq BETWEEN $2 AND $3
                         UNION ALL SELECT from_seq, to_seq FROM lost WHERE station_id = $1 AND to_seq >= $2 AND from_seq <= $3
                         UNION ALL SELECT $2::bigint - 1, $2::bigint - 1
                         UNION ALL SELECT $3::bigint + 1, $3::bigint + 1) c) h
                WHERE ht >= hf
               ON CONFLICT DO NOTHING RETURNING from_seq, to_seq`,
  // Claimed rows are locked in id order and rows a batch holds are skipped (acked on the next pass).
  claimAcks: `UPDATE stations s SET acked_seq = s.watermark
                FROM (SELECT station_id FROM stations WHERE watermark > acked_seq ORDER BY station_id FOR UPDATE SKIP LOCKED) c
               WHERE s.station_id = c.station_id AND s.watermark > s.acked_seq
              RETURNING s.station_id, s.watermark, s.ledger, s.ledger_base`,
  gaps: `SELECT s.station_id, s.watermark, s.max_seq, s.ledger, s.ledger_base,
                least(coalesce((SELECT min(seq) FROM records r WHERE r.station_id = s.station_id AND r.seq > s.watermark), s.max_seq + 1),
                      coalesce((SELECT min(from_seq) FROM lost l WHERE l.station_id = s.station_id AND l.from_seq > s.watermark), s.max_seq + 1)) - 1 AS to_seq
           FROM stations s WHERE s.max_seq > s.watermark ORDER BY s.station_id`,
  ackedStations: 'SELECT station_id, acked_seq, ledger, ledger_base FROM stations WHERE acked_seq > 0 ORDER BY station_id',
  // ---- ledgers (county/ledgers.ts); rare writes (a new station database), one statement each
  ledgerRows: 'SELECT station_id, ledger, base, end_seq FROM ledgers WHERE station_id = ANY($1::text[])',
  ledgerRecordId: 'SELECT id FROM records WHERE station_id = $1 AND seq = $2',
  ledgerInsert: 'INSERT INTO ledgers (station_id, ledger, base, end_seq, first_seen_at) VALUES ($1, $2, $3, NULL, $4)',
  ledgerEnd: 'UPDATE ledgers SET end_seq = $1 WHERE station_id = $2 AND end_seq IS NULL AND ledger <> $3',
  // acked_seq −1: the retained ack must be published again, now naming this ledger (the claim picks it up).
  ledgerSwitch: `UPDATE stations SET ledger = $1, ledger_base = $2, acked_seq = CASE WHEN $3::boolean THEN -1 ELSE acked_seq END,
                   ledger_changed_at = CASE WHEN $4::boolean THEN $5 ELSE ledger_changed_at END WHERE station_id = $6`,
  station: `SELECT ${STATION_COLUMNS} FROM stations WHERE station_id = $1`,
  stations: `SELECT ${STATION_COLUMNS} FROM stations ${BY_TOWN}`,
  record: 'SELECT station_id, seq, stream, id, historical, received_at, payload FROM records WHERE station_id = $1 AND seq = $2',
  countRecords: 'SELECT count(*)::bigint AS n FROM records',
  lost: 'SELECT station_id, from_seq, to_seq, noted_at FROM lost ORDER BY station_id, from_seq',
  quarantinedAll: 'SELECT station_id, seq, stream, id, received_at, watermark, payload FROM quarantine ORDER BY station_id, seq',
  quarantinedOf: 'SELECT station_id, seq, stream, id, received_at, watermark, payload FROM quarantine WHERE station_id = $1 ORDER BY seq',
  // The month totals of the UTC months the window mostly covers, corrected by the usage rows of its two
  // edges (added where the window reaches past those months, subtracted where they reach past the window):
  // tens of thousands of rows for a province's month instead of every session of it (monthSplit()).
  // One statement, so one snapshot: the totals and the rows they are corrected with agree.
  usageTotals: `SELECT t.station_id, sum(t.sessions)::bigint AS sessions, sum(t.duration_s)::bigint AS duration_s, sum(t.signal_s)::bigint AS signal_s,
                       sum(t.short_sessions)::bigint AS short_sessions, sum(t.short_duration_s)::bigint AS short_duration_s
                  FROM (SELECT station_id, sessions, duration_s, signal_s, short_sessions, short_duration_s
                          FROM usage_month WHERE month_ms >= $3 AND month_ms < $4
                        UNION ALL
                        ${edgeRows('$5', '$6', '$7')}
                        UNION ALL
                        ${edgeRows('$8', '$9', '$10')}) t
                 WHERE t.station_id IN (SELECT station_id FROM stations WHERE coalesce(timezone, $1) = $2)
                 GROUP BY t.station_id
                HAVING sum(t.sessions) + sum(t.short_sessions) > 0`,
  missing: `SELECT s.station_id,
                   (s.max_seq - s.watermark - (SELECT count(*) FROM records r WHERE r.station_id = s.station_id AND r.seq > s.watermark)
                     - (SELECT coalesce(sum(least(l.to_seq, s.max_seq) - greatest(l.from_seq, s.watermark + 1) + 1), 0) FROM lost l
                         WHERE l.station_id = s.station_id AND l.to_seq > s.watermark AND l.from_seq <= s.max_seq))::bigint AS missing
              FROM stations s WHERE s.max_seq > s.watermark ORDER BY s.station_id`,
  faultyDevices: `SELECT station_id, device_id FROM devices WHERE errors IS NOT NULL AND errors <> '[]' ORDER BY device_id`,
  lampWarnings: `SELECT station_id, device FROM lamp_latest WHERE type = 'lamp_warning' ORDER BY device`,
  // ---- the console's (ConsoleStore)
  fleetStations: `SELECT ${STATION_COLUMNS}, agent_version FROM stations ${BY_TOWN}`,
  faultyDeviceRows: `SELECT ${DEVICE_COLUMNS} FROM devices WHERE errors IS NOT NULL AND errors <> '[]' ORDER BY station_id, device_id`,
  lampWarningHours: `SELECT l.station_id, l.device, d.lamp_hours FROM lamp_latest l
                       LEFT JOIN devices d ON d.station_id = l.station_id AND d.device_id = l.device
                      WHERE l.type = 'lamp_warning' ORDER BY l.station_id, l.device`,
  // Devices of the kinds that count as use by default (docs/design.md §6) switched on: a class in progress.
  activeDevices: `SELECT station_id, device_id, kind FROM devices
                   WHERE online AND power IN ('on', 'warming') AND kind IN ('projector', 'led_display', 'amplifier') ORDER BY station_id COLLATE "C", device_id COLLATE "C"`,
  inventoryDoc: 'SELECT inventory FROM station_docs WHERE station_id = $1',
  // Only the devices of each document, as text (parsed by the reader, as SQLite's).
  inventoryDevices: `SELECT station_id, (inventory::json -> 'devices')::text AS devices FROM station_docs
                      WHERE station_id = ANY($1::text[]) AND inventory IS NOT NULL ORDER BY station_id`,
  deviceRows: `SELECT ${DEVICE_COLUMNS} FROM devices WHERE station_id = $1 ORDER BY device_id`,
  usagePayloads: `SELECT r.payload FROM usage u JOIN records r ON r.station_id = u.station_id AND r.seq = u.seq
                   WHERE u.station_id = $1 ORDER BY u.seq DESC LIMIT $2`,
  // Sessions with their notes (ConsoleStore.sessions): one station's latest, or a month's in one time zone by town.
  stationSessions: `SELECT ${SESSION_COLUMNS} FROM usage u LEFT JOIN session_notes n ON n.station_id = u.station_id AND n.session_id = u.id
                     WHERE u.station_id = $1 ORDER BY u.seq DESC LIMIT $2`,
  windowSessions: `SELECT ${SESSION_COLUMNS} FROM usage u JOIN stations s ON s.station_id = u.station_id
                          LEFT JOIN session_notes n ON n.station_id = u.station_id AND n.session_id = u.id
                    WHERE u.start_ms >= $1 AND u.start_ms < $2 AND coalesce(s.timezone, $4) = $3 AND ($5::boolean OR s.town IS NOT DISTINCT FROM $6::text)
                    ORDER BY s.town IS NULL, s.town COLLATE "C", u.station_id COLLATE "C", u.start_ms, u.seq LIMIT $7`,
  eventPayloads: `SELECT r.payload FROM events e JOIN records r ON r.station_id = e.station_id AND r.seq = e.seq
                   WHERE e.station_id = $1 ORDER BY e.seq DESC LIMIT $2`,
  eventPayloadsOfTypes: `SELECT r.payload FROM events e JOIN records r ON r.station_id = e.station_id AND r.seq = e.seq
                          WHERE e.station_id = $1 AND e.type = ANY($2::text[]) ORDER BY e.seq DESC LIMIT $3`,
  historyRows: `SELECT ts, cpu_pct, mem_pct, disk_free_mb, agent_rss_mb, outbox_depth, online_devices FROM heartbeat_history
                 WHERE station_id = $1 AND bucket >= $2 ORDER BY bucket`,
  ...PUSH_PG_SQL,
} as const;
