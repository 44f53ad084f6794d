/**
 * The group notifications' tables on PostgreSQL (county/notify/queue.ts NotifyStore), as on SQLite
 * (sqlite-notify.ts): the durable queue, the messages sent, the targets, marks and event cursors, and
 * their migration (NOTIFY_PG_MIGRATION, appended to PG_MIGRATIONS in pg-schema.ts). Several collectors
 * share one database: one of them sends, the holder of a session-level advisory lock on a connection of
 * its own (leadNotify), which the server releases when that connection ends, so a collector that dies
 * hands the sending over to another.
 */
import pg from 'pg';
import type { Notice } from './notify/messages.js';
import type { Queued } from './notify/pack.js';
import { parseOpeningHours } from './store-rows.js';
import { NOTIFY_SCAN_SPAN, TARGET_REMOVED, type News, type NotifyCounts, type NotifyDiskRow, type NotifyEventScan, type NotifyItemRow, type NotifyMessageRow, type NotifyStationRow, type NotifyStore, type NotifyTargetRow, type Settlement } from './notify/queue.js';

/** The group notifications' migration (appended to PG_MIGRATIONS; the stations' `status_reason` it reads is the visits migration's). */
export const NOTIFY_PG_MIGRATION = `
  CREATE TABLE notify_items (
    id BIGSERIAL PRIMARY KEY, target TEXT NOT NULL, notice TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0, next_ms BIGINT NOT NULL,
    reason TEXT, created_ms BIGINT NOT NULL, settled_ms BIGINT, message_id BIGINT
  );
  CREATE INDEX notify_items_queued ON notify_items (target, id) WHERE state = 'queued';
  CREATE INDEX notify_items_settled ON notify_items (settled_ms) WHERE state <> 'queued';
  CREATE TABLE notify_messages (
    id BIGSERIAL PRIMARY KEY, target TEXT NOT NULL, sent_ms BIGINT NOT NULL, text TEXT NOT NULL, items INTEGER NOT NULL
  );
  CREATE INDEX notify_messages_target ON notify_messages (target, sent_ms);
  CREATE INDEX notify_messages_sent ON notify_messages (sent_ms);
  CREATE TABLE notify_targets (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, url TEXT NOT NULL, towns TEXT NOT NULL, lang TEXT NOT NULL,
    last_result TEXT, last_reason TEXT, last_ms BIGINT, updated_ms BIGINT NOT NULL
  );
  CREATE TABLE notify_marks (key TEXT PRIMARY KEY, value TEXT NOT NULL, at_ms BIGINT NOT NULL);
  CREATE TABLE notify_cursors (station_id TEXT PRIMARY KEY, seq BIGINT NOT NULL);
`;

/** pg_try_advisory_lock key (session level): the collector that holds it sends. */
export const NOTIFY_LEAD_LOCK = 7_263_002;
/** pg_advisory_xact_lock key: news and their marks are checked and written one transaction at a time. */
const NOTIFY_NEWS_LOCK = 7_263_003;

const ITEM_COLUMNS = 'id, target, notice, state, attempts, next_ms, reason, created_ms, settled_ms';

/** Disk nearly full, as SQLite's: the free space of each station's latest heartbeat on its row (float8, as the history's). */
export const NOTIFY_DISK_PG_MIGRATION = `
  ALTER TABLE stations ADD COLUMN disk_free_pct DOUBLE PRECISION, ADD COLUMN disk_free_mb DOUBLE PRECISION;
`;

const NOTIFY_SQL = {
  enqueue: `INSERT INTO notify_items (target, notice, next_ms, created_ms) SELECT t, n, $3, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v(t, n, o) ORDER BY o`,
  due: `SELECT id, notice, attempts FROM notify_items WHERE target = $1 AND state = 'queued' AND next_ms <= $2 ORDER BY id LIMIT $3`,
  message: 'INSERT INTO notify_messages (target, sent_ms, text, items) VALUES ($1, $2, $3, $4) RETURNING id',
  sent: `UPDATE notify_items SET state = 'sent', settled_ms = $3, message_id = $4, reason = NULL WHERE target = $1 AND state = 'queued' AND id = ANY($2::bigint[])`,
  retry: `UPDATE notify_items SET attempts = attempts + 1, next_ms = $3, reason = $4 WHERE target = $1 AND state = 'queued' AND id = ANY($2::bigint[])`,
  failed: `UPDATE notify_items SET state = 'failed', settled_ms = $3, reason = $4 WHERE target = $1 AND state = 'queued' AND id = ANY($2::bigint[])`,
  sentSince: 'SELECT count(*)::int AS n FROM notify_messages WHERE target = $1 AND sent_ms >= $2',
  marksOf: 'SELECT key FROM notify_marks WHERE key = ANY($1::text[])',
  marksSet: `INSERT INTO notify_marks (key, value, at_ms) SELECT k, v, $3 FROM unnest($1::text[], $2::text[]) AS x(k, v)
              ON CONFLICT (key) DO UPDATE SET value = excluded.value, at_ms = excluded.at_ms`,
  marksDelete: 'DELETE FROM notify_marks WHERE key = ANY($1::text[])',
  marks: `SELECT key, value, at_ms FROM notify_marks WHERE starts_with(key, $1) ORDER BY key COLLATE "C"`,
  cursorsSet: `INSERT INTO notify_cursors (station_id, seq) SELECT s, q FROM unnest($1::text[], $2::bigint[]) AS x(s, q)
                ON CONFLICT (station_id) DO UPDATE SET seq = excluded.seq`,
  // Silence is the visit rule's (county/visits.ts): no heartbeat since $1 (the collector's clock), or none ever.
  stations: `SELECT station_id, name, town, timezone, opening_hours, online, status_at, status_reason, heartbeat_at FROM stations s
              WHERE online = false OR coalesce(heartbeat_at, '') < $1
                 OR EXISTS (SELECT 1 FROM notify_marks m WHERE m.key = 'offline:' || s.station_id)
              ORDER BY town IS NULL, town, station_id`,
  disks: `SELECT station_id, name, town, disk_free_pct, disk_free_mb FROM stations s
           WHERE disk_free_pct < $1 OR EXISTS (SELECT 1 FROM notify_marks m WHERE m.key = 'disk:' || s.station_id)
           ORDER BY town IS NULL, town, station_id`,
  // A station new since notifications began is read from its first event (cursor 0), an older one starts at its watermark.
  scanStations: `SELECT station_id, name, town, watermark, cursor FROM (
                   SELECT s.station_id, s.name, s.town, s.watermark, coalesce(c.seq, CASE WHEN s.first_seen_at >= $2 THEN 0 END) AS cursor, c.seq AS stored
                     FROM stations s LEFT JOIN notify_cursors c ON c.station_id = s.station_id) x
                  WHERE cursor IS NULL OR watermark > cursor OR stored IS NULL ORDER BY station_id LIMIT $1`,
  scanEvents: `SELECT e.station_id, e.seq, r.payload FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS w(station_id, a, b)
                 JOIN events e ON e.station_id = w.station_id AND e.seq > w.a AND e.seq <= w.b
                 JOIN records r ON r.station_id = e.station_id AND r.seq = e.seq
                WHERE e.type = ANY($4::text[]) ORDER BY e.station_id, e.seq`,
  targetsKeep: 'DELETE FROM notify_targets WHERE NOT (id = ANY($1::text[]))',
  orphans: `UPDATE notify_items SET state = 'failed', settled_ms = $2, reason = $3 WHERE state = 'queued' AND NOT (target = ANY($1::text[]))`,
  targetsPut: `INSERT INTO notify_targets (id, kind, url, towns, lang, updated_ms)
                SELECT i, k, u, t, l, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS x(i, k, u, t, l)
                ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, url = excluded.url, towns = excluded.towns, lang = excluded.lang, updated_ms = excluded.updated_ms`,
  targets: 'SELECT id, kind, url, towns, lang, last_result, last_reason, last_ms FROM notify_targets ORDER BY id',
  targetResult: 'UPDATE notify_targets SET last_result = $2, last_reason = $3, last_ms = $4 WHERE id = $1',
  queued: `SELECT ${ITEM_COLUMNS} FROM notify_items WHERE state = 'queued' ORDER BY id LIMIT $1`,
  failedItems: `SELECT ${ITEM_COLUMNS} FROM notify_items WHERE state = 'failed' ORDER BY settled_ms DESC, id DESC LIMIT $1`,
  history: 'SELECT id, target, sent_ms, text, items FROM notify_messages ORDER BY sent_ms DESC, id DESC LIMIT $1',
  counts: `SELECT target, sum(queued)::int AS queued, sum(failed)::int AS failed, sum(sent)::int AS sent FROM (
             SELECT target, count(*) FILTER (WHERE state = 'queued') AS queued, count(*) FILTER (WHERE state = 'failed') AS failed, 0 AS sent
               FROM notify_items WHERE state <> 'sent' GROUP BY target
             UNION ALL SELECT target, 0, 0, count(*) FROM notify_messages GROUP BY target) x GROUP BY target ORDER BY target COLLATE "C"`,
  pruneItems: `DELETE FROM notify_items WHERE state <> 'queued' AND settled_ms < $1`,
  pruneMessages: 'DELETE FROM notify_messages WHERE sent_ms < $1',
  pruneMarks: `DELETE FROM notify_marks WHERE starts_with(key, 'once:') AND at_ms < $1`,
} as const;

type ItemDbRow = Omit<NotifyItemRow, 'notice'> & { notice: string };
const toItem = (r: ItemDbRow): NotifyItemRow => ({ ...r, notice: JSON.parse(r.notice) as Notice });

export class PgNotifyStore implements NotifyStore {
  /** The connection holding the lead lock, while this store leads. */
  private lead: pg.Client | undefined;

  constructor(protected readonly pool: pg.Pool) {}

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async enqueue(items: ReadonlyArray<{ target: string; notice: Notice }>, nowMs: number): Promise<void> {
    if (items.length === 0) return;
    await this.pool.query(NOTIFY_SQL.enqueue, [items.map((i) => i.target), items.map((i) => JSON.stringify(i.notice)), nowMs]);
  }

  async due(target: string, nowMs: number, limit: number): Promise<Array<Queued & { attempts: number }>> {
    const rows = (await this.pool.query(NOTIFY_SQL.due, [target, nowMs, limit])).rows as Array<{ id: number; notice: string; attempts: number }>;
    return rows.map((r) => ({ id: r.id, notice: JSON.parse(r.notice) as Notice, attempts: r.attempts }));
  }

  async settle(target: string, ids: readonly number[], how: Settlement, nowMs: number): Promise<void> {
    if (how.state === 'retry') {
      await this.pool.query(NOTIFY_SQL.retry, [target, ids, how.nextMs, how.reason]);
      return;
    }
    if (how.state === 'failed') {
      await this.pool.query(NOTIFY_SQL.failed, [target, ids, nowMs, how.reason]);
      return;
    }
    await this.tx(async (c) => {
      const message = ((await c.query(NOTIFY_SQL.message, [target, nowMs, how.text, ids.length])).rows[0] as { id: number }).id;
      await c.query(NOTIFY_SQL.sent, [target, ids, nowMs, message]);
    });
  }

  async sentSince(target: string, sinceMs: number): Promise<number> {
    return ((await this.pool.query(NOTIFY_SQL.sentSince, [target, sinceMs])).rows[0] as { n: number }).n;
  }

  async enqueueNews(news: readonly News[], nowMs: number): Promise<number> {
    if (news.length === 0) return 0;
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [NOTIFY_NEWS_LOCK]);
      const guards = [...new Set(news.flatMap((x) => (x.guard ? [x.guard.key] : [])))];
      const present = new Set(guards.length ? ((await c.query(NOTIFY_SQL.marksOf, [guards])).rows as Array<{ key: string }>).map((r) => r.key) : []);
      const items: Array<{ target: string; notice: Notice }> = [];
      const marks = new Map<string, string | null>();
      const cursors = new Map<string, number>();
      let queued = 0;
      for (const x of news) {
        if (x.guard && present.has(x.guard.key) !== x.guard.present) continue;
        items.push(...x.items);
        // What this call set or removed is what a later guard of the same call sees.
        for (const m of x.marks ?? []) {
          marks.set(m.key, m.value);
          if (m.value === null) present.delete(m.key);
          else present.add(m.key);
        }
        if (x.cursor) cursors.set(x.cursor.station_id, x.cursor.seq);
        queued++;
      }
      if (items.length) await c.query(NOTIFY_SQL.enqueue, [items.map((i) => i.target), items.map((i) => JSON.stringify(i.notice)), nowMs]);
      const set = [...marks].filter((m): m is [string, string] => m[1] !== null);
      const removed = [...marks].filter(([, v]) => v === null).map(([k]) => k);
      if (set.length) await c.query(NOTIFY_SQL.marksSet, [set.map(([k]) => k), set.map(([, v]) => v), nowMs]);
      if (removed.length) await c.query(NOTIFY_SQL.marksDelete, [removed]);
      if (cursors.size) await c.query(NOTIFY_SQL.cursorsSet, [[...cursors.keys()], [...cursors.values()]]);
      return queued;
    });
  }

  async notifyMarks(prefix: string): Promise<Array<{ key: string; value: string; at_ms: number }>> {
    return (await this.pool.query(NOTIFY_SQL.marks, [prefix])).rows as Array<{ key: string; value: string; at_ms: number }>;
  }

  async notifyStations(silentBefore: string): Promise<NotifyStationRow[]> {
    const rows = (await this.pool.query(NOTIFY_SQL.stations, [silentBefore])).rows as Array<Omit<NotifyStationRow, 'opening_hours'> & { opening_hours: string | null }>;
    return rows.map((r) => ({ ...r, opening_hours: parseOpeningHours(r.opening_hours) }));
  }

  async notifyDiskStations(belowPct: number): Promise<NotifyDiskRow[]> {
    return (await this.pool.query(NOTIFY_SQL.disks, [belowPct])).rows as NotifyDiskRow[];
  }

  async notifyEvents(types: readonly string[], maxStations: number, newSince: string): Promise<NotifyEventScan> {
    const stations = (await this.pool.query(NOTIFY_SQL.scanStations, [maxStations, newSince])).rows as NotifyEventScan['stations'];
    const scan = stations.filter((s) => s.cursor !== null);
    if (scan.length === 0) return { stations, events: [] };
    const events = (
      await this.pool.query(NOTIFY_SQL.scanEvents, [scan.map((s) => s.station_id), scan.map((s) => s.cursor), scan.map((s) => Math.min(s.watermark, s.cursor! + NOTIFY_SCAN_SPAN)), [...types]])
    ).rows as NotifyEventScan['events'];
    return { stations, events };
  }

  async setNotifyTargets(targets: ReadonlyArray<Pick<NotifyTargetRow, 'id' | 'kind' | 'url' | 'towns' | 'lang'>>, nowMs: number): Promise<void> {
    await this.tx(async (c) => {
      await c.query(NOTIFY_SQL.targetsKeep, [targets.map((t) => t.id)]);
      await c.query(NOTIFY_SQL.orphans, [targets.map((t) => t.id), nowMs, TARGET_REMOVED]);
      if (targets.length === 0) return;
      const col = (f: (t: (typeof targets)[number]) => string) => targets.map(f);
      await c.query(NOTIFY_SQL.targetsPut, [col((t) => t.id), col((t) => t.kind), col((t) => t.url), col((t) => JSON.stringify(t.towns)), col((t) => t.lang), nowMs]);
    });
  }

  async notifyTargets(): Promise<NotifyTargetRow[]> {
    const rows = (await this.pool.query(NOTIFY_SQL.targets)).rows as Array<Omit<NotifyTargetRow, 'towns'> & { towns: string }>;
    return rows.map((r) => ({ ...r, towns: JSON.parse(r.towns) as NotifyTargetRow['towns'] }));
  }

  async noteTargetResult(id: string, result: 'sent' | 'retry' | 'failed', reason: string | null, atMs: number): Promise<void> {
    await this.pool.query(NOTIFY_SQL.targetResult, [id, result, reason, atMs]);
  }

  async notifyQueued(limit: number): Promise<NotifyItemRow[]> {
    return ((await this.pool.query(NOTIFY_SQL.queued, [limit])).rows as ItemDbRow[]).map(toItem);
  }

  async notifyFailed(limit: number): Promise<NotifyItemRow[]> {
    return ((await this.pool.query(NOTIFY_SQL.failedItems, [limit])).rows as ItemDbRow[]).map(toItem);
  }

  async notifyHistory(limit: number): Promise<NotifyMessageRow[]> {
    return (await this.pool.query(NOTIFY_SQL.history, [limit])).rows as NotifyMessageRow[];
  }

  async notifyCounts(): Promise<NotifyCounts[]> {
    return (await this.pool.query(NOTIFY_SQL.counts)).rows as NotifyCounts[];
  }

  async pruneNotify(beforeMs: number): Promise<void> {
    await this.tx(async (c) => {
      await c.query(NOTIFY_SQL.pruneItems, [beforeMs]);
      await c.query(NOTIFY_SQL.pruneMessages, [beforeMs]);
      await c.query(NOTIFY_SQL.pruneMarks, [beforeMs]);
    });
  }

  async leadNotify(): Promise<boolean> {
    if (this.lead) {
      // The lock lives as long as its session: a query that works on it proves the lead is still ours.
      try {
        await this.lead.query('SELECT 1');
        return true;
      } catch {
        await this.resignNotify();
      }
    }
    // Its own connection, not the pool's: the pool may close idle connections, and the lock with them.
    const c = new pg.Client({ ...this.pool.options, application_name: 'county-notify', keepAlive: true, query_timeout: 10_000, connectionTimeoutMillis: 10_000 });
    c.on('error', () => {
      if (this.lead === c) this.lead = undefined;
      void c.end().catch(() => undefined);
    });
    try {
      await c.connect();
      const ok = ((await c.query('SELECT pg_try_advisory_lock($1) AS ok', [NOTIFY_LEAD_LOCK])).rows[0] as { ok: boolean }).ok;
      if (ok) {
        this.lead = c;
        return true;
      }
    } catch {
      /* the database is away: not leading; asked again on the next pass */
    }
    await c.end().catch(() => undefined);
    return false;
  }

  async resignNotify(): Promise<void> {
    const c = this.lead;
    this.lead = undefined;
    // Ending the session releases its lock: another collector takes the lead on its next pass.
    await c?.end().catch(() => undefined);
  }
}
