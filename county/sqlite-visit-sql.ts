/**
 * The SQLite side of visits (visit-store.ts): the migration that adds them (appended to MIGRATIONS in
 * sqlite-schema.ts) and the statements sqlite-visits.ts prepares. Kept apart from sqlite-schema.ts, which
 * holds the collector's own statements.
 */

/**
 * Why a station went offline (`status.reason`: `agent_stop` for a clean stop), its declared opening hours
 * (from its inventory), the latest run of each schedule (class_latest, kept by the write path from the
 * rows it inserts; this backfill reads the stored events as visit-store.ts classRunOf does) and the visits.
 */
export const VISITS_MIGRATION = `
  ALTER TABLE stations ADD COLUMN status_reason TEXT;
  ALTER TABLE stations ADD COLUMN opening_hours TEXT;
  CREATE TABLE class_latest (
    station_id TEXT NOT NULL, schedule_id TEXT NOT NULL, run_id TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL,
    start_ok INTEGER, start_done INTEGER, start_total INTEGER, end_ok INTEGER, end_done INTEGER, end_total INTEGER,
    PRIMARY KEY (station_id, schedule_id)
  ) WITHOUT ROWID;
  WITH runs AS (
    SELECT e.station_id, e.seq, e.ts, json_extract(r.payload, '$.data.schedule_id') AS schedule_id,
           CASE WHEN json_type(r.payload, '$.data.run_id') = 'text' AND length(json_extract(r.payload, '$.data.run_id')) BETWEEN 1 AND 64
                THEN json_extract(r.payload, '$.data.run_id') ELSE 'seq-' || e.seq END AS run_id,
           CASE WHEN json_extract(r.payload, '$.data.phase') = 'end' THEN 'end' ELSE 'start' END AS phase,
           CASE json_type(r.payload, '$.data.ok') WHEN 'true' THEN 1 ELSE 0 END AS ok,
           CASE WHEN json_type(r.payload, '$.data.steps') = 'array'
                THEN (SELECT count(*) FROM json_each(r.payload, '$.data.steps') s WHERE json_extract(s.value, '$.status') = 'ok') ELSE 0 END AS done,
           CASE WHEN json_type(r.payload, '$.data.steps') = 'array' THEN json_array_length(r.payload, '$.data.steps') ELSE 0 END AS total
      FROM events e JOIN records r ON r.station_id = e.station_id AND r.seq = e.seq
     WHERE e.type = 'schedule_run' AND json_type(r.payload, '$.data.schedule_id') = 'text'
       AND length(json_extract(r.payload, '$.data.schedule_id')) BETWEEN 1 AND 128
       AND json_type(r.payload, '$.data.ok') IN ('true', 'false')),
  latest AS (
    SELECT station_id, schedule_id, run_id FROM (
      SELECT station_id, schedule_id, run_id, row_number() OVER (PARTITION BY station_id, schedule_id ORDER BY seq DESC) AS n FROM runs)
     WHERE n = 1)
  INSERT INTO class_latest (station_id, schedule_id, run_id, seq, ts, start_ok, start_done, start_total, end_ok, end_done, end_total)
    SELECT u.station_id, u.schedule_id, u.run_id, max(u.seq), max(u.ts),
           max(CASE WHEN u.phase = 'start' THEN u.ok END), max(CASE WHEN u.phase = 'start' THEN u.done END), max(CASE WHEN u.phase = 'start' THEN u.total END),
           max(CASE WHEN u.phase = 'end' THEN u.ok END), max(CASE WHEN u.phase = 'end' THEN u.done END), max(CASE WHEN u.phase = 'end' THEN u.total END)
      FROM runs u JOIN latest l ON l.station_id = u.station_id AND l.schedule_id = u.schedule_id AND l.run_id = u.run_id
     GROUP BY u.station_id, u.schedule_id, u.run_id;
  CREATE INDEX class_latest_failed ON class_latest (station_id) WHERE start_ok = 0 OR end_ok = 0;
  CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL, cause TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL, opened_at TEXT NOT NULL,
    acked_at TEXT, acked_by TEXT, note TEXT, cleared_at TEXT, cleared_by TEXT, rearmed INTEGER NOT NULL DEFAULT 0
  );
  -- At most one open visit per station and cause, whoever opens it (collectors and consoles alike).
  CREATE UNIQUE INDEX visits_open ON visits (station_id, cause) WHERE cleared_at IS NULL;
  CREATE INDEX visits_held ON visits (station_id, cause) WHERE cleared_by IS NOT NULL AND rearmed = 0;
  CREATE INDEX visits_station ON visits (station_id, id);
  CREATE INDEX visits_cleared ON visits (cleared_at) WHERE cleared_at IS NOT NULL;
`;

const CLASS_COLUMNS = 'station_id, schedule_id, run_id, seq, ts, start_ok, start_done, start_total, end_ok, end_done, end_total';
const VISIT_COLUMNS = 'id, station_id, cause, kind, detail, opened_at, acked_at, acked_by, note, cleared_at, cleared_by, rearmed';
/** Open, or cleared by hand and not yet rearmed: what the lifecycle pass works on. */
const LIVE = '(cleared_at IS NULL OR (cleared_by IS NOT NULL AND rearmed = 0))';
const FAILED = '(start_ok = 0 OR end_ok = 0)';
/** A phase's column from `$phase` ('start' or 'end'): the other phase's is null. */
const phased = (phase: 'start' | 'end', v: string): string => `CASE WHEN $phase = '${phase}' THEN ${v} END`;
/** A phase's column after an event: merged within the same run, replaced by a later run's. */
const merged = (col: string): string => `${col} = CASE WHEN excluded.run_id = c.run_id THEN coalesce(excluded.${col}, c.${col}) ELSE excluded.${col} END`;

export const VISIT_STATEMENTS = {
  // A newly stored schedule_run event into its schedule's latest run: the same run's phases merge (in any
  // arrival order); another run replaces it only when it is later (by seq).
  classRun: `INSERT INTO class_latest AS c (${CLASS_COLUMNS})
             VALUES ($s, $schedule, $run, $seq, $ts, ${phased('start', '$ok')}, ${phased('start', '$done')}, ${phased('start', '$total')},
                     ${phased('end', '$ok')}, ${phased('end', '$done')}, ${phased('end', '$total')})
             ON CONFLICT (station_id, schedule_id) DO UPDATE SET
               ${['start_ok', 'start_done', 'start_total', 'end_ok', 'end_done', 'end_total'].map(merged).join(', ')},
               seq = max(c.seq, excluded.seq), ts = CASE WHEN excluded.seq > c.seq THEN excluded.ts ELSE c.ts END, run_id = excluded.run_id
             WHERE excluded.run_id = c.run_id OR excluded.seq > c.seq`,
  failedClasses: `SELECT ${CLASS_COLUMNS} FROM class_latest WHERE ${FAILED} ORDER BY station_id, schedule_id`,
  failedClassesOf: `SELECT ${CLASS_COLUMNS} FROM class_latest WHERE station_id = ? AND ${FAILED} ORDER BY schedule_id`,
  liveVisits: `SELECT ${VISIT_COLUMNS} FROM visits WHERE ${LIVE} ORDER BY station_id, id`,
  liveVisitsOf: `SELECT ${VISIT_COLUMNS} FROM visits WHERE station_id = ? AND ${LIVE} ORDER BY id`,
  // Not while the cause holds an open visit (the unique index) or a hand clear not yet rearmed.
  visitOpen: `INSERT INTO visits (station_id, cause, kind, detail, opened_at)
              SELECT $s, $cause, $kind, $detail, $at
               WHERE NOT EXISTS (SELECT 1 FROM visits WHERE station_id = $s AND cause = $cause AND cleared_by IS NOT NULL AND rearmed = 0)
              ON CONFLICT DO NOTHING`,
  visitAutoClear: 'UPDATE visits SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL',
  visitRearm: 'UPDATE visits SET rearmed = 1 WHERE id = ? AND cleared_by IS NOT NULL',
  visitHistory: `SELECT ${VISIT_COLUMNS} FROM visits WHERE station_id = ? ORDER BY id DESC LIMIT ?`,
  visitAck: 'UPDATE visits SET acked_at = ?, acked_by = ?, note = ? WHERE station_id = ? AND id = ? AND cleared_at IS NULL',
  visitClear: 'UPDATE visits SET cleared_at = ?, cleared_by = ? WHERE station_id = ? AND id = ? AND cleared_at IS NULL',
  visitPrune: 'DELETE FROM visits WHERE cleared_at IS NOT NULL AND cleared_at < ? AND (cleared_by IS NULL OR rearmed = 1)',
} as const;
