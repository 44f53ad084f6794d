/**
 * The PostgreSQL side of visits (visit-store.ts): the migration that adds them (appended to PG_MIGRATIONS
 * in pg-schema.ts) and the statements pg-visits.ts runs; the same tables and rules as on SQLite
 * (sqlite-visit-sql.ts).
 */

/**
 * As SQLite's: a clean stop's status reason, declared opening hours, the latest run of each schedule
 * (class_latest, backfilled from the stored events as visit-store.ts classRunOf reads them) and the visits.
 */
export const VISITS_PG_MIGRATION = `
  ALTER TABLE stations ADD COLUMN status_reason TEXT, ADD COLUMN opening_hours TEXT;
  CREATE TABLE class_latest (
    station_id TEXT NOT NULL, schedule_id TEXT NOT NULL, run_id TEXT NOT NULL, seq BIGINT NOT NULL, ts TEXT NOT NULL,
    start_ok BOOLEAN, start_done BIGINT, start_total BIGINT, end_ok BOOLEAN, end_done BIGINT, end_total BIGINT,
    PRIMARY KEY (station_id, schedule_id)
  );
  WITH docs AS (
    SELECT e.station_id, e.seq, e.ts, r.payload::jsonb -> 'data' AS d
      FROM events e JOIN records r ON r.station_id = e.station_id AND r.seq = e.seq
     WHERE e.type = 'schedule_run'),
  runs AS (
    SELECT station_id, seq, ts, d ->> 'schedule_id' AS schedule_id,
           CASE WHEN jsonb_typeof(d -> 'run_id') = 'string' AND length(d ->> 'run_id') BETWEEN 1 AND 64 THEN d ->> 'run_id' ELSE 'seq-' || seq END AS run_id,
           CASE WHEN d ->> 'phase' = 'end' THEN 'end' ELSE 'start' END AS phase,
           (d -> 'ok')::text = 'true' AS ok,
           CASE WHEN jsonb_typeof(d -> 'steps') = 'array'
                THEN (SELECT count(*) FROM jsonb_array_elements(d -> 'steps') s WHERE s ->> 'status' = 'ok') ELSE 0 END AS done,
           CASE WHEN jsonb_typeof(d -> 'steps') = 'array' THEN jsonb_array_length(d -> 'steps') ELSE 0 END AS total
      FROM docs
     WHERE jsonb_typeof(d -> 'schedule_id') = 'string' AND length(d ->> 'schedule_id') BETWEEN 1 AND 128 AND jsonb_typeof(d -> 'ok') = 'boolean'),
  latest AS (
    SELECT DISTINCT ON (station_id, schedule_id) station_id, schedule_id, run_id FROM runs ORDER BY station_id, schedule_id, seq DESC)
  INSERT INTO class_latest (station_id, schedule_id, run_id, seq, ts, start_ok, start_done, start_total, end_ok, end_done, end_total)
    SELECT u.station_id, u.schedule_id, u.run_id, max(u.seq), max(u.ts),
           bool_or(u.ok) FILTER (WHERE u.phase = 'start'), max(u.done) FILTER (WHERE u.phase = 'start'), max(u.total) FILTER (WHERE u.phase = 'start'),
           bool_or(u.ok) FILTER (WHERE u.phase = 'end'), max(u.done) FILTER (WHERE u.phase = 'end'), max(u.total) FILTER (WHERE u.phase = 'end')
      FROM runs u JOIN latest l ON l.station_id = u.station_id AND l.schedule_id = u.schedule_id AND l.run_id = u.run_id
     GROUP BY u.station_id, u.schedule_id, u.run_id;
  CREATE INDEX class_latest_failed ON class_latest (station_id) WHERE NOT start_ok OR NOT end_ok;
  CREATE TABLE visits (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id TEXT NOT NULL, cause TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL, opened_at TEXT NOT NULL,
    acked_at TEXT, acked_by TEXT, note TEXT, cleared_at TEXT, cleared_by TEXT, rearmed BOOLEAN NOT NULL DEFAULT false
  );
  -- At most one open visit per station and cause, whoever opens it (collectors and consoles alike).
  CREATE UNIQUE INDEX visits_open ON visits (station_id, cause) WHERE cleared_at IS NULL;
  CREATE INDEX visits_held ON visits (station_id, cause) WHERE cleared_by IS NOT NULL AND NOT rearmed;
  CREATE INDEX visits_station ON visits (station_id, id);
  CREATE INDEX visits_cleared ON visits (cleared_at) WHERE cleared_at IS NOT NULL;
`;

const CLASS_COLUMNS = 'station_id, schedule_id, run_id, seq, ts, start_ok, start_done, start_total, end_ok, end_done, end_total';
const VISIT_COLUMNS = 'id, station_id, cause, kind, detail, opened_at, acked_at, acked_by, note, cleared_at, cleared_by, rearmed';
const LIVE = '(cleared_at IS NULL OR (cleared_by IS NOT NULL AND NOT rearmed))';
const FAILED = '(NOT start_ok OR NOT end_ok)';
/** A phase's column after an event: merged within the same run, replaced by a later run's. */
const merged = (col: string): string => `${col} = CASE WHEN excluded.run_id = c.run_id THEN coalesce(excluded.${col}, c.${col}) ELSE excluded.${col} END`;

export const VISIT_SQL = {
  // One stored schedule_run event into its schedule's latest run ($1 station … $9 total): the same run's
  // phases merge in any arrival order; another run replaces it only when it is later (by seq). One event a
  // statement: a batch may hold both phases of one run, which one multi-row upsert could not update twice.
  classRun: `INSERT INTO class_latest AS c (${CLASS_COLUMNS})
             VALUES ($1, $2, $3, $4::bigint, $5, CASE WHEN $6 = 'start' THEN $7::boolean END, CASE WHEN $6 = 'start' THEN $8::bigint END, CASE WHEN $6 = 'start' THEN $9::bigint END,
                     CASE WHEN $6 = 'end' THEN $7::boolean END, CASE WHEN $6 = 'end' THEN $8::bigint END, CASE WHEN $6 = 'end' THEN $9::bigint END)
             ON CONFLICT (station_id, schedule_id) DO UPDATE SET
               ${['start_ok', 'start_done', 'start_total', 'end_ok', 'end_done', 'end_total'].map(merged).join(', ')},
               seq = greatest(c.seq, excluded.seq), ts = CASE WHEN excluded.seq > c.seq THEN excluded.ts ELSE c.ts END, run_id = excluded.run_id
             WHERE excluded.run_id = c.run_id OR excluded.seq > c.seq`,
  failedClasses: `SELECT ${CLASS_COLUMNS} FROM class_latest WHERE ${FAILED} ORDER BY station_id COLLATE "C", schedule_id COLLATE "C"`,
  failedClassesOf: `SELECT ${CLASS_COLUMNS} FROM class_latest WHERE station_id = $1 AND ${FAILED} ORDER BY schedule_id COLLATE "C"`,
  liveVisits: `SELECT ${VISIT_COLUMNS} FROM visits WHERE ${LIVE} ORDER BY station_id COLLATE "C", id`,
  liveVisitsOf: `SELECT ${VISIT_COLUMNS} FROM visits WHERE station_id = $1 AND ${LIVE} ORDER BY id`,
  // The plan's new visits ($1 a JSON array of [station, cause, kind, detail]), not while the cause holds
  // an open visit (the unique index) or a hand clear not yet rearmed.
  visitOpen: `INSERT INTO visits (station_id, cause, kind, detail, opened_at)
              SELECT v.s, v.cause, v.kind, v.detail, $2 FROM (SELECT r->>0 AS s, r->>1 AS cause, r->>2 AS kind, r->>3 AS detail FROM jsonb_array_elements($1::jsonb) AS r) v
               WHERE NOT EXISTS (SELECT 1 FROM visits h WHERE h.station_id = v.s AND h.cause = v.cause AND h.cleared_by IS NOT NULL AND NOT h.rearmed)
              ON CONFLICT DO NOTHING`,
  visitAutoClear: 'UPDATE visits SET cleared_at = $1 WHERE id = ANY($2::bigint[]) AND cleared_at IS NULL',
  visitRearm: 'UPDATE visits SET rearmed = true WHERE id = ANY($1::bigint[]) AND cleared_by IS NOT NULL',
  visitHistory: `SELECT ${VISIT_COLUMNS} FROM visits WHERE station_id = $1 ORDER BY id DESC LIMIT $2`,
  visitAck: 'UPDATE visits SET acked_at = $1, acked_by = $2, note = $3 WHERE station_id = $4 AND id = $5 AND cleared_at IS NULL',
  visitClear: 'UPDATE visits SET cleared_at = $1, cleared_by = $2 WHERE station_id = $3 AND id = $4 AND cleared_at IS NULL',
  visitPrune: 'DELETE FROM visits WHERE cleared_at IS NOT NULL AND cleared_at < $1 AND (cleared_by IS NULL OR rearmed)',
} as const;
