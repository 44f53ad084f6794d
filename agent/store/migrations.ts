/**
 * Ordered schema migrations. Each runs once, all pending ones in one transaction together with
 * `PRAGMA user_version`, so a power cut mid-upgrade leaves the old schema intact. Never edit a
 * released migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the base layout.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  -- Latest state per device, written on change only (flash wear).
  CREATE TABLE device_state (
    id         TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;

  -- Usage sessions: the evidence. Written at start, checkpointed while open, closed in one transaction.
  CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    seq           INTEGER UNIQUE,
    state         TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    start         TEXT NOT NULL,
    "end"         TEXT,
    checkpoint_at TEXT NOT NULL,
    record        TEXT NOT NULL,
    annotation    TEXT
  ) STRICT;
  CREATE INDEX sessions_start ON sessions(start);
  CREATE INDEX sessions_open ON sessions(state) WHERE state = 'open';

  -- Durable records (usage, events) with the per-station seq. The outbox is the unacknowledged part.
  CREATE TABLE records (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    stream     TEXT NOT NULL CHECK (stream IN ('usage', 'events')),
    type       TEXT NOT NULL,
    ts         TEXT NOT NULL,
    payload    TEXT NOT NULL,
    published  INTEGER NOT NULL DEFAULT 0,
    acked      INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE INDEX records_pending ON records(seq) WHERE acked = 0;
  CREATE INDEX records_stream_ts ON records(stream, ts);

  -- Maintenance alerts, raised once and cleared once.
  CREATE TABLE alerts (
    key        TEXT PRIMARY KEY,
    device     TEXT,
    code       TEXT NOT NULL,
    raised_at  TEXT NOT NULL,
    data       TEXT
  ) STRICT;

  -- Schedules pushed by the county (config schedules live in the config file).
  CREATE TABLE county_schedules (
    id         TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE schedule_runs (
    id          TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT
  ) STRICT;
  CREATE INDEX schedule_runs_by_schedule ON schedule_runs(schedule_id, started_at);
  `,
  // 2: per-station-day summary (sessions, minutes, first/last seq), kept for the monthly hand-in.
  `
  CREATE TABLE daily_summary (
    day          TEXT PRIMARY KEY,
    sessions     INTEGER NOT NULL DEFAULT 0,
    short        INTEGER NOT NULL DEFAULT 0,
    total_s      INTEGER NOT NULL DEFAULT 0,
    signal_s     INTEGER NOT NULL DEFAULT 0,
    first_seq    INTEGER,
    last_seq     INTEGER
  ) STRICT;
  `,
  // 3: county request transactions seen recently, one row each (the replay cache used to be one meta
  // value rewritten whole on every request), and the highest seq the broker has taken, which bounds
  // the county acks the station believes. Both start from what version 2 kept.
  `
  CREATE TABLE seen_transactions (
    tx         TEXT PRIMARY KEY,
    expires_ms INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX seen_transactions_expiry ON seen_transactions(expires_ms);

  INSERT OR IGNORE INTO seen_transactions(tx, expires_ms)
    SELECT json_extract(e.value, '$[0]'), CAST(json_extract(e.value, '$[1]') AS INTEGER)
      FROM json_each((SELECT CASE WHEN json_valid(value) AND json_type(value) = 'array' THEN value ELSE '[]' END
                        FROM meta WHERE key = 'county_seen_tx')) AS e
     WHERE json_type(e.value, '$[0]') = 'text' AND json_type(e.value, '$[1]') IN ('integer', 'real')
       AND length(json_extract(e.value, '$[0]')) BETWEEN 1 AND 128;
  DELETE FROM meta WHERE key = 'county_seen_tx';

  INSERT OR IGNORE INTO meta(key, value)
    SELECT 'published_seq', CAST(coalesce(max(seq), 0) AS TEXT) FROM records WHERE published = 1 OR acked = 1;
  `,
  // 4: the ledger's identity (docs/mqtt.md "Ledgers"): 128 random bits, made once when the database is
  // created (or, for an existing one, when it is upgraded), never changed. Every durable record carries it
  // and the county's ack must name it, so a re-imaged PC's new database, whose seqs start again at 1, is
  // neither acked by the county's ack for the old one nor taken for duplicates of the old one's records.
  `
  INSERT OR IGNORE INTO meta(key, value) VALUES ('ledger', lower(hex(randomblob(16))));
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
