/**
 * The collector's store on SQLite (better-sqlite3). Several collectors may share one database file
 * (WAL + busy timeout); every read-modify-write runs in an IMMEDIATE transaction so two processes never
 * advance the same watermark from stale reads. better-sqlite3 is synchronous: each method does its work
 * at once and returns a settled Promise, which keeps the interface the same as an asynchronous database's.
 */
import Database from 'better-sqlite3';
import type { UsageRecord } from '../../agent/sessions/record.js';
import type { EventRecord } from '../../agent/events.js';
import type { DeviceStatePayload, Heartbeat, Inventory, Status } from '../../agent/county/payloads.js';
import type {
  AckClaim,
  CollectorStore,
  CollectorWrite,
  ConsoleStore,
  DeviceRow,
  FleetRow,
  GapInfo,
  HeartbeatPoint,
  PushRow,
  StationRow,
  StoredRecordRow,
  StoreOutcome,
  UsageTotals,
  UsageWindow,
  WriteOutcome,
} from './store.js';
import { MIGRATIONS, STATEMENTS, type Statements } from './sqlite-schema.js';
import { fleetRows, heartbeatPoint, historyBucket, historyHorizon, parseDoc, toDeviceRow, type DeviceDbRow } from './store-rows.js';

type Db = Database.Database;

type StationDbRow = Omit<StationRow, 'online'> & { online: number | null };

const toStation = (r: StationDbRow): StationRow => ({ ...r, online: r.online === null ? null : r.online === 1 });

function openDb(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // Records are acked to stations once stored: losing a committed row after an ack would lose it for good.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new Error(`${path} has schema version ${version}, newer than this collector (${MIGRATIONS.length})`);
  }
  if (version < MIGRATIONS.length) {
    db.transaction(() => {
      // Re-read inside the lock: a second collector may have migrated meanwhile.
      const v = db.pragma('user_version', { simple: true }) as number;
      for (let i = v; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
      db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
  }
  return db;
}

/** Opens (creating and migrating when needed) the collector database at `path` (`:memory:` for tests). */
export function openSqliteCollectorStore(path: string): SqliteCollectorStore {
  return new SqliteCollectorStore(openDb(path));
}

/** How often old heartbeat history is pruned (a DELETE on an indexed bucket: cheap, but not per batch). */
const PRUNE_EVERY_MS = 10 * 60_000;

const payloads = (rows: unknown[]): Array<Record<string, unknown>> =>
  (rows as Array<{ payload: string }>).map((r) => parseDoc(r.payload)).filter((d): d is Record<string, unknown> => d !== null);

export class SqliteCollectorStore implements CollectorStore, ConsoleStore {
  private readonly s: Statements;
  /** Stations known to have a row: saves an INSERT per message on the hot path. */
  private readonly known = new Set<string>();
  /** The history bucket last written per station: saves an INSERT per heartbeat within a bucket. */
  private readonly historyWritten = new Map<string, number>();
  private lastPrune = 0;

  constructor(private readonly db: Db) {
    this.s = Object.fromEntries(Object.entries(STATEMENTS).map(([k, sql]) => [k, db.prepare(sql)])) as Statements;
  }

  /** Runs `fn` in one IMMEDIATE transaction (many messages, one fsync). */
  private tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      // The rollback may have taken rows ensure() remembers.
      this.known.clear();
      this.historyWritten.clear();
      throw err;
    }
  }

  private ensure(stationId: string): void {
    if (this.known.has(stationId)) return;
    this.s.ensure.run(stationId, new Date().toISOString());
    this.known.add(stationId);
  }

  private row(stationId: string): StationDbRow | undefined {
    return this.s.station.get(stationId) as StationDbRow | undefined;
  }

  async apply(writes: readonly CollectorWrite[]): Promise<WriteOutcome[]> {
    const now = Date.now();
    return this.tx(() => {
      const out = writes.map((w) => this.write(w));
      if (now - this.lastPrune > PRUNE_EVERY_MS) {
        this.s.historyPrune.run(historyHorizon(now));
        this.lastPrune = now;
      }
      return out;
    });
  }

  private write(w: CollectorWrite): WriteOutcome {
    if (w.kind === 'lost') return { kind: 'lost', count: this.markLost(w.station, w.from_seq, w.to_seq) };
    this.ensure(w.station);
    switch (w.kind) {
      case 'status':
        return { kind: 'status', applied: this.putStatus(w.station, w.status, w.receivedAt) };
      case 'inventory':
        this.putInventory(w.station, w.inventory, w.receivedAt);
        return { kind: 'inventory' };
      case 'heartbeat':
        this.putHeartbeat(w.station, w.heartbeat, w.receivedAt);
        return { kind: 'heartbeat' };
      case 'device_state':
        this.putDeviceState(w.station, w.device, w.state, w.receivedAt);
        return { kind: 'device_state' };
      case 'record':
        return { kind: 'record', outcome: this.putRecord(w.station, w.stream, w.record, w.raw, w.receivedAt) };
    }
  }

  /** False when the status is an out-of-date Last Will (its MQTT session is older than the known one). */
  private putStatus(stationId: string, status: Status, receivedAt: string): boolean {
    const row = this.row(stationId)!;
    if (!status.online && row.boot !== null && status.boot < row.boot) return false;
    this.s.status.run(status.online ? 1 : 0, status.boot, status.online ? status.ts : null, receivedAt, status.online ? status.agent_version : null, stationId);
    return true;
  }

  private putInventory(stationId: string, inv: Inventory, receivedAt: string): void {
    const st = inv.station;
    this.s.inventory.run(st.name, st.town, st.county, st.level, st.timezone, JSON.stringify(inv), receivedAt, stationId);
  }

  private putHeartbeat(stationId: string, hb: Heartbeat, receivedAt: string): void {
    this.s.heartbeat.run(hb.ts, receivedAt, hb.outbox.depth, JSON.stringify(hb), stationId);
    const bucket = historyBucket(Date.parse(receivedAt));
    if (this.historyWritten.get(stationId) === bucket) return;
    const p = heartbeatPoint(hb);
    this.s.historyInsert.run(stationId, bucket, p.ts, p.cpu_pct, p.mem_pct, p.disk_free_mb, p.agent_rss_mb, p.outbox_depth, p.online_devices);
    this.historyWritten.set(stationId, bucket);
  }

  private putDeviceState(stationId: string, deviceId: string, st: DeviceStatePayload, receivedAt: string): void {
    this.s.device.run(stationId, deviceId, st.kind, st.driver, st.online ? 1 : 0, st.power, JSON.stringify(st.errors), st.lamp_hours ?? null, JSON.stringify(st), st.ts, receivedAt);
  }

  /** Stores a durable record once; the watermark advances over every contiguous seq now present. */
  private putRecord(stationId: string, stream: 'usage' | 'events', rec: UsageRecord | EventRecord, raw: string, receivedAt: string): StoreOutcome {
    const r = this.s.insertRecord.run(stationId, rec.seq, stream, rec.id, rec.historical ? 1 : 0, receivedAt, raw);
    if (r.changes === 0) {
      const existing = this.s.recordId.get(stationId, rec.seq) as { id: string };
      return existing.id === rec.id ? 'duplicate' : 'conflict';
    }
    if (stream === 'usage') {
      const u = rec as UsageRecord;
      this.s.insertUsage.run(stationId, u.seq, u.id, Date.parse(u.start), Date.parse(u.end), u.duration_s, u.signal_s, u.short ? 1 : 0, u.trigger, u.end_reason);
    } else {
      const e = rec as EventRecord;
      this.s.insertEvent.run(stationId, e.seq, e.ts, e.type, e.severity, e.device ?? null);
    }
    this.s.maxSeq.run(rec.seq, stationId, rec.seq);
    this.advance(stationId);
    return 'stored';
  }

  private has(stationId: string, seq: number): boolean {
    return this.s.has.get(stationId, seq, stationId, seq) !== undefined;
  }

  private advance(stationId: string): number {
    const start = (this.s.watermark.get(stationId) as { watermark: number }).watermark;
    let wm = start;
    while (this.has(stationId, wm + 1)) wm++;
    if (wm !== start) this.s.setWatermark.run(wm, stationId);
    return wm;
  }

  /** Records seqs the station reports it no longer holds; only seqs not stored and below max_seq. */
  private markLost(stationId: string, fromSeq: number, toSeq: number): number {
    const row = this.row(stationId);
    if (!row) return 0;
    const until = Math.min(toSeq, row.max_seq - 1);
    const now = new Date().toISOString();
    let n = 0;
    for (let seq = Math.max(fromSeq, row.watermark + 1); seq <= until; seq++) {
      if (!this.has(stationId, seq)) n += this.s.insertLost.run(stationId, seq, now).changes;
    }
    this.advance(stationId);
    return n;
  }

  async claimAcks(): Promise<AckClaim[]> {
    return this.tx(() => (this.s.pendingAcks.all() as AckClaim[]).filter((p) => this.s.markAcked.run(p.watermark, p.station_id, p.watermark).changes > 0));
  }

  async gaps(): Promise<GapInfo[]> {
    const rows = this.s.gapStations.all() as Array<{ station_id: string; watermark: number; max_seq: number }>;
    return rows.map((r) => {
      const next = (this.s.nextStored.get(r.station_id, r.watermark) as { seq: number | null }).seq ?? r.max_seq + 1;
      return { ...r, from_seq: r.watermark + 1, to_seq: next - 1 };
    });
  }

  async ackedStations(): Promise<Array<{ station_id: string; acked_seq: number }>> {
    return this.s.ackedStations.all() as Array<{ station_id: string; acked_seq: number }>;
  }

  async station(stationId: string): Promise<StationRow | undefined> {
    const r = this.row(stationId);
    return r && toStation(r);
  }

  async stations(): Promise<StationRow[]> {
    return (this.s.stations.all() as StationDbRow[]).map(toStation);
  }

  async record(stationId: string, seq: number): Promise<StoredRecordRow | undefined> {
    const r = this.s.record.get(stationId, seq) as (Omit<StoredRecordRow, 'historical'> & { historical: number }) | undefined;
    return r && { ...r, historical: r.historical === 1 };
  }

  async countRecords(): Promise<number> {
    return (this.s.countRecords.get() as { n: number }).n;
  }

  async lost(): Promise<Array<{ station_id: string; seq: number }>> {
    return this.s.lost.all() as Array<{ station_id: string; seq: number }>;
  }

  async usageTotals(w: UsageWindow): Promise<UsageTotals[]> {
    return this.s.usageTotals.all(w.startMs, w.endMs, w.defaultTimezone, w.timezone) as UsageTotals[];
  }

  async missing(): Promise<Array<{ station_id: string; missing: number }>> {
    return this.s.missing.all() as Array<{ station_id: string; missing: number }>;
  }

  async faultyDevices(): Promise<Array<{ station_id: string; device_id: string }>> {
    return this.s.faultyDevices.all() as Array<{ station_id: string; device_id: string }>;
  }

  async lampWarnings(): Promise<Array<{ station_id: string; device: string | null }>> {
    return this.s.lampWarnings.all() as Array<{ station_id: string; device: string | null }>;
  }

  // ------------------------------------------------------------------ ConsoleStore

  async fleet(): Promise<FleetRow[]> {
    const stations = (this.s.fleetStations.all() as Array<StationDbRow & { agent_version: string | null }>).map((r) => ({ ...toStation(r), agent_version: r.agent_version }));
    const faulty = (this.s.faultyDeviceRows.all() as DeviceDbRow[]).map(toDeviceRow);
    return fleetRows(stations, faulty, this.s.lampWarningHours.all() as Array<{ station_id: string; device: string | null; lamp_hours: number | null }>);
  }

  async inventory(stationId: string): Promise<Record<string, unknown> | null> {
    const r = this.s.inventoryDoc.get(stationId) as { inventory: string | null } | undefined;
    return parseDoc(r?.inventory ?? null);
  }

  async devices(stationId: string): Promise<DeviceRow[]> {
    return (this.s.deviceRows.all(stationId) as DeviceDbRow[]).map(toDeviceRow);
  }

  async usageRecords(stationId: string, limit: number): Promise<Array<Record<string, unknown>>> {
    return payloads(this.s.usagePayloads.all(stationId, limit));
  }

  async events(stationId: string, limit: number, types?: readonly string[]): Promise<Array<Record<string, unknown>>> {
    const rows = types === undefined ? this.s.eventPayloads.all(stationId, limit) : this.s.eventPayloadsOfTypes.all(stationId, JSON.stringify(types), limit);
    return payloads(rows);
  }

  async heartbeatHistory(stationId: string, sinceMs: number): Promise<HeartbeatPoint[]> {
    return this.s.history.all(stationId, historyBucket(sinceMs)) as HeartbeatPoint[];
  }

  async addPushes(rows: readonly PushRow[]): Promise<void> {
    this.tx(() => {
      for (const r of rows) this.s.pushInsert.run(r.station_id, r.transaction, r.push_id, r.action, r.args, r.sent_at, r.sent_by, r.status, r.response, r.responded_at);
    });
  }

  async recordPushResponse(stationId: string, transaction: string, status: 'ok' | 'error', response: string, respondedAt: string): Promise<boolean> {
    // The first answer stands (a QoS 1 redelivery or a replayed response changes nothing).
    if (this.s.pushRespond.run(status, response, respondedAt, stationId, transaction).changes > 0) return true;
    return this.s.pushKnown.get(stationId, transaction) !== undefined;
  }

  async push(pushId: string): Promise<PushRow[]> {
    return this.s.pushRows.all(pushId) as PushRow[];
  }

  async recentPushes(limit: number): Promise<Array<{ push_id: string; action: string; sent_at: string; sent_by: string; stations: number; ok: number; error: number }>> {
    return this.s.recentPushes.all(limit) as Array<{ push_id: string; action: string; sent_at: string; sent_by: string; stations: number; ok: number; error: number }>;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
