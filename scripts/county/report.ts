/**
 * The county's two views of the collector database: the monthly progress table (per town and station,
 * due by the 20th) and the fleet table (who is online, what is broken). Pure queries over the store, so
 * the CLI, the demo and the benchmarks print the same thing.
 */
import stringWidth from 'string-width';
import { zoneOffsetMs, zonedMidnight } from '../../agent/time-zone.js';
import type { Db } from './store.js';

export const DEFAULT_TIMEZONE = 'Asia/Shanghai';
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** Offset of `tz` from UTC at instant `utcMs`, in ms (Asia/Shanghai: +8 h). */
export const tzOffsetMs = zoneOffsetMs;

const localMidnightUtc = (year: number, month1: number, tz: string): number => zonedMidnight(year, month1, 1, tz);

/** [start, end) in UTC ms of calendar month `YYYY-MM` in time zone `tz`. */
export function monthBounds(month: string, tz: string = DEFAULT_TIMEZONE): { startMs: number; endMs: number } {
  const m = MONTH.exec(month);
  if (!m) throw new Error(`month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  return { startMs: localMidnightUtc(y, mo, tz), endMs: mo === 12 ? localMidnightUtc(y + 1, 1, tz) : localMidnightUtc(y, mo + 1, tz) };
}

export interface MonthlyTotals {
  /** Sessions that are not `short` (the ones the county counts). */
  sessions: number;
  duration_s: number;
  signal_s: number;
  short_sessions: number;
  short_duration_s: number;
}

export interface MonthlyStationRow extends MonthlyTotals {
  station_id: string;
  name: string | null;
  town: string | null;
  /** No counted (non-short) session this month. */
  no_activity: boolean;
}

export interface MonthlyTownRow extends MonthlyTotals {
  town: string | null;
  stations: number;
  stations_no_activity: number;
}

export interface MonthlyReport {
  month: string;
  stations: MonthlyStationRow[];
  towns: MonthlyTownRow[];
  total: MonthlyTotals & { stations: number; stations_no_activity: number };
}

const zero = (): MonthlyTotals => ({ sessions: 0, duration_s: 0, signal_s: 0, short_sessions: 0, short_duration_s: 0 });
function add(into: MonthlyTotals, t: MonthlyTotals): void {
  into.sessions += t.sessions;
  into.duration_s += t.duration_s;
  into.signal_s += t.signal_s;
  into.short_sessions += t.short_sessions;
  into.short_duration_s += t.short_duration_s;
}

/**
 * Sessions are counted in the month of their start in the station's own time zone (inventory
 * `station.timezone`, Asia/Shanghai until an inventory arrives): a class at 01:00 on the 1st in Beijing
 * belongs to the new month although it is still the previous month in UTC. Every known station appears,
 * so the stations with no activity are listed, not just counted.
 */
export function monthlyReport(db: Db, month: string): MonthlyReport {
  const stations = db
    .prepare('SELECT station_id, name, town, timezone FROM stations ORDER BY town IS NULL, town, station_id')
    .all() as Array<{ station_id: string; name: string | null; town: string | null; timezone: string | null }>;
  const byTz = new Map<string, string[]>();
  for (const s of stations) {
    const tz = s.timezone ?? DEFAULT_TIMEZONE;
    (byTz.get(tz) ?? byTz.set(tz, []).get(tz)!).push(s.station_id);
  }
  const sums = new Map<string, MonthlyTotals>();
  const q = db.prepare(
    `SELECT u.station_id AS station_id,
            sum(1 - u.short) AS sessions,
            sum(CASE WHEN u.short = 0 THEN u.duration_s ELSE 0 END) AS duration_s,
            sum(CASE WHEN u.short = 0 THEN u.signal_s ELSE 0 END) AS signal_s,
            sum(u.short) AS short_sessions,
            sum(CASE WHEN u.short = 1 THEN u.duration_s ELSE 0 END) AS short_duration_s
       FROM usage u JOIN stations s ON s.station_id = u.station_id
      WHERE u.start_ms >= ? AND u.start_ms < ? AND coalesce(s.timezone, ?) = ?
      GROUP BY u.station_id`,
  );
  for (const tz of byTz.keys()) {
    const { startMs, endMs } = monthBounds(month, tz);
    for (const r of q.all(startMs, endMs, DEFAULT_TIMEZONE, tz) as Array<MonthlyTotals & { station_id: string }>) {
      const { station_id, ...t } = r;
      sums.set(station_id, t);
    }
  }
  const rows: MonthlyStationRow[] = stations.map((s) => {
    const t = sums.get(s.station_id) ?? zero();
    return { station_id: s.station_id, name: s.name, town: s.town, ...t, no_activity: t.sessions === 0 };
  });
  const towns = new Map<string | null, MonthlyTownRow>();
  const total = { ...zero(), stations: 0, stations_no_activity: 0 };
  for (const r of rows) {
    let t = towns.get(r.town);
    if (!t) towns.set(r.town, (t = { town: r.town, ...zero(), stations: 0, stations_no_activity: 0 }));
    add(t, r);
    add(total, r);
    t.stations++;
    total.stations++;
    if (r.no_activity) {
      t.stations_no_activity++;
      total.stations_no_activity++;
    }
  }
  return { month, stations: rows, towns: [...towns.values()], total };
}

const hours = (s: number): string => (s / 3600).toFixed(2);

function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const MONTHLY_CSV_HEADER = [
  'month',
  'row',
  'town',
  'station_id',
  'station_name',
  'sessions',
  'hours',
  'signal_hours',
  'short_sessions',
  'short_hours',
  'stations',
  'stations_no_activity',
] as const;

/**
 * The county's monthly progress table: one `station` row per station, then one `town` row per town and a
 * final `total` row. Hours have two decimals; sums are taken in seconds first, so rounding never drifts.
 */
export function monthlyCsv(report: MonthlyReport): string {
  const lines = [MONTHLY_CSV_HEADER.join(',')];
  const line = (row: string, town: string | null, id: string, name: string | null, t: MonthlyTotals, stations: number, inactive: number) =>
    lines.push(
      [report.month, row, town, id, name, t.sessions, hours(t.duration_s), hours(t.signal_s), t.short_sessions, hours(t.short_duration_s), stations, inactive]
        .map(csvField)
        .join(','),
    );
  for (const s of report.stations) line('station', s.town, s.station_id, s.name, s, 1, s.no_activity ? 1 : 0);
  for (const t of report.towns) line('town', t.town, '', null, t, t.stations, t.stations_no_activity);
  line('total', null, '', null, report.total, report.total.stations, report.total.stations_no_activity);
  return lines.join('\n') + '\n';
}

export interface FleetRow {
  station_id: string;
  town: string | null;
  online: boolean | null;
  last_heartbeat: string | null;
  /** Seconds since the last heartbeat arrived (collector clock); null when none. */
  heartbeat_age_s: number | null;
  devices_with_faults: string[];
  lamp_warnings: string[];
  outbox_depth: number | null;
  watermark: number;
  max_seq: number;
  /** Seqs missing below max_seq (not yet resent, not known lost). */
  missing: number;
}

export function fleetTable(db: Db, nowMs = Date.now()): FleetRow[] {
  const stations = db
    .prepare(
      `SELECT s.station_id, s.town, s.online, s.heartbeat_ts, s.heartbeat_at, s.outbox_depth, s.watermark, s.max_seq,
              s.max_seq - s.watermark - (SELECT count(*) FROM records r WHERE r.station_id = s.station_id AND r.seq > s.watermark)
                - (SELECT count(*) FROM lost l WHERE l.station_id = s.station_id AND l.seq > s.watermark) AS missing
         FROM stations s ORDER BY s.town IS NULL, s.town, s.station_id`,
    )
    .all() as Array<{
    station_id: string;
    town: string | null;
    online: number | null;
    heartbeat_ts: string | null;
    heartbeat_at: string | null;
    outbox_depth: number | null;
    watermark: number;
    max_seq: number;
    missing: number;
  }>;
  const faults = new Map<string, string[]>();
  for (const d of db.prepare(`SELECT station_id, device_id FROM devices WHERE errors IS NOT NULL AND errors <> '[]' ORDER BY device_id`).all() as Array<{
    station_id: string;
    device_id: string;
  }>) {
    (faults.get(d.station_id) ?? faults.set(d.station_id, []).get(d.station_id)!).push(d.device_id);
  }
  // A lamp warning is active when the latest lamp event of that device (by seq) is the warning itself.
  const lamps = new Map<string, string[]>();
  for (const e of db
    .prepare(
      `SELECT station_id, device, type FROM (
         SELECT station_id, device, type, row_number() OVER (PARTITION BY station_id, device ORDER BY seq DESC) AS n
           FROM events WHERE type IN ('lamp_warning', 'lamp_warning_cleared'))
        WHERE n = 1 AND type = 'lamp_warning' ORDER BY device`,
    )
    .all() as Array<{ station_id: string; device: string | null }>) {
    (lamps.get(e.station_id) ?? lamps.set(e.station_id, []).get(e.station_id)!).push(e.device ?? '?');
  }
  return stations.map((s) => ({
    station_id: s.station_id,
    town: s.town,
    online: s.online === null ? null : s.online === 1,
    last_heartbeat: s.heartbeat_ts,
    heartbeat_age_s: s.heartbeat_at === null ? null : Math.max(0, Math.round((nowMs - Date.parse(s.heartbeat_at)) / 1000)),
    devices_with_faults: faults.get(s.station_id) ?? [],
    lamp_warnings: lamps.get(s.station_id) ?? [],
    outbox_depth: s.outbox_depth,
    watermark: s.watermark,
    max_seq: s.max_seq,
    missing: s.missing,
  }));
}

/** A plain-text table for terminals; town names are often CJK (two columns wide), hence string-width. */
export function formatFleetTable(rows: FleetRow[]): string {
  const header = ['station', 'town', 'online', 'last heartbeat', 'faults', 'lamp warnings', 'outbox', 'acked seq', 'missing'];
  const body = rows.map((r) => [
    r.station_id,
    r.town ?? '-',
    r.online === null ? '?' : r.online ? 'yes' : 'NO',
    r.last_heartbeat === null ? '-' : `${r.last_heartbeat} (${r.heartbeat_age_s}s ago)`,
    r.devices_with_faults.join(' ') || '-',
    r.lamp_warnings.join(' ') || '-',
    r.outbox_depth === null ? '-' : String(r.outbox_depth),
    String(r.watermark),
    String(r.missing),
  ]);
  const width = (s: string): number => stringWidth(s);
  const widths = header.map((h, i) => Math.max(width(h), ...body.map((b) => width(b[i]!))));
  const fmt = (cells: string[]): string => cells.map((c, i) => c + ' '.repeat(widths[i]! - width(c))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n') + '\n';
}

export function fleetCsv(rows: FleetRow[]): string {
  const header = ['station_id', 'town', 'online', 'last_heartbeat', 'devices_with_faults', 'lamp_warnings', 'outbox_depth', 'watermark', 'max_seq', 'missing'];
  const lines = [header.join(',')];
  for (const r of rows) {
    lines.push(
      [r.station_id, r.town, r.online === null ? '' : String(r.online), r.last_heartbeat, r.devices_with_faults.join(' '), r.lamp_warnings.join(' '), r.outbox_depth, r.watermark, r.max_seq, r.missing]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}
