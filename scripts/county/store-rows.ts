/**
 * Row shapes both stores share (SQLite and PostgreSQL): what a heartbeat keeps in the history, the
 * bucket it falls in, a device row from its stored columns, and the fleet rows assembled from the
 * station list, the faulty devices and the active lamp warnings. Pure: no database here.
 */
import type { Heartbeat } from '../../agent/county/payloads.js';
import { HEARTBEAT_HISTORY_DAYS, HEARTBEAT_HISTORY_STEP_MS, type DeviceRow, type FleetRow, type HeartbeatPoint, type StationRow } from './store.js';

/** The history bucket of a heartbeat, by its arrival (collector clock): a wrong station clock cannot spread rows. */
export const historyBucket = (receivedAtMs: number): number => Math.floor(receivedAtMs / HEARTBEAT_HISTORY_STEP_MS);

/** Buckets older than this (for `nowMs`) are pruned. */
export const historyHorizon = (nowMs: number): number => historyBucket(nowMs - HEARTBEAT_HISTORY_DAYS * 86_400_000);

/** The columns a history point keeps, in HeartbeatPoint order after `ts`. */
export function heartbeatPoint(hb: Heartbeat): HeartbeatPoint {
  return {
    ts: hb.ts,
    cpu_pct: hb.host.cpu_pct,
    mem_pct: hb.host.mem_pct,
    disk_free_mb: hb.host.disk_free_mb,
    agent_rss_mb: hb.agent?.rss_mb ?? null,
    outbox_depth: hb.outbox.depth,
    online_devices: hb.devices.online,
  };
}

/** A devices row as stored (`online` 0/1 or boolean, `errors` JSON text). */
export interface DeviceDbRow {
  station_id: string;
  device_id: string;
  kind: string | null;
  driver: string | null;
  online: number | boolean | null;
  power: string | null;
  errors: string | null;
  lamp_hours: number | null;
  ts: string | null;
  received_at: string;
}

export function toDeviceRow(r: DeviceDbRow): DeviceRow {
  let errors: DeviceRow['errors'] = [];
  try {
    const parsed: unknown = r.errors === null ? [] : JSON.parse(r.errors);
    if (Array.isArray(parsed)) errors = parsed as DeviceRow['errors'];
  } catch {
    /* stored by us from a validated payload: cannot happen, and an empty list is the safe reading */
  }
  return {
    station_id: r.station_id,
    device_id: r.device_id,
    kind: r.kind,
    driver: r.driver,
    online: r.online === null ? null : r.online === true || r.online === 1,
    power: r.power,
    errors,
    lamp_hours: r.lamp_hours === null ? null : Number(r.lamp_hours),
    ts: r.ts,
    received_at: r.received_at,
  };
}

/** Fleet rows in `stations` order, with each station's faulty devices and active lamp warnings. */
export function fleetRows(
  stations: ReadonlyArray<StationRow & { agent_version: string | null }>,
  faulty: readonly DeviceRow[],
  lamps: ReadonlyArray<{ station_id: string; device: string | null; lamp_hours: number | null }>,
): FleetRow[] {
  const faults = new Map<string, DeviceRow[]>();
  for (const d of faulty) (faults.get(d.station_id) ?? faults.set(d.station_id, []).get(d.station_id)!).push(d);
  const warn = new Map<string, FleetRow['lamp_warnings']>();
  for (const l of lamps) {
    (warn.get(l.station_id) ?? warn.set(l.station_id, []).get(l.station_id)!).push({ device: l.device, lamp_hours: l.lamp_hours === null ? null : Number(l.lamp_hours) });
  }
  return stations.map((s) => ({ ...s, faults: faults.get(s.station_id) ?? [], lamp_warnings: warn.get(s.station_id) ?? [] }));
}

/** Parses a stored JSON document; a row that does not parse (cannot happen: we wrote it) reads as null. */
export function parseDoc(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A station's sequence state during one write batch (both stores), written back once at its end. */
export interface BatchCursor {
  watermark: number;
  max_seq: number;
  quarantined: number;
  changed: boolean;
  /**
   * Nothing stored or lost above the watermark before the batch (max_seq = watermark), so if the `added`
   * records stored above it since form the run watermark+1…max_seq, the new watermark is max_seq with
   * no query (the common case: a station's records arrive in order).
   */
  inOrder: boolean;
  /** Records stored above the watermark in the batch (a late one inside a lost range is not). */
  added: number;
}

/** A cursor as loaded from the station row. */
export const batchCursor = (r: Pick<BatchCursor, 'watermark' | 'max_seq' | 'quarantined'>): BatchCursor => ({
  watermark: r.watermark,
  max_seq: r.max_seq,
  quarantined: r.quarantined,
  changed: false,
  inOrder: r.max_seq === r.watermark,
  added: 0,
});

/** True when the batch's records make the new watermark max_seq without walking anything. */
export const ranInOrder = (c: BatchCursor): boolean => c.inOrder && c.max_seq - c.watermark === c.added;
