/**
 * The PostgreSQL statements of the console's pushes (pusher.ts stores them, the schedules and push pages
 * read them), spread into pg-schema.ts SQL, and the migration that keeps how a push's stations were
 * chosen; the same as SQLite's (sqlite-schema.ts).
 */

/** The schedule push form (issue 22): how the clerk chose a push's stations (targets.ts storedTarget). Older rows keep null. */
export const PUSH_TARGET_PG_MIGRATION = `
  ALTER TABLE pushes ADD COLUMN target TEXT;
  `;

export const PUSH_PG_SQL = {
  pushInsert: `INSERT INTO pushes (station_id, transaction_id, push_id, action, args, sent_at, sent_by, status, response, responded_at, target)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
  pushRespond: `UPDATE pushes SET status = $1, response = $2, responded_at = $3 WHERE station_id = $4 AND transaction_id = $5 AND status = 'sent'`,
  pushKnown: 'SELECT 1 FROM pushes WHERE station_id = $1 AND transaction_id = $2',
  pushRows: `SELECT push_id, transaction_id AS "transaction", station_id, action, args, sent_at, sent_by, status, response, responded_at, target
               FROM pushes WHERE push_id = $1 ORDER BY station_id`,
  recentPushes: `SELECT push_id, max(action) AS action, max(args) AS args, max(target) AS target, min(sent_at) AS sent_at, max(sent_by) AS sent_by, count(*)::bigint AS stations,
                        count(*) FILTER (WHERE status = 'ok')::bigint AS ok, count(*) FILTER (WHERE status = 'error')::bigint AS error
                   FROM pushes GROUP BY push_id ORDER BY min(sent_at) DESC, push_id DESC LIMIT $1`,
  // A town account's view (county/console/access.ts): only the rows of its towns' stations count.
  recentPushesOfTowns: `SELECT p.push_id, max(p.action) AS action, max(p.args) AS args, max(p.target) AS target, min(p.sent_at) AS sent_at, max(p.sent_by) AS sent_by, count(*)::bigint AS stations,
                        count(*) FILTER (WHERE p.status = 'ok')::bigint AS ok, count(*) FILTER (WHERE p.status = 'error')::bigint AS error
                   FROM pushes p JOIN stations s ON s.station_id = p.station_id
                  WHERE s.town = ANY($2::text[])
                  GROUP BY p.push_id ORDER BY min(p.sent_at) DESC, p.push_id DESC LIMIT $1`,
} as const;
