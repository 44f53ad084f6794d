/**
 * The group notifications' tables on SQLite (county/notify/queue.ts NotifyStore): the durable queue, the
 * messages sent, the targets, marks and event cursors, and the migration that makes them
 * (NOTIFY_SQLITE_MIGRATION, appended to MIGRATIONS in sqlite-schema.ts). The collector's SQLite store
 * offers it as its `notify`, on its own connection (on the collector's worker thread, like the rest).
 */
import type Database from 'better-sqlite3';
import type { Notice } from './notify/messages.js';
import { NOTIFY_SCAN_SPAN, TARGET_REMOVED, type News, type NotifyCounts, type NotifyDiskRow, type NotifyEventScan, type NotifyItemRow, type NotifyMessageRow, type NotifyStationRow, type NotifyStore, type NotifyTargetRow, type Settlement } from './notify/queue.js';
import type { Queued } from './notify/pack.js';
import { parseOpeningHours } from './store-rows.js';

/** The group notifications' migration (appended to MIGRATIONS; the stations' `status_reason` it reads is the visits migration's). */
export const NOTIFY_SQLITE_MIGRATION = `
  CREATE TABLE notify_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, notice TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL,
    reason TEXT, created_ms INTEGER NOT NULL, settled_ms INTEGER, message_id INTEGER
  );
  CREATE INDEX notify_items_queued ON notify_items (target, id) WHERE state = 'queued';
  CREATE INDEX notify_items_settled ON notify_items (settled_ms) WHERE state <> 'queued';
  CREATE TABLE notify_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, sent_ms INTEGER NOT NULL, text TEXT NOT NULL, items INTEGER NOT NULL
  );
  CREATE INDEX notify_messages_target ON notify_messages (target, sent_ms);
  CREATE INDEX notify_messages_sent ON notify_messages (sent_ms);
  CREATE TABLE notify_targets (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, url TEXT NOT NULL, towns TEXT NOT NULL, lang TEXT NOT NULL,
    last_result TEXT, last_reason TEXT, last_ms INTEGER, updated_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE notify_marks (key TEXT PRIMARY KEY, value TEXT NOT NULL, at_ms INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE notify_cursors (station_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
`;

/** Disk nearly full: the free space of each station's latest heartbeat on its row (written with every heartbeat). */
export const NOTIFY_DISK_SQLITE_MIGRATION = `
  ALTER TABLE stations ADD COLUMN disk_free_pct REAL;
  ALTER TABLE stations ADD COLUMN disk_free_mb REAL;
`;

const NOTIFY_STATEMENTS = {
  enqueue: 'INSERT INTO notify_items (target, notice, next_ms, created_ms) VALUES (?, ?, ?, ?)',
  due: `SELECT id, notice, attempts FROM notify_items WHERE target = ? AND state = 'queued' AND next_ms <= ? ORDER BY id LIMIT ?`,
  message: 'INSERT INTO notify_messages (target, sent_ms, text, items) VALUES (?, ?, ?, ?)',
  sent: `UPDATE notify_items SET state = 'sent', settled_ms = $at, message_id = $message, reason = NULL
          WHERE target = $target AND state = 'queued' AND id IN (SELECT value FROM json_each($ids))`,
  retry: `UPDATE notify_items SET attempts = attempts + 1, next_ms = $next, reason = $reason
           WHERE target = $target AND state = 'queued' AND id IN (SELECT value FROM json_each($ids))`,
  failed: `UPDATE notify_items SET state = 'failed', settled_ms = $at, reason = $reason
            WHERE target = $target AND state = 'queued' AND id IN (SELECT value FROM json_each($ids))`,
  sentSince: 'SELECT count(*) AS n FROM notify_messages WHERE target = ? AND sent_ms >= ?',
  markGet: 'SELECT 1 FROM notify_marks WHERE key = ?',
  markSet: 'INSERT INTO notify_marks (key, value, at_ms) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, at_ms = excluded.at_ms',
  markDelete: 'DELETE FROM notify_marks WHERE key = ?',
  // LIKE with an escape: a prefix is matched as written, whatever it holds.
  marks: `SELECT key, value, at_ms FROM notify_marks WHERE key LIKE ? ESCAPE '\\' ORDER BY key`,
  cursorSet: 'INSERT INTO notify_cursors (station_id, seq) VALUES (?, ?) ON CONFLICT (station_id) DO UPDATE SET seq = excluded.seq',
  // Silence is the visit rule's (county/visits.ts): no heartbeat since $before (the collector's clock), or none ever.
  stations: `SELECT station_id, name, town, timezone, opening_hours, online, status_at, status_reason, heartbeat_at FROM stations s
              WHERE online = 0 OR coalesce(heartbeat_at, '') < $before
                 OR EXISTS (SELECT 1 FROM notify_marks m WHERE m.key = 'offline:' || s.station_id)
              ORDER BY town IS NULL, town, station_id`,
  disks: `SELECT station_id, name, town, disk_free_pct, disk_free_mb FROM stations s
           WHERE disk_free_pct < $below OR EXISTS (SELECT 1 FROM notify_marks m WHERE m.key = 'disk:' || s.station_id)
           ORDER BY town IS NULL, town, station_id`,
  // A station new since notifications began is read from its first event (cursor 0), an older one starts at its watermark.
  scanStations: `SELECT station_id, name, town, watermark, cursor FROM (
                   SELECT s.station_id, s.name, s.town, s.watermark, coalesce(c.seq, CASE WHEN s.first_seen_at >= $since THEN 0 END) AS cursor, c.seq AS stored
                     FROM stations s LEFT JOIN notify_cursors c ON c.station_id = s.station_id)
                  WHERE cursor IS NULL OR watermark > cursor OR stored IS NULL ORDER BY station_id LIMIT $max`,
  scanEvents: `SELECT e.station_id, e.seq, r.payload FROM events e JOIN records r ON r.station_id = e.station_id AND r.seq = e.seq
                WHERE e.station_id = $s AND e.seq > $a AND e.seq <= $b AND e.type IN (SELECT value FROM json_each($types)) ORDER BY e.seq`,
  targetsKeep: 'DELETE FROM notify_targets WHERE id NOT IN (SELECT value FROM json_each(?))',
  orphans: `UPDATE notify_items SET state = 'failed', settled_ms = ?, reason = ? WHERE state = 'queued' AND target NOT IN (SELECT value FROM json_each(?))`,
  targetPut: `INSERT INTO notify_targets (id, kind, url, towns, lang, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, url = excluded.url, towns = excluded.towns, lang = excluded.lang, updated_ms = excluded.updated_ms`,
  targets: 'SELECT id, kind, url, towns, lang, last_result, last_reason, last_ms FROM notify_targets ORDER BY id',
  targetResult: 'UPDATE notify_targets SET last_result = ?, last_reason = ?, last_ms = ? WHERE id = ?',
  queued: `SELECT id, target, notice, state, attempts, next_ms, reason, created_ms, settled_ms FROM notify_items WHERE state = 'queued' ORDER BY id LIMIT ?`,
  failedItems: `SELECT id, target, notice, state, attempts, next_ms, reason, created_ms, settled_ms FROM notify_items WHERE state = 'failed' ORDER BY settled_ms DESC, id DESC LIMIT ?`,
  history: 'SELECT id, target, sent_ms, text, items FROM notify_messages ORDER BY sent_ms DESC, id DESC LIMIT ?',
  counts: `SELECT target, sum(queued) AS queued, sum(failed) AS failed, sum(sent) AS sent FROM (
             SELECT target, sum(state = 'queued') AS queued, sum(state = 'failed') AS failed, 0 AS sent FROM notify_items WHERE state <> 'sent' GROUP BY target
             UNION ALL SELECT target, 0, 0, count(*) FROM notify_messages GROUP BY target) GROUP BY target ORDER BY target`,
  pruneItems: `DELETE FROM notify_items WHERE state <> 'queued' AND settled_ms < ?`,
  pruneMessages: 'DELETE FROM notify_messages WHERE sent_ms < ?',
  pruneMarks: `DELETE FROM notify_marks WHERE key LIKE 'once:%' AND at_ms < ?`,
} as const;

type NotifyStatements = { [K in keyof typeof NOTIFY_STATEMENTS]: Database.Statement };

type ItemDbRow = Omit<NotifyItemRow, 'notice'> & { notice: string };
const toItem = (r: ItemDbRow): NotifyItemRow => ({ ...r, notice: JSON.parse(r.notice) as Notice });
const likePrefix = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class SqliteNotifyStore implements NotifyStore {
  private readonly n: NotifyStatements;

  constructor(private readonly db: Database.Database) {
    this.n = Object.fromEntries(Object.entries(NOTIFY_STATEMENTS).map(([k, sql]) => [k, db.prepare(sql)])) as NotifyStatements;
  }

  async enqueue(items: ReadonlyArray<{ target: string; notice: Notice }>, nowMs: number): Promise<void> {
    this.db.transaction(() => {
      for (const i of items) this.n.enqueue.run(i.target, JSON.stringify(i.notice), nowMs, nowMs);
    }).immediate();
  }

  async due(target: string, nowMs: number, limit: number): Promise<Array<Queued & { attempts: number }>> {
    return (this.n.due.all(target, nowMs, limit) as Array<{ id: number; notice: string; attempts: number }>).map((r) => ({ id: r.id, notice: JSON.parse(r.notice) as Notice, attempts: r.attempts }));
  }

  async settle(target: string, ids: readonly number[], how: Settlement, nowMs: number): Promise<void> {
    const list = JSON.stringify(ids);
    this.db.transaction(() => {
      if (how.state === 'sent') {
        const message = Number(this.n.message.run(target, nowMs, how.text, ids.length).lastInsertRowid);
        this.n.sent.run({ target, ids: list, at: nowMs, message });
      } else if (how.state === 'retry') this.n.retry.run({ target, ids: list, next: how.nextMs, reason: how.reason });
      else this.n.failed.run({ target, ids: list, at: nowMs, reason: how.reason });
    }).immediate();
  }

  async sentSince(target: string, sinceMs: number): Promise<number> {
    return (this.n.sentSince.get(target, sinceMs) as { n: number }).n;
  }

  async enqueueNews(news: readonly News[], nowMs: number): Promise<number> {
    return this.db.transaction(() => {
      let queued = 0;
      for (const x of news) {
        if (x.guard && (this.n.markGet.get(x.guard.key) !== undefined) !== x.guard.present) continue;
        for (const i of x.items) this.n.enqueue.run(i.target, JSON.stringify(i.notice), nowMs, nowMs);
        for (const m of x.marks ?? []) {
          if (m.value === null) this.n.markDelete.run(m.key);
          else this.n.markSet.run(m.key, m.value, nowMs);
        }
        if (x.cursor) this.n.cursorSet.run(x.cursor.station_id, x.cursor.seq);
        queued++;
      }
      return queued;
    }).immediate();
  }

  async notifyMarks(prefix: string): Promise<Array<{ key: string; value: string; at_ms: number }>> {
    return this.n.marks.all(likePrefix(prefix)) as Array<{ key: string; value: string; at_ms: number }>;
  }

  async notifyStations(silentBefore: string): Promise<NotifyStationRow[]> {
    return (this.n.stations.all({ before: silentBefore }) as Array<Omit<NotifyStationRow, 'online' | 'opening_hours'> & { online: number | null; opening_hours: string | null }>).map((r) => ({
      ...r,
      online: r.online === null ? null : r.online === 1,
      opening_hours: parseOpeningHours(r.opening_hours),
    }));
  }

  async notifyDiskStations(belowPct: number): Promise<NotifyDiskRow[]> {
    return this.n.disks.all({ below: belowPct }) as NotifyDiskRow[];
  }

  async notifyEvents(types: readonly string[], maxStations: number, newSince: string): Promise<NotifyEventScan> {
    const stations = this.n.scanStations.all({ max: maxStations, since: newSince }) as NotifyEventScan['stations'];
    const events: NotifyEventScan['events'] = [];
    const t = JSON.stringify(types);
    for (const s of stations) {
      if (s.cursor === null) continue;
      events.push(...(this.n.scanEvents.all({ s: s.station_id, a: s.cursor, b: Math.min(s.watermark, s.cursor + NOTIFY_SCAN_SPAN), types: t }) as NotifyEventScan['events']));
    }
    return { stations, events };
  }

  async setNotifyTargets(targets: ReadonlyArray<Pick<NotifyTargetRow, 'id' | 'kind' | 'url' | 'towns' | 'lang'>>, nowMs: number): Promise<void> {
    this.db.transaction(() => {
      const ids = JSON.stringify(targets.map((t) => t.id));
      this.n.targetsKeep.run(ids);
      this.n.orphans.run(nowMs, TARGET_REMOVED, ids);
      for (const t of targets) this.n.targetPut.run(t.id, t.kind, t.url, JSON.stringify(t.towns), t.lang, nowMs);
    }).immediate();
  }

  async notifyTargets(): Promise<NotifyTargetRow[]> {
    return (this.n.targets.all() as Array<Omit<NotifyTargetRow, 'towns'> & { towns: string }>).map((r) => ({ ...r, towns: JSON.parse(r.towns) as NotifyTargetRow['towns'] }));
  }

  async noteTargetResult(id: string, result: 'sent' | 'retry' | 'failed', reason: string | null, atMs: number): Promise<void> {
    this.n.targetResult.run(result, reason, atMs, id);
  }

  async notifyQueued(limit: number): Promise<NotifyItemRow[]> {
    return (this.n.queued.all(limit) as ItemDbRow[]).map(toItem);
  }

  async notifyFailed(limit: number): Promise<NotifyItemRow[]> {
    return (this.n.failedItems.all(limit) as ItemDbRow[]).map(toItem);
  }

  async notifyHistory(limit: number): Promise<NotifyMessageRow[]> {
    return this.n.history.all(limit) as NotifyMessageRow[];
  }

  async notifyCounts(): Promise<NotifyCounts[]> {
    return this.n.counts.all() as NotifyCounts[];
  }

  async pruneNotify(beforeMs: number): Promise<void> {
    this.db.transaction(() => {
      this.n.pruneItems.run(beforeMs);
      this.n.pruneMessages.run(beforeMs);
      this.n.pruneMarks.run(beforeMs);
    }).immediate();
  }

  /** One collector per SQLite file sends (docs/county.md "Group notifications"): nothing to elect. */
  async leadNotify(): Promise<boolean> {
    return true;
  }

  async resignNotify(): Promise<void> {}
}
