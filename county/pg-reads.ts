/**
 * The reading half of the PostgreSQL collector store (pg-store.ts adds the writes and opening): the
 * collector's reports and passes, and everything the county console reads and records (ConsoleStore).
 * Reads go through the pool, outside any batch transaction (READ COMMITTED: what is committed).
 */
import pg from 'pg';
import type {
  AckClaim,
  ConsoleStore,
  DeviceRow,
  FleetRow,
  GapInfo,
  HeartbeatPoint,
  LostRange,
  PushRow,
  PushSummary,
  InventoryDevicesRow,
  QuarantinedRow,
  SessionQuery,
  SessionRow,
  StationRow,
  LedgerOf,
  StoredRecordRow,
  UsageTotals,
  UsageWindow,
} from './store.js';
import { SQL } from './pg-schema.js';
import type { AuditEntry, AuditFilter, AuditQuery, AuditRow } from './audit.js';
import { PgAudit } from './pg-audit.js';
import { VISIT_SQL } from './pg-visit-sql.js';
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

/** BIGINT (int8) as a number: seqs and counts here are safe integers (ingest.ts bounds seqs). */
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function makePool(url: string, max: number): pg.Pool {
  return new pg.Pool({ connectionString: url, max, types, application_name: 'county-collector' });
}

const payloads = (rows: Array<{ payload: string }>): Array<Record<string, unknown>> =>
  rows.map((r) => parseDoc(r.payload)).filter((d): d is Record<string, unknown> => d !== null);


export abstract class PgReads implements ConsoleStore {
  private readonly audit: PgAudit;

  constructor(protected readonly pool: pg.Pool) {
    this.audit = new PgAudit(pool);
  }

  protected async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
  }

  async claimAcks(): Promise<AckClaim[]> {
    return this.rows<AckClaim>(SQL.claimAcks);
  }

  async publishAcks(publish: (claims: AckClaim[]) => Promise<void>): Promise<AckClaim[]> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      // The UPDATE keeps the claimed rows locked until COMMIT; another collector's claim skips them.
      const claims = (await c.query(SQL.claimAcks)).rows as AckClaim[];
      if (claims.length > 0) await publish(claims);
      await c.query('COMMIT');
      return claims;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async gaps(): Promise<GapInfo[]> {
    const rows = await this.rows<{ station_id: string; watermark: number; max_seq: number; to_seq: number } & LedgerOf>(SQL.gaps);
    return rows.map((r) => ({ station_id: r.station_id, watermark: r.watermark, max_seq: r.max_seq, from_seq: r.watermark + 1, to_seq: r.to_seq, ledger: r.ledger, ledger_base: r.ledger_base }));
  }

  async ackedStations(): Promise<Array<{ station_id: string; acked_seq: number } & LedgerOf>> {
    return this.rows(SQL.ackedStations);
  }

  async station(stationId: string): Promise<StationRow | undefined> {
    const r = (await this.rows<StationDbRow>(SQL.station, [stationId]))[0];
    return r && toStationRow(r);
  }

  async stations(): Promise<StationRow[]> {
    return (await this.rows<StationDbRow>(SQL.stations)).map(toStationRow);
  }

  async record(stationId: string, seq: number): Promise<StoredRecordRow | undefined> {
    return (await this.rows<StoredRecordRow>(SQL.record, [stationId, seq]))[0];
  }

  async countRecords(): Promise<number> {
    return (await this.rows<{ n: number }>(SQL.countRecords))[0]!.n;
  }

  async lost(): Promise<LostRange[]> {
    return this.rows<LostRange>(SQL.lost);
  }

  async quarantined(stationId?: string): Promise<QuarantinedRow[]> {
    return stationId === undefined ? this.rows<QuarantinedRow>(SQL.quarantinedAll) : this.rows<QuarantinedRow>(SQL.quarantinedOf, [stationId]);
  }

  async usageTotals(w: UsageWindow): Promise<UsageTotals[]> {
    return this.rows<UsageTotals>(SQL.usageTotals, usageTotalsParams(w));
  }

  async missing(): Promise<Array<{ station_id: string; missing: number }>> {
    return this.rows(SQL.missing);
  }

  async faultyDevices(): Promise<Array<{ station_id: string; device_id: string }>> {
    return this.rows(SQL.faultyDevices);
  }

  async lampWarnings(): Promise<Array<{ station_id: string; device: string | null }>> {
    return this.rows(SQL.lampWarnings);
  }

  // ------------------------------------------------------------------ ConsoleStore

  async fleet(): Promise<FleetRow[]> {
    const [stations, faulty, lamps, classes, active] = await Promise.all([
      this.rows<StationDbRow & { agent_version: string | null }>(SQL.fleetStations),
      this.rows<DeviceDbRow>(SQL.faultyDeviceRows),
      this.rows<{ station_id: string; device: string | null; lamp_hours: number | null }>(SQL.lampWarningHours),
      this.rows<ClassDbRow>(VISIT_SQL.failedClasses),
      this.rows<{ station_id: string; device_id: string; kind: string | null }>(SQL.activeDevices),
    ]);
    return fleetRows(stations, faulty.map(toDeviceRow), lamps, classes, active);
  }

  // ------------------------------------------------------------------ VisitStore

  async failedClasses(stationId?: string): Promise<ClassRun[]> {
    const rows = stationId === undefined ? await this.rows<ClassDbRow>(VISIT_SQL.failedClasses) : await this.rows<ClassDbRow>(VISIT_SQL.failedClassesOf, [stationId]);
    return rows.map(toClassRun);
  }

  async liveVisits(stationId?: string): Promise<VisitRow[]> {
    const rows = stationId === undefined ? await this.rows<VisitDbRow>(VISIT_SQL.liveVisits) : await this.rows<VisitDbRow>(VISIT_SQL.liveVisitsOf, [stationId]);
    return rows.map(toVisitRow);
  }

  async applyVisitPlan(plan: VisitPlan, at: string): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      if (plan.clear.length > 0) await c.query(VISIT_SQL.visitAutoClear, [at, plan.clear]);
      if (plan.rearm.length > 0) await c.query(VISIT_SQL.visitRearm, [plan.rearm]);
      if (plan.open.length > 0) await c.query(VISIT_SQL.visitOpen, [JSON.stringify(plan.open.map((o) => [o.station_id, o.cause, o.kind, o.detail])), at]);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async visitHistory(stationId: string, limit: number): Promise<VisitRow[]> {
    return (await this.rows<VisitDbRow>(VISIT_SQL.visitHistory, [stationId, limit])).map(toVisitRow);
  }

  async acknowledgeVisit(stationId: string, id: number, by: string, note: string | null, at: string): Promise<boolean> {
    return ((await this.pool.query(VISIT_SQL.visitAck, [at, by, note, stationId, id])).rowCount ?? 0) > 0;
  }

  async clearVisit(stationId: string, id: number, by: string, at: string): Promise<boolean> {
    return ((await this.pool.query(VISIT_SQL.visitClear, [at, by, stationId, id])).rowCount ?? 0) > 0;
  }

  async pruneVisits(before: string): Promise<number> {
    return (await this.pool.query(VISIT_SQL.visitPrune, [before])).rowCount ?? 0;
  }

  async inventory(stationId: string): Promise<Record<string, unknown> | null> {
    return parseDoc((await this.rows<{ inventory: string | null }>(SQL.inventoryDoc, [stationId]))[0]?.inventory ?? null);
  }

  async inventoryDevices(stationIds: readonly string[]): Promise<InventoryDevicesRow[]> {
    const rows = await this.rows<{ station_id: string; devices: string | null }>(SQL.inventoryDevices, [[...stationIds]]);
    return rows.map((r) => ({ station_id: r.station_id, devices: parseList(r.devices) }));
  }

  async devices(stationId: string): Promise<DeviceRow[]> {
    return (await this.rows<DeviceDbRow>(SQL.deviceRows, [stationId])).map(toDeviceRow);
  }

  async usageRecords(stationId: string, limit: number): Promise<Array<Record<string, unknown>>> {
    return payloads(await this.rows(SQL.usagePayloads, [stationId, limit]));
  }

  async sessions(q: SessionQuery): Promise<SessionRow[]> {
    const rows =
      'station' in q
        ? await this.rows<SessionDbRow>(SQL.stationSessions, [q.station, q.limit])
        : await this.rows<SessionDbRow>(SQL.windowSessions, [q.window.startMs, q.window.endMs, q.window.timezone, q.window.defaultTimezone, q.town === undefined, q.town ?? null, q.limit]);
    return rows.map(toSessionRow);
  }

  async events(stationId: string, limit: number, types?: readonly string[]): Promise<Array<Record<string, unknown>>> {
    return payloads(types === undefined ? await this.rows(SQL.eventPayloads, [stationId, limit]) : await this.rows(SQL.eventPayloadsOfTypes, [stationId, [...types], limit]));
  }

  async heartbeatHistory(stationId: string, sinceMs: number): Promise<HeartbeatPoint[]> {
    return this.rows<HeartbeatPoint>(SQL.historyRows, [stationId, historyBucket(sinceMs)]);
  }

  async addPushes(rows: readonly PushRow[]): Promise<void> {
    const col = <K extends keyof PushRow>(k: K) => rows.map((r) => r[k]);
    await this.pool.query(SQL.pushInsert, [
      col('station_id'),
      col('transaction'),
      col('push_id'),
      col('action'),
      col('args'),
      col('sent_at'),
      col('sent_by'),
      col('status'),
      col('response'),
      col('responded_at'),
      rows.map((r) => r.target ?? null),
    ]);
  }

  async recordPushResponse(stationId: string, transaction: string, status: 'ok' | 'error', response: string, respondedAt: string): Promise<boolean> {
    // The first answer stands (a QoS 1 redelivery or a replayed response changes nothing).
    const r = await this.pool.query(SQL.pushRespond, [status, response, respondedAt, stationId, transaction]);
    if ((r.rowCount ?? 0) > 0) return true;
    return (await this.rows(SQL.pushKnown, [stationId, transaction])).length > 0;
  }

  async push(pushId: string): Promise<PushRow[]> {
    return this.rows<PushRow>(SQL.pushRows, [pushId]);
  }

  async recentPushes(limit: number, towns?: readonly string[]): Promise<PushSummary[]> {
    return towns === undefined ? this.rows<PushSummary>(SQL.recentPushes, [limit]) : this.rows<PushSummary>(SQL.recentPushesOfTowns, [limit, [...towns]]);
  }

  // ------------------------------------------------------------------ AuditStore (pg-audit.ts)

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
}
