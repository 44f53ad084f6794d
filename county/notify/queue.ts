/**
 * What the group notifications keep in the county database (SQLite or PostgreSQL, beside the collector's
 * tables): the durable queue of news per target (`NotifyQueue`, what the dispatcher sends from), and
 * around it (`NotifyStore`) what makes news be told once: marks that say what was already told (a station
 * reported offline, a fault reported, the day's digest sent), per-station cursors over the stored events,
 * the targets as the notify file names them (URLs masked, for the console) with their last result, the
 * history of what was sent, and who sends (one collector: `leadNotify`).
 */
import type { OpeningHours } from '../../protocol/opening-hours.js';
import type { Notice } from './messages.js';
import type { Queued } from './pack.js';

/** How a queued item ended, or when to try it again. */
export type Settlement = { state: 'sent'; text: string } | { state: 'retry'; reason: string; nextMs: number } | { state: 'failed'; reason: string };

/** The durable queue of news per target. */
export interface NotifyQueue {
  enqueue(items: ReadonlyArray<{ target: string; notice: Notice }>, nowMs: number): Promise<void>;
  /** Items of `target` due at `nowMs`, oldest first. */
  due(target: string, nowMs: number, limit: number): Promise<Array<Queued & { attempts: number }>>;
  settle(target: string, ids: readonly number[], how: Settlement, nowMs: number): Promise<void>;
  /** Messages sent to `target` since `sinceMs` (a summary counts once). */
  sentSince(target: string, sinceMs: number): Promise<number>;
}

/**
 * One piece of news with what says it was told. With `guard`, it is queued only while the mark `key`
 * is present (`present: true`) or absent (`present: false`); otherwise it is skipped whole, marks and
 * cursor included. Then its items are queued, each mark set (`value: null` removes it) and the station's
 * event cursor moved, all in the transaction of the call: told once, even across a restart.
 */
export interface News {
  items: ReadonlyArray<{ target: string; notice: Notice }>;
  guard?: { key: string; present: boolean };
  marks?: ReadonlyArray<{ key: string; value: string | null }>;
  cursor?: { station_id: string; seq: number };
}

/** A station's link as the offline rule reads it (offline.ts, over county/visits.ts). Times are the collector's clock (ISO). */
export interface NotifyStationRow {
  station_id: string;
  name: string | null;
  town: string | null;
  /** Its IANA zone (inventory); null: the county's. */
  timezone: string | null;
  /** Its declared opening hours (inventory); null: open at all times. */
  opening_hours: OpeningHours | null;
  online: boolean | null;
  /** When the last status (online, or offline: a clean stop or the broker's Last Will) arrived. */
  status_at: string | null;
  /** `agent_stop` when the last offline status was a clean stop; null for a Last Will or an online status. */
  status_reason: string | null;
  heartbeat_at: string | null;
}

/** A station's free disk space by its latest heartbeat (the file system holding the agent's data). */
export interface NotifyDiskRow {
  station_id: string;
  name: string | null;
  town: string | null;
  disk_free_pct: number | null;
  disk_free_mb: number | null;
}

/** A station whose stored events went past its cursor, and the events of the asked types between. */
export interface NotifyEventScan {
  stations: Array<{ station_id: string; name: string | null; town: string | null; cursor: number | null; watermark: number }>;
  /** Events after each station's cursor up to the `to` the caller moves it to (NOTIFY_SCAN_SPAN at most), by station and seq. */
  events: Array<{ station_id: string; seq: number; payload: string }>;
}

/** The seqs one scan reads past a station's cursor at most (the rest on the next scans). */
export const NOTIFY_SCAN_SPAN = 10_000;

/** A target as the notify file names it, its URL masked, with its last result (shown in the console). */
export interface NotifyTargetRow {
  id: string;
  kind: string;
  /** Masked: the robot's key or token never reaches the database. */
  url: string;
  /** 'all' or the towns, as JSON. */
  towns: 'all' | string[];
  lang: 'zh' | 'en';
  last_result: 'sent' | 'retry' | 'failed' | null;
  last_reason: string | null;
  last_ms: number | null;
}

export interface NotifyItemRow {
  id: number;
  target: string;
  notice: Notice;
  state: 'queued' | 'sent' | 'failed';
  attempts: number;
  next_ms: number;
  reason: string | null;
  created_ms: number;
  settled_ms: number | null;
}

/** One message a robot took: to whom, when, what it said, and how many queued items it carried. */
export interface NotifyMessageRow {
  id: number;
  target: string;
  sent_ms: number;
  text: string;
  items: number;
}

export interface NotifyCounts {
  target: string;
  queued: number;
  failed: number;
  sent: number;
}

export interface NotifyStore extends NotifyQueue {
  /** Queues news with its marks and cursors in one transaction (see News); resolves with how many were queued. */
  enqueueNews(news: readonly News[], nowMs: number): Promise<number>;
  /** The marks whose key starts with `prefix`. */
  notifyMarks(prefix: string): Promise<Array<{ key: string; value: string; at_ms: number }>>;
  /**
   * The stations the offline rule may have something to say about: reported offline, without a heartbeat
   * since `silentBefore` (ISO, collector clock; the visit rule's silence) or ever, or marked `offline:<id>`.
   */
  notifyStations(silentBefore: string): Promise<NotifyStationRow[]>;
  /** The stations whose latest heartbeat shows less than `belowPct` per cent of disk free, or marked `disk:<id>`. */
  notifyDiskStations(belowPct: number): Promise<NotifyDiskRow[]>;
  /**
   * Up to `maxStations` stations whose watermark passed their event cursor, with their events of `types`
   * past it. A station without a cursor is read from its first event when it was first seen at or after
   * `newSince` (ISO, collector clock: a station new since notifications began, whose first fault is news);
   * otherwise it is listed with cursor null and no events (the caller starts it at its watermark).
   */
  notifyEvents(types: readonly string[], maxStations: number, newSince: string): Promise<NotifyEventScan>;
  /**
   * Replaces the targets (ids that stay keep their last result); what waits for a target no longer named
   * fails with TARGET_REMOVED (it would wait forever).
   */
  setNotifyTargets(targets: ReadonlyArray<Pick<NotifyTargetRow, 'id' | 'kind' | 'url' | 'towns' | 'lang'>>, nowMs: number): Promise<void>;
  notifyTargets(): Promise<NotifyTargetRow[]>;
  noteTargetResult(id: string, result: 'sent' | 'retry' | 'failed', reason: string | null, atMs: number): Promise<void>;
  /** Queued items, oldest first. */
  notifyQueued(limit: number): Promise<NotifyItemRow[]>;
  /** Items that will never be sent (a permanent answer), newest first. */
  notifyFailed(limit: number): Promise<NotifyItemRow[]>;
  /** Messages sent, newest first. */
  notifyHistory(limit: number): Promise<NotifyMessageRow[]>;
  /** Per target: items queued and failed, messages sent (kept ones). */
  notifyCounts(): Promise<NotifyCounts[]>;
  /** Forgets settled items, messages and `once:` marks older than `beforeMs`. */
  pruneNotify(beforeMs: number): Promise<void>;
  /**
   * True while this store is the one that sends: on PostgreSQL a session-level advisory lock held on a
   * connection of its own (released by the server when that connection ends: a collector that dies
   * hands over), checked alive on every call; on SQLite always (one collector sends; docs/county.md).
   */
  leadNotify(): Promise<boolean>;
  /** Gives the lead up (stop, close). */
  resignNotify(): Promise<void>;
}

/** The reason of an item whose target left the notify file. */
export const TARGET_REMOVED = 'target removed from the notify file';

/** The mark saying a station was reported offline (its value: when). */
export const offlineMark = (station: string): string => `offline:${station}`;
/** The mark saying a station's disk was reported nearly full (its value: the free per cent then). */
export const diskMark = (station: string): string => `disk:${station}`;
/** The mark saying a device's fault was reported. */
export const faultMark = (station: string, device: string, code: string): string => `fault:${JSON.stringify([station, device, code])}`;
/** Marks of things told once per period (a day's digest, a month's progress): pruned when old. */
export const onceMark = (what: string): string => `once:${what}`;
