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
];

export const SCHEMA_VERSION = MIGRATIONS.length;
