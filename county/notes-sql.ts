/**
 * The schema of the notes typed on site (county/notes.ts) in both stores: the migrations that make the
 * `session_notes` table and fill it from the records already stored (the latest note of each session
 * by seq, from its usage record or a later `annotation` event, with AnnotationSchema's types and bounds:
 * a note that breaks them is left out, as the write path leaves it out), and the columns the session
 * queries return. The statements themselves are with each store's others (sqlite-schema.ts, pg-schema.ts).
 */

/** A SessionRow's columns (store-rows.ts toSessionRow), the note's prefixed. */
export const SESSION_COLUMNS = `u.station_id, u.seq, u.id, u.start_ms, u.end_ms, u.duration_s, u.signal_s, u.short, u.trigger, u.end_reason,
  n.seq AS note_seq, n.topic, n.attendees, n.organiser, n.note`;

/** SQLite: the table, filled from what is stored. */
export const SQLITE_NOTES_MIGRATION = `
  CREATE TABLE session_notes (
    station_id TEXT NOT NULL, session_id TEXT NOT NULL, seq INTEGER NOT NULL,
    topic TEXT, attendees INTEGER, organiser TEXT, note TEXT,
    PRIMARY KEY (station_id, session_id)
  ) WITHOUT ROWID;
  INSERT INTO session_notes (station_id, session_id, seq, topic, attendees, organiser, note)
    SELECT station_id, session_id, seq, json_extract(a, '$.topic'), json_extract(a, '$.attendees'), json_extract(a, '$.organiser'), json_extract(a, '$.note')
      FROM (SELECT *, row_number() OVER (PARTITION BY station_id, session_id ORDER BY seq DESC) AS n FROM (
              SELECT station_id, id AS session_id, seq, json_extract(payload, '$.annotation') AS a FROM records
               WHERE stream = 'usage' AND instr(payload, '"annotation":{') > 0
              UNION ALL
              SELECT station_id, json_extract(payload, '$.data.session_id'), seq, json_extract(payload, '$.data.annotation') FROM records
               WHERE stream = 'events' AND instr(payload, '"type":"annotation"') > 0 AND json_extract(payload, '$.type') = 'annotation'
                 AND json_type(payload, '$.data.session_id') = 'text' AND length(json_extract(payload, '$.data.session_id')) BETWEEN 10 AND 64
                 AND json_type(payload, '$.data.seq') = 'integer' AND json_type(payload, '$.data.annotation') = 'object')
             WHERE (json_type(a, '$.topic') IS NULL OR (json_type(a, '$.topic') = 'text' AND length(trim(json_extract(a, '$.topic'))) BETWEEN 1 AND 200))
               AND (json_type(a, '$.organiser') IS NULL OR (json_type(a, '$.organiser') = 'text' AND length(trim(json_extract(a, '$.organiser'))) BETWEEN 1 AND 100))
               AND (json_type(a, '$.note') IS NULL OR (json_type(a, '$.note') = 'text' AND length(trim(json_extract(a, '$.note'))) BETWEEN 1 AND 2000))
               AND (json_type(a, '$.attendees') IS NULL OR (json_type(a, '$.attendees') = 'integer' AND json_extract(a, '$.attendees') BETWEEN 0 AND 100000)))
     WHERE n = 1;
  `;

/** PostgreSQL: the same. */
export const PG_NOTES_MIGRATION = `
  CREATE TABLE session_notes (
    station_id TEXT NOT NULL, session_id TEXT NOT NULL, seq BIGINT NOT NULL,
    topic TEXT, attendees BIGINT, organiser TEXT, note TEXT,
    PRIMARY KEY (station_id, session_id)
  );
  INSERT INTO session_notes (station_id, session_id, seq, topic, attendees, organiser, note)
    SELECT DISTINCT ON (station_id, session_id) station_id, session_id, seq, a->>'topic', (a->>'attendees')::bigint, a->>'organiser', a->>'note'
      FROM (SELECT station_id, id AS session_id, seq, payload::jsonb->'annotation' AS a FROM records
             WHERE stream = 'usage' AND position('"annotation":{' IN payload) > 0
            UNION ALL
            SELECT station_id, p->'data'->>'session_id', seq, p->'data'->'annotation'
              FROM (SELECT station_id, seq, payload::jsonb AS p FROM records WHERE stream = 'events' AND position('"type":"annotation"' IN payload) > 0) e
             WHERE p->>'type' = 'annotation' AND jsonb_typeof(p->'data'->'session_id') = 'string' AND length(p->'data'->>'session_id') BETWEEN 10 AND 64
               AND jsonb_typeof(p->'data'->'seq') = 'number' AND jsonb_typeof(p->'data'->'annotation') = 'object') n
     WHERE jsonb_typeof(a) = 'object'
       AND (a->'topic' IS NULL OR (jsonb_typeof(a->'topic') = 'string' AND length(btrim(a->>'topic')) BETWEEN 1 AND 200))
       AND (a->'organiser' IS NULL OR (jsonb_typeof(a->'organiser') = 'string' AND length(btrim(a->>'organiser')) BETWEEN 1 AND 100))
       AND (a->'note' IS NULL OR (jsonb_typeof(a->'note') = 'string' AND length(btrim(a->>'note')) BETWEEN 1 AND 2000))
       AND (a->'attendees' IS NULL OR (jsonb_typeof(a->'attendees') = 'number' AND (a->>'attendees')::numeric = trunc((a->>'attendees')::numeric)
                                       AND (a->>'attendees')::numeric BETWEEN 0 AND 100000))
     ORDER BY station_id, session_id, seq DESC;
  `;
