/**
 * Row shapes both stores share (SQLite and PostgreSQL): what a heartbeat keeps in the history, the
 * bucket it falls in, a device row from its stored columns, and the fleet rows assembled from the
 * station list, the faulty devices and the active lamp warnings. Pure: no database here.
 */
import type { Heartbeat } from '../protocol/payloads.js';
import { OpeningHoursSchema, type OpeningHours } from '../protocol/opening-hours.js';
import { HEARTBEAT_HISTORY_DAYS, HEARTBEAT_HISTORY_STEP_MS, type DeviceRow, type FleetRow, type HeartbeatPoint, type SessionRow, type StationRow } from './store.js';
import type { ClassRun, VisitRow } from './visit-store.js';

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
  /** The length of `errors` when the query returned only its first ERRORS_PREFIX characters. */
  errors_total?: number | string | null;
  lamp_hours: number | null;
  ts: string | null;
  received_at: string;
}

/**
 * Stored `errors` longer than the caps allow (32 faults of ≤ 1,256 characters) are read only in part: the
 * stores' queries return the first ERRORS_PREFIX characters and the array's length (DEVICE_COLUMNS).
 */
export const ERRORS_PREFIX = 64 * 1024;
/** Faults kept of such a row: more than any page shows. */
const ERRORS_HEAD = 32;

/**
 * The first `max` elements of a JSON array text, or of a prefix of one (cut anywhere), and how many more
 * the array holds (`total`: its length when the text is a prefix), without building the rest: rows stored
 * before the county capped faults may hold thousands per device, and reading them all on every fleet page
 * cost seconds and hundreds of MB. A scan for the top-level commas, outside strings.
 */
export function jsonArrayHead(text: string, max: number, total?: number): { head: unknown[]; more: number } {
  let depth = 0;
  let inString = false;
  let elements = 0;
  let lastComma = -1;
  let complete = false;
  for (let i = 0; i < text.length && !complete; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) complete = --depth === 0;
    else if (c === 44 && depth === 1) {
      lastComma = i;
      if (++elements === max) break;
    }
  }
  let head: unknown[];
  if (complete) head = JSON.parse(text) as unknown[];
  else head = lastComma < 0 ? [] : (JSON.parse(`${text.slice(0, lastComma)}]`) as unknown[]);
  if (complete && total === undefined) return { head, more: 0 };
  if (total === undefined) {
    // The whole array was given: count the rest of its top-level elements.
    let rest = 0;
    for (let i = lastComma + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (c === 92) i++;
        else if (c === 34) inString = false;
      } else if (c === 34) inString = true;
      else if (c === 91 || c === 123) depth++;
      else if (c === 93 || c === 125) depth--;
      else if (c === 44 && depth === 1) rest++;
    }
    total = head.length + rest + 1;
  }
  return { head, more: Math.max(0, total - head.length) };
}

export function toDeviceRow(r: DeviceDbRow): DeviceRow {
  let errors: DeviceRow['errors'] = [];
  let more = 0;
  try {
    const total = r.errors_total === null || r.errors_total === undefined ? undefined : Number(r.errors_total);
    if (r.errors !== null && (total !== undefined || r.errors.length > ERRORS_PREFIX)) {
      const { head, more: rest } = jsonArrayHead(r.errors, ERRORS_HEAD, total);
      errors = head as DeviceRow['errors'];
      more = rest;
    } else {
      const parsed: unknown = r.errors === null ? [] : JSON.parse(r.errors);
      if (Array.isArray(parsed)) errors = parsed as DeviceRow['errors'];
    }
  } catch {
    /* stored by us from a validated payload: cannot happen, and an empty list is the safe reading */
  }
  return {
    ...(more > 0 ? { errors_more: more } : {}),
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

/** A station row as stored: `online` 0/1 or boolean, `opening_hours` JSON text. */
export type StationDbRow = Omit<StationRow, 'online' | 'opening_hours'> & { online: number | boolean | null; opening_hours: string | null };

/**
 * Stored opening hours (validated at ingest) as the rule reads them; text that does not parse as hours
 * (cannot happen: we wrote it) reads as none, open at all times.
 */
export function parseOpeningHours(text: string | null): OpeningHours | null {
  if (text === null) return null;
  try {
    const r = OpeningHoursSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export const toStationRow = <R extends StationDbRow>(r: R): Omit<R, 'online' | 'opening_hours'> & Pick<StationRow, 'online' | 'opening_hours'> => ({
  ...r,
  online: r.online === null ? null : r.online === true || r.online === 1,
  opening_hours: parseOpeningHours(r.opening_hours),
});

/** A class_latest row as stored (phase outcomes 0/1 or boolean). */
export type ClassDbRow = Omit<ClassRun, 'start_ok' | 'end_ok'> & { start_ok: number | boolean | null; end_ok: number | boolean | null };
const bool = (v: number | boolean | null): boolean | null => (v === null ? null : v === true || v === 1);
export const toClassRun = (r: ClassDbRow): ClassRun => ({ ...r, start_ok: bool(r.start_ok), end_ok: bool(r.end_ok) });

/** A visits row as stored (`rearmed` 0/1 or boolean). */
export type VisitDbRow = Omit<VisitRow, 'rearmed'> & { rearmed: number | boolean };
export const toVisitRow = (r: VisitDbRow): VisitRow => ({ ...r, rearmed: r.rearmed === true || r.rearmed === 1 });

/** Rows grouped by their station. */
function byStation<T extends { station_id: string }, U>(rows: readonly T[], map: (r: T) => U): Map<string, U[]> {
  const out = new Map<string, U[]>();
  for (const r of rows) (out.get(r.station_id) ?? out.set(r.station_id, []).get(r.station_id)!).push(map(r));
  return out;
}

/** Fleet rows in `stations` order, with each station's faulty devices, active lamp warnings, failed classes and devices in use. */
export function fleetRows(
  stations: ReadonlyArray<StationDbRow & { agent_version: string | null }>,
  faulty: readonly DeviceRow[],
  lamps: ReadonlyArray<{ station_id: string; device: string | null; lamp_hours: number | null }>,
  classes: readonly ClassDbRow[],
  active: ReadonlyArray<{ station_id: string; device_id: string; kind: string | null }>,
): FleetRow[] {
  const faults = byStation(faulty, (d) => d);
  const warn = byStation(lamps, (l) => ({ device: l.device, lamp_hours: l.lamp_hours === null ? null : Number(l.lamp_hours) }));
  const failed = byStation(classes, toClassRun);
  const inUse = byStation(active, (d) => ({ device_id: d.device_id, kind: d.kind }));
  return stations.map((s) => ({
    ...toStationRow(s),
    faults: faults.get(s.station_id) ?? [],
    lamp_warnings: warn.get(s.station_id) ?? [],
    failed_classes: failed.get(s.station_id) ?? [],
    active_devices: inUse.get(s.station_id) ?? [],
  }));
}

/** Parses a stored JSON document; a row that does not parse (cannot happen: we wrote it) reads as null. */
/** A stored JSON array (an inventory's `devices`), or [] for text that is not one. */
export function parseList(text: string | null): unknown[] {
  if (text === null) return [];
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

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

/** The first instant (UTC ms) of the UTC calendar month `add` months after the one holding `ms`. */
export function utcMonthStart(ms: number, add = 0): number {
  const d = new Date(ms);
  const m = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  m.setUTCFullYear(d.getUTCFullYear(), d.getUTCMonth() + add, 1);
  return m.getTime();
}

/** Usage rows starting in [lo, hi), counted `sign` times (+1 added, −1 taken away). */
export interface UsageEdge {
  lo: number;
  hi: number;
  sign: 1 | -1;
}

/**
 * How a window [startMs, endMs) is summed from the per-station UTC-month totals: the months whose
 * `month_ms` is in [fromMonthMs, toMonthMs) (those the window covers more than half of), plus or minus the
 * usage rows of the two edges between those months and the window. A calendar month in a station's zone
 * is then one month's totals and two edges of at most 14 hours; a window shorter than half a month is
 * read from the rows alone.
 */
export function monthSplit(startMs: number, endMs: number): { fromMonthMs: number; toMonthMs: number; edges: [UsageEdge, UsageEdge] } {
  let from: number | undefined;
  let to = 0;
  if (Number.isFinite(startMs) && Number.isFinite(endMs)) {
    for (let m = utcMonthStart(startMs); m < endMs; m = utcMonthStart(m, 1)) {
      const next = utcMonthStart(m, 1);
      if ((Math.min(next, endMs) - Math.max(m, startMs)) * 2 > next - m) {
        from ??= m;
        to = next;
      }
    }
  }
  if (from === undefined) return { fromMonthMs: startMs, toMonthMs: startMs, edges: [{ lo: startMs, hi: endMs, sign: 1 }, { lo: endMs, hi: endMs, sign: 1 }] };
  const edge = (a: number, b: number): UsageEdge => (a <= b ? { lo: a, hi: b, sign: 1 } : { lo: b, hi: a, sign: -1 });
  return { fromMonthMs: from, toMonthMs: to, edges: [edge(startMs, from), edge(to, endMs)] };
}

/** The parameters of both stores' usageTotals statement, in its order. */
export function usageTotalsParams(w: { startMs: number; endMs: number; timezone: string; defaultTimezone: string }): Array<string | number> {
  const { fromMonthMs, toMonthMs, edges } = monthSplit(w.startMs, w.endMs);
  return [w.defaultTimezone, w.timezone, fromMonthMs, toMonthMs, ...edges.flatMap((e) => [e.lo, e.hi, e.sign])];
}

/** A session row as both stores' session queries return it (`short` 0/1 or boolean; the note's columns null when none). */
export interface SessionDbRow extends Omit<SessionRow, 'short' | 'note'> {
  short: number | boolean;
  note_seq: number | null;
  topic: string | null;
  attendees: number | null;
  organiser: string | null;
  note: string | null;
}

export function toSessionRow(r: SessionDbRow): SessionRow {
  const { note_seq, topic, attendees, organiser, note, short, ...u } = r;
  return { ...u, short: short === true || short === 1, note: note_seq === null ? null : { topic, attendees, organiser, note } };
}
