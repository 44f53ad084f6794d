/**
 * What the county collector needs from its database, and nothing about how it is kept. The reference
 * implementation is SQLite (sqlite-store.ts); a county platform implements the same interface on its own
 * database (PostgreSQL through `pg`, which is asynchronous: hence every method returns a Promise).
 *
 * Durable records are keyed by `(station_id, seq)` (docs/design.md §5) where `seq` is the county seq: the
 * record's own seq above its ledger's base (ledgers.ts, docs/mqtt.md "Ledgers"), so a replaced station
 * database's records are never taken for the old one's. A duplicate is a no-op, a gap is visible as
 * `max_seq > watermark`. Several collectors may share one database, so every
 * read-modify-write (a batch of writes, claiming acks) is atomic in the store, never in the caller.
 */
import type { IncomingUsageRecord } from '../protocol/usage-record.js';
import type { IncomingEventRecord } from '../protocol/event-record.js';
import type { DeviceStatePayload, Heartbeat, Inventory, Status } from '../protocol/payloads.js';
import type { OpeningHours } from '../protocol/opening-hours.js';
import type { ClassRun, VisitStore } from './visit-store.js';
import type { AuditStore } from './audit.js';
import type { NotifyStore } from './notify/queue.js';

/** One validated message (or a loss a station reported) to store; `receivedAt` is the collector's clock. */
export type CollectorWrite =
  | { kind: 'status'; station: string; status: Status; receivedAt: string }
  | { kind: 'inventory'; station: string; inventory: Inventory; receivedAt: string }
  | { kind: 'heartbeat'; station: string; heartbeat: Heartbeat; receivedAt: string }
  | { kind: 'device_state'; station: string; device: string; state: DeviceStatePayload; receivedAt: string }
  /** `record.seq` is the station's; the store places it in the station's county seq space (ledgers.ts). */
  | { kind: 'record'; station: string; stream: 'usage'; record: IncomingUsageRecord; raw: string; receivedAt: string }
  | { kind: 'record'; station: string; stream: 'events'; record: IncomingEventRecord; raw: string; receivedAt: string }
  /** County seqs the station answered a resend for with `count: 0` (it no longer holds them), or of a replaced ledger. */
  | { kind: 'lost'; station: string; from_seq: number; to_seq: number };

/**
 * `quarantined`: its seq is more than SEQ_WINDOW above the station's watermark (a forged or corrupt seq):
 * kept aside (see quarantined()), counted on the station, never stored, acked or asked for as a gap.
 */
export type StoreOutcome = 'stored' | 'duplicate' | 'conflict' | 'quarantined';

/**
 * How far above a station's watermark a seq may be and still be stored. Further is suspect: a real
 * station replays in seq order from its lowest unacked record, so its seqs arrive close to the
 * watermark; one seq near 2^53 would otherwise open a gap of billions to ask for and mark lost.
 * 100,000 records is years of a station's records (a few sessions and events a day).
 */
export const SEQ_WINDOW = 100_000;
/** At most this many quarantined records are kept per station (the counter counts them all). */
export const QUARANTINE_KEEP = 100;

/** Options every implementation takes. */
export interface StoreOptions {
  /** Default SEQ_WINDOW. */
  seqWindow?: number;
}

/** The outcome of each write, in the order of the writes. */
export type WriteOutcome =
  /** `applied: false`: a late Last Will of an older MQTT session (lower `boot`), ignored. */
  | { kind: 'status'; applied: boolean }
  | { kind: 'inventory' | 'heartbeat' | 'device_state' }
  | { kind: 'record'; outcome: StoreOutcome }
  /**
   * How many seqs were newly recorded as lost (only seqs not stored nor already lost, above the
   * watermark, below max_seq), written as ranges in one statement.
   */
  | { kind: 'lost'; count: number };

/** A run of seqs a station no longer holds (both ends included). */
export interface LostRange {
  station_id: string;
  from_seq: number;
  to_seq: number;
  noted_at: string;
}

/** A record kept aside because its seq was too far above the station's watermark (see SEQ_WINDOW). */
export interface QuarantinedRow {
  station_id: string;
  seq: number;
  stream: 'usage' | 'events';
  id: string;
  received_at: string;
  /** The watermark when it arrived. */
  watermark: number;
  payload: string;
}

export interface StationRow {
  station_id: string;
  name: string | null;
  town: string | null;
  county: string | null;
  level: string | null;
  timezone: string | null;
  /** From the retained status / Last Will; null before the first one. */
  online: boolean | null;
  boot: number | null;
  status_ts: string | null;
  /** When the latest status arrived (collector clock): for an offline one, when the county learnt it. */
  status_at: string | null;
  /** The offline status's `reason`: `agent_stop` when the agent stopped cleanly (shut down); null for a Last Will. */
  status_reason: string | null;
  heartbeat_ts: string | null;
  /** When the last heartbeat arrived (collector clock). */
  heartbeat_at: string | null;
  outbox_depth: number | null;
  /** Highest seq with every seq up to it stored (or known lost). */
  watermark: number;
  max_seq: number;
  acked_seq: number;
  /** Records refused as too far above the watermark (SEQ_WINDOW), all time. */
  quarantined: number;
  /** The station's current ledger ('' for an agent older than ledgers; null before its first record) and its base. */
  ledger: string | null;
  ledger_base: number;
  /** When a record of a new station database (a replaced ledger) first arrived; null when never. */
  ledger_changed_at: string | null;
  /** The station's declared opening hours (its inventory); null: open at all times. */
  opening_hours: OpeningHours | null;
}

/** The station's current ledger and its base: what turns county seqs into the station's (ledgers.ts). */
export interface LedgerOf {
  ledger: string | null;
  ledger_base: number;
}

export interface GapInfo extends LedgerOf {
  station_id: string;
  watermark: number;
  max_seq: number;
  /** First missing seq and the last one before the next stored record. */
  from_seq: number;
  to_seq: number;
}

export interface AckClaim extends LedgerOf {
  station_id: string;
  /** The watermark to publish as `ack {seq}`. */
  watermark: number;
}

export interface StoredRecordRow {
  station_id: string;
  seq: number;
  stream: 'usage' | 'events';
  id: string;
  historical: boolean;
  received_at: string;
  /** The record as received (JSON). */
  payload: string;
}

/** Sums over a station's usage records; `sessions`/`duration_s`/`signal_s` count the non-short ones. */
export interface UsageTotals {
  station_id: string;
  sessions: number;
  duration_s: number;
  signal_s: number;
  short_sessions: number;
  short_duration_s: number;
}

export interface UsageWindow {
  /** [startMs, endMs) on the session start, UTC ms. */
  startMs: number;
  endMs: number;
  /** Only stations in this time zone; a station whose inventory has not arrived counts as `defaultTimezone`. */
  timezone: string;
  defaultTimezone: string;
}

/** What was typed on site about a session (stationctl session note): its latest note (county/notes.ts). */
export interface SessionNote {
  topic: string | null;
  attendees: number | null;
  organiser: string | null;
  note: string | null;
}

/** A usage session as the console lists it, with its latest note joined (null when none was typed). */
export interface SessionRow {
  station_id: string;
  /** The county seq of its usage record. */
  seq: number;
  /** The usage record's id (the station's session id). */
  id: string;
  start_ms: number;
  end_ms: number;
  duration_s: number;
  signal_s: number;
  short: boolean;
  trigger: string;
  end_reason: string;
  note: SessionNote | null;
}

/**
 * Which sessions: a station's latest (newest first), or those starting in a window of the stations of one
 * time zone (as usageTotals), optionally of one town (`null`: the stations without a town), by town (as
 * stations()), station and start.
 */
export type SessionQuery = { station: string; limit: number } | { window: UsageWindow; town?: string | null; limit: number };

/** A device of a station as the fleet and station pages show it (its latest state). */
export interface DeviceRow {
  station_id: string;
  device_id: string;
  kind: string | null;
  driver: string | null;
  online: boolean | null;
  power: string | null;
  /** The state's `errors` (empty when none). */
  errors: Array<{ code: string; severity: string; text: string }>;
  /** Faults stored beyond `errors` (rows stored before the caps: only the first ones are read). */
  errors_more?: number;
  lamp_hours: number | null;
  /** The device's state time (station clock) and when it arrived (collector clock). */
  ts: string | null;
  received_at: string;
}

/** One row of the county console's fleet page: the station plus what a visit would be about. */
export interface FleetRow extends StationRow {
  agent_version: string | null;
  /** Devices whose latest state carries errors. */
  faults: DeviceRow[];
  /** Devices whose latest lamp event is an active `lamp_warning`, with their lamp hours when known. */
  lamp_warnings: Array<{ device: string | null; lamp_hours: number | null }>;
  /** The latest run of each schedule, where it failed (visit-store.ts). */
  failed_classes: ClassRun[];
  /** Online projectors, LED displays and amplifiers switched on or warming: a class in progress. */
  active_devices: Array<{ device_id: string; kind: string | null }>;
}

/** A point of a station's heartbeat history (kept downsampled; see heartbeatHistory). */
export interface HeartbeatPoint {
  /** Station clock of the heartbeat. */
  ts: string;
  cpu_pct: number | null;
  mem_pct: number | null;
  disk_free_mb: number | null;
  agent_rss_mb: number | null;
  outbox_depth: number | null;
  online_devices: number | null;
}

/** A command the county console sent to one station, and that station's answer once it arrives. */
export interface PushRow {
  /** Groups the stations one console action addressed (one per "push to a town"). */
  push_id: string;
  transaction: string;
  station_id: string;
  action: string;
  /** The request's args as sent (JSON). */
  args: string;
  sent_at: string;
  /** The console account that sent it. */
  sent_by: string;
  /** `sent` until the station answers. */
  status: 'sent' | 'ok' | 'error';
  /** The response body (JSON) and when it arrived. */
  response: string | null;
  responded_at: string | null;
  /**
   * How the clerk chose the stations, as JSON (`{"kind":"town","town":"东山乡"}`, county/console/targets.ts);
   * null for pushes stored before it was kept.
   */
  target?: string | null;
}

/** One push as the history lists it: what was sent (the args of its rows), to whom, and the answers so far. */
export interface PushSummary {
  push_id: string;
  action: string;
  args: string;
  target: string | null;
  sent_at: string;
  sent_by: string;
  stations: number;
  ok: number;
  error: number;
}

/** The devices of a station's last inventory (`devices[]` as received; read leniently by whoever shows them). */
export interface InventoryDevicesRow {
  station_id: string;
  devices: unknown[];
}

/** What the county console reads and writes beyond the collector's own needs (same database); its audit log: audit.ts. */
export interface ConsoleStore extends VisitStore, AuditStore {
  /** Every station with agent version, faulty devices, active lamp warnings, failed classes and devices in use, in `stations()` order. */
  fleet(): Promise<FleetRow[]>;
  /** The station's inventory document as last received (parsed JSON), or null. */
  inventory(stationId: string): Promise<Record<string, unknown> | null>;
  /** The `devices` of each listed station's inventory (stations without one are left out), by station id. */
  inventoryDevices(stationIds: readonly string[]): Promise<InventoryDevicesRow[]>;
  devices(stationId: string): Promise<DeviceRow[]>;
  /** The station's stored usage records (wire payloads, annotations included), newest first. */
  usageRecords(stationId: string, limit: number): Promise<Array<Record<string, unknown>>>;
  /**
   * Usage sessions with the latest note typed on site for each: the one place notes are joined to their
   * sessions (county/notes.ts), whatever order the record and its notes arrived in.
   */
  sessions(query: SessionQuery): Promise<SessionRow[]>;
  /** The station's stored events (wire payloads), newest first; `types` narrows (e.g. ['schedule_run']). */
  events(stationId: string, limit: number, types?: readonly string[]): Promise<Array<Record<string, unknown>>>;
  /**
   * Heartbeat history since `sinceMs` (UTC ms), oldest first. Heartbeats are kept at most one per
   * `HEARTBEAT_HISTORY_STEP_MS` per station and for `HEARTBEAT_HISTORY_DAYS`, so a province stays small.
   */
  heartbeatHistory(stationId: string, sinceMs: number): Promise<HeartbeatPoint[]>;
  /** Records sent commands (one row per station addressed). */
  addPushes(rows: readonly PushRow[]): Promise<void>;
  /** Stores a station's response to a transaction the console sent; false when no such push is known. */
  recordPushResponse(stationId: string, transaction: string, status: 'ok' | 'error', response: string, respondedAt: string): Promise<boolean>;
  /** The rows of one push, by station id. */
  push(pushId: string): Promise<PushRow[]>;
  /**
   * The latest pushes (one summary per push_id), newest first. With `towns`, only the rows of stations
   * in those towns count (a town account's view: county/console/access.ts); an empty list matches none.
   */
  recentPushes(limit: number, towns?: readonly string[]): Promise<PushSummary[]>;
}

export const HEARTBEAT_HISTORY_STEP_MS = 10 * 60_000;
export const HEARTBEAT_HISTORY_DAYS = 14;

export interface CollectorStore {
  /** The group notifications' durable queue and what goes with it (county/notify/queue.ts), in the same database. */
  readonly notify: NotifyStore;
  /** Applies the writes in order, in one transaction: all of them or none (then it rejects). */
  apply(writes: readonly CollectorWrite[]): Promise<WriteOutcome[]>;
  /**
   * Marks every station whose watermark is above its last ack as acked up to the watermark and returns
   * those: the acks this collector must publish. A station another collector claimed first is not returned.
   */
  claimAcks(): Promise<AckClaim[]>;
  /**
   * Claims as claimAcks does, hands the claims to `publish` and resolves with them once it is done. On
   * PostgreSQL the claim is one transaction that keeps the claimed station rows locked until `publish`
   * resolves (and is undone when it rejects), so collectors sharing the database publish a station's
   * acks in the order they were claimed: a station never sees a lower ack after a higher one. SQLite
   * claims, then publishes (one collector per file keeps its own order).
   */
  publishAcks(publish: (claims: AckClaim[]) => Promise<void>): Promise<AckClaim[]>;
  /** The first gap of every station that has one. */
  gaps(): Promise<GapInfo[]>;
  /** Every station acked at least once, with its last ack (published again after a reconnect). */
  ackedStations(): Promise<Array<{ station_id: string; acked_seq: number } & LedgerOf>>;

  station(stationId: string): Promise<StationRow | undefined>;
  /** Every known station, by town (stations without one last), then station id. */
  stations(): Promise<StationRow[]>;
  record(stationId: string, seq: number): Promise<StoredRecordRow | undefined>;
  countRecords(): Promise<number>;
  /** Ranges of seqs recorded as lost, by station and first seq. */
  lost(): Promise<LostRange[]>;
  /** The quarantined records kept (at most QUARANTINE_KEEP per station), by station and seq. */
  quarantined(stationId?: string): Promise<QuarantinedRow[]>;

  /** Usage totals per station with sessions in the window (stations without any are absent). */
  usageTotals(window: UsageWindow): Promise<UsageTotals[]>;
  /** Seqs missing below max_seq per station (not stored, not known lost), for every station. */
  missing(): Promise<Array<{ station_id: string; missing: number }>>;
  /** Devices whose latest state has a non-empty `errors`, by device id. */
  faultyDevices(): Promise<Array<{ station_id: string; device_id: string }>>;
  /** Devices whose latest lamp event (by seq) is `lamp_warning`, by device. */
  lampWarnings(): Promise<Array<{ station_id: string; device: string | null }>>;

  close(): Promise<void>;
}

/** publishAcks for a store that cannot hold its claim open: claim, then publish. */
export async function claimThenPublish(store: Pick<CollectorStore, 'claimAcks'>, publish: (claims: AckClaim[]) => Promise<void>): Promise<AckClaim[]> {
  const claims = await store.claimAcks();
  if (claims.length > 0) await publish(claims);
  return claims;
}
