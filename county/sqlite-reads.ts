/**
 * The reading half of the SQLite collector store (sqlite-store.ts adds the writes): the collector's
 * reports and passes, and everything the county console reads and records (ConsoleStore). better-sqlite3
 * is synchronous: each method does its work at once and returns a settled Promise, which keeps the
 * interface the same as an asynchronous database's.
 */
import type Database from 'better-sqlite3';
import type {
  AckClaim,
  ConsoleStore,
  DeviceRow,
  FleetRow,
  GapInfo,
  HeartbeatPoint,
  InventoryDevicesRow,
  LostRange,
  PushRow,
  PushSummary,
  QuarantinedRow,
  SessionQuery,
  SessionRow,
  StationRow,
  LedgerOf,
  StoredRecordRow,
  UsageTotals,
  UsageWindow,
} from './store.js';
import { claimThenPublish } from './store.js';
import type { AuditEntry, AuditFilter, AuditQuery, AuditRow } from './audit.js';
import { SqliteAudit } from './sqlite-audit.js';
import { STATEMENTS, type Statements } from './sqlite-schema.js';
import { VISIT_STATEMENTS } from './sqlite-visit-sql.js';
import type { ClassRun, VisitPlan, VisitRow } from './visit-store.js';
import {
  fleetRows,
  historyBucket,
  parseDoc,
  parseList,
  toClassRun,
  toDeviceRow,
  toSessionRow,
  toStationRow,
  toVisitRow,
  usageTotalsParams,
  type ClassDbRow,
  type DeviceDbRow,
  type SessionDbRow,
  type StationDbRow,
  type VisitDbRow,
} from './store-rows.js';

export type { StationDbRow };
export const toStation = (r: StationDbRow): StationRow => toStationRow(r);
type VisitStatements = { [K in keyof typeof VISIT_STATEMENTS]: Database.Statement };

const payloads = (rows: unknown[]): Array<Record<string, unknown>> =>
  (rows as Array<{ payload: string }>).map((r) => parseDoc(r.payload)).filter((d): d is Record<string, unknown> => d !== null);

export abstract class SqliteReads implements ConsoleStore {
  protected readonly s: Statements;
  protected readonly v: VisitStatements;
  private readonly audit: SqliteAudit;

  constructor(protected readonly db: Database.Database) {
    this.s = Object.fromEntries(Object.entries(STATEMENTS).map(([k, sql]) => [k, db.prepare(sql)])) as Statements;
    this.v = Object.fromEntries(Object.entries(VISIT_STATEMENTS).map(([k, sql]) => [k, db.prepare(sql)])) as VisitStatements;
    this.audit = new SqliteAudit(db);
  }

  /** Runs `fn` in one IMMEDIATE transaction (many messages, one fsync). */
  protected tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      this.rolledBack();
      throw err;
    }
  }

  /** Forgets what a rolled-back transaction may have written (caches of the write path). */
  protected abstract rolledBack(): void;

  protected row(stationId: string): StationDbRow | undefined {
    return this.s.station.get(stationId) as StationDbRow | undefined;
  }

  async claimAcks(): Promise<AckClaim[]> {
    return this.tx(() => (this.s.pendingAcks.all() as AckClaim[]).filter((p) => this.s.markAcked.run(p.watermark, p.station_id, p.watermark).changes > 0));
  }

  publishAcks(publish: (claims: AckClaim[]) => Promise<void>): Promise<AckClaim[]> {
    return claimThenPublish(this, publish);
  }

  async gaps(): Promise<GapInfo[]> {
    const rows = this.s.gapStations.all() as Array<{ station_id: string; watermark: number; max_seq: number; ledger: string | null; ledger_base: number }>;
    return rows.map((r) => {
      // The first gap ends below the next seq that is stored or known lost.
      const stored = (this.s.nextStored.get(r.station_id, r.watermark) as { seq: number | null }).seq ?? r.max_seq + 1;
      const lost = (this.s.nextLost.get(r.station_id, r.watermark) as { seq: number | null }).seq ?? r.max_seq + 1;
      return { ...r, from_seq: r.watermark + 1, to_seq: Math.min(stored, lost) - 1 };
    });
  }

  async ackedStations(): Promise<Array<{ station_id: string; acked_seq: number } & LedgerOf>> {
    return this.s.ackedStations.all() as Array<{ station_id: string; acked_seq: number } & LedgerOf>;
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

  async lost(): Promise<LostRange[]> {
    return this.s.lost.all() as LostRange[];
  }

  async quarantined(stationId?: string): Promise<QuarantinedRow[]> {
    return (stationId === undefined ? this.s.quarantinedAll.all() : this.s.quarantinedOf.all(stationId)) as QuarantinedRow[];
  }

  async usageTotals(w: UsageWindow): Promise<UsageTotals[]> {
    const [defaultZone, zone, from, to, lo1, hi1, sign1, lo2, hi2, sign2] = usageTotalsParams(w);
    return this.s.usageTotals.all({ defaultZone, zone, from, to, lo1, hi1, sign1, lo2, hi2, sign2 }) as UsageTotals[];
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
    const stations = this.s.fleetStations.all() as Array<StationDbRow & { agent_version: string | null }>;
    const faulty = (this.s.faultyDeviceRows.all() as DeviceDbRow[]).map(toDeviceRow);
    return fleetRows(
      stations,
      faulty,
      this.s.lampWarningHours.all() as Array<{ station_id: string; device: string | null; lamp_hours: number | null }>,
      this.v.failedClasses.all() as ClassDbRow[],
      this.s.activeDevices.all() as Array<{ station_id: string; device_id: string; kind: string | null }>,
    );
  }

  // ------------------------------------------------------------------ VisitStore

  async failedClasses(stationId?: string): Promise<ClassRun[]> {
    return ((stationId === undefined ? this.v.failedClasses.all() : this.v.failedClassesOf.all(stationId)) as ClassDbRow[]).map(toClassRun);
  }

  async liveVisits(stationId?: string): Promise<VisitRow[]> {
    return ((stationId === undefined ? this.v.liveVisits.all() : this.v.liveVisitsOf.all(stationId)) as VisitDbRow[]).map(toVisitRow);
  }

  async applyVisitPlan(plan: VisitPlan, at: string): Promise<void> {
    this.tx(() => {
      for (const id of plan.clear) this.v.visitAutoClear.run(at, id);
      for (const id of plan.rearm) this.v.visitRearm.run(id);
      for (const o of plan.open) this.v.visitOpen.run({ s: o.station_id, cause: o.cause, kind: o.kind, detail: o.detail, at });
    });
  }

  async visitHistory(stationId: string, limit: number): Promise<VisitRow[]> {
    return (this.v.visitHistory.all(stationId, limit) as VisitDbRow[]).map(toVisitRow);
  }

  async acknowledgeVisit(stationId: string, id: number, by: string, note: string | null, at: string): Promise<boolean> {
    return this.v.visitAck.run(at, by, note, stationId, id).changes > 0;
  }

  async clearVisit(stationId: string, id: number, by: string, at: string): Promise<boolean> {
    return this.v.visitClear.run(at, by, stationId, id).changes > 0;
  }

  async pruneVisits(before: string): Promise<number> {
    return this.v.visitPrune.run(before).changes;
  }

  async inventory(stationId: string): Promise<Record<string, unknown> | null> {
    const r = this.s.inventoryDoc.get(stationId) as { inventory: string | null } | undefined;
    return parseDoc(r?.inventory ?? null);
  }

  async inventoryDevices(stationIds: readonly string[]): Promise<InventoryDevicesRow[]> {
    const rows = this.s.inventoryDevices.all(JSON.stringify(stationIds)) as Array<{ station_id: string; devices: string | null }>;
    return rows.map((r) => ({ station_id: r.station_id, devices: parseList(r.devices) }));
  }

  async devices(stationId: string): Promise<DeviceRow[]> {
    return (this.s.deviceRows.all(stationId) as DeviceDbRow[]).map(toDeviceRow);
  }

  async usageRecords(stationId: string, limit: number): Promise<Array<Record<string, unknown>>> {
    return payloads(this.s.usagePayloads.all(stationId, limit));
  }

  async sessions(q: SessionQuery): Promise<SessionRow[]> {
    const rows =
      'station' in q
        ? this.s.stationSessions.all(q.station, q.limit)
        : this.s.windowSessions.all({
            lo: q.window.startMs,
            hi: q.window.endMs,
            zone: q.window.timezone,
            defaultZone: q.window.defaultTimezone,
            anyTown: q.town === undefined ? 1 : 0,
            town: q.town ?? null,
            limit: q.limit,
          });
    return (rows as SessionDbRow[]).map(toSessionRow);
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
      for (const r of rows) this.s.pushInsert.run(r.station_id, r.transaction, r.push_id, r.action, r.args, r.sent_at, r.sent_by, r.status, r.response, r.responded_at, r.target ?? null);
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

  async recentPushes(limit: number, towns?: readonly string[]): Promise<PushSummary[]> {
    return (towns === undefined ? this.s.recentPushes.all(limit) : this.s.recentPushesOfTowns.all(JSON.stringify(towns), limit)) as PushSummary[];
  }

  // ------------------------------------------------------------------ AuditStore (sqlite-audit.ts)

  appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    return this.audit.appendAudit(entries);
  }

  auditLog(query: AuditQuery): Promise<AuditRow[]> {
    return this.audit.auditLog(query);
  }

  countAudit(filter: AuditFilter): Promise<number> {
    return this.audit.countAudit(filter);
  }

  pruneAudit(before: string): Promise<number> {
    return this.audit.pruneAudit(before);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
