/**
 * The county's two views of the collector database: the monthly progress table (per town and station,
 * due by the 20th) and the fleet table (who is online, what is broken). They read through the
 * CollectorStore interface, so the CLI, the tests and the benchmarks print the same thing whatever
 * database holds the data.
 */
import { toCsv, type CsvValue } from '../protocol/csv.js';
import { renderTable } from '../protocol/table.js';
import { isTimeZone, zoneOffsetMs, zonedMidnight } from '../protocol/time-zone.js';
import type { CollectorStore, StationRow } from './store.js';

export const DEFAULT_TIMEZONE = 'Asia/Shanghai';
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** Offset of `tz` from UTC at instant `utcMs`, in ms (Asia/Shanghai: +8 h). */
export const tzOffsetMs = zoneOffsetMs;

/**
 * The zone a station is counted in: its own when this runtime knows it, else the county's. Rows stored
 * before the collector checked zones at the door may hold any string; one of them must not make the
 * county's report fail for every station.
 */
export const countingZone = (tz: string | null): string => (tz !== null && isTimeZone(tz) ? tz : DEFAULT_TIMEZONE);

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
  /**
   * Hours in hundredths, the figures printed: each station's seconds rounded to 0.01 h, every town and
   * the county the sum of its stations' rounded figures, so each printed total is the sum of the
   * printed parts (a town's 0.01 h never goes missing between its stations and its own row).
   */
  hours_100: number;
  signal_hours_100: number;
  short_hours_100: number;
}

/** Seconds as the printed hundredths of an hour (half up). */
export const hundredthsOfHour = (s: number): number => Math.round(s / 36);
/** A printed hours figure: 12345 → "123.45". */
export const hoursText = (h100: number): string => (h100 / 100).toFixed(2);
/** The rule, for the page and the exports to state. */
export const ROUNDING_RULE = {
  zh: '小时数：每个站点的时长先四舍五入到 0.01 小时，镇和全县的合计是所含站点数字之和，所以表中每个合计都等于它各项之和。',
  en: "Hours: each station's time is rounded to 0.01 h first; a town's and the county's figures are the sums of their stations' figures, so every total in the table is the sum of its rows.",
} as const;

export interface MonthlyStationRow extends MonthlyTotals {
  station_id: string;
  name: string | null;
  town: string | null;
  /** No counted (non-short) session this month. */
  no_activity: boolean;
  /** The station's stored time zone when this runtime does not know it (then counted in DEFAULT_TIMEZONE); absent otherwise. */
  unknown_timezone?: string;
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

const zero = (): MonthlyTotals => ({ sessions: 0, duration_s: 0, signal_s: 0, short_sessions: 0, short_duration_s: 0, hours_100: 0, signal_hours_100: 0, short_hours_100: 0 });
function add(into: MonthlyTotals, t: MonthlyTotals): void {
  into.sessions += t.sessions;
  into.duration_s += t.duration_s;
  into.signal_s += t.signal_s;
  into.short_sessions += t.short_sessions;
  into.short_duration_s += t.short_duration_s;
  into.hours_100 += t.hours_100;
  into.signal_hours_100 += t.signal_hours_100;
  into.short_hours_100 += t.short_hours_100;
}

type StationTotals = Omit<MonthlyTotals, 'hours_100' | 'signal_hours_100' | 'short_hours_100'>;

/** A station's totals with its printed (rounded) hours. */
function stationTotals(t: StationTotals): MonthlyTotals {
  return { ...t, hours_100: hundredthsOfHour(t.duration_s), signal_hours_100: hundredthsOfHour(t.signal_s), short_hours_100: hundredthsOfHour(t.short_duration_s) };
}

/**
 * Sessions are counted in the month of their start in the station's own time zone (inventory
 * `station.timezone`, Asia/Shanghai until an inventory arrives): a class at 01:00 on the 1st in Beijing
 * belongs to the new month although it is still the previous month in UTC. Every known station appears,
 * so the stations with no activity are listed, not just counted.
 */
export async function monthlyReport(store: CollectorStore, month: string, include?: (s: StationRow) => boolean): Promise<MonthlyReport> {
  monthBounds(month); // refuse a malformed month before reading anything
  // `include`: only these stations, and totals over them alone (a town account's report: console/access.ts).
  const all = await store.stations();
  const stations = include ? all.filter(include) : all;
  const zones = new Set(stations.map((s) => s.timezone ?? DEFAULT_TIMEZONE));
  const sums = new Map<string, StationTotals>();
  for (const timezone of zones) {
    // The stations are selected by the zone as stored; the month's bounds are those of the zone they are counted in.
    const { startMs, endMs } = monthBounds(month, countingZone(timezone));
    for (const { station_id, ...t } of await store.usageTotals({ startMs, endMs, timezone, defaultTimezone: DEFAULT_TIMEZONE })) sums.set(station_id, t);
  }
  return assembleReport(month, stations, sums);
}

/** The report from the stations and their summed seconds: the rounding rule and the sums (pure). */
export function assembleReport(
  month: string,
  stations: ReadonlyArray<{ station_id: string; name: string | null; town: string | null; timezone: string | null }>,
  sums: ReadonlyMap<string, StationTotals>,
): MonthlyReport {
  const rows: MonthlyStationRow[] = stations.map((s) => {
    const seconds = sums.get(s.station_id);
    const t = seconds ? stationTotals(seconds) : zero();
    const row: MonthlyStationRow = { station_id: s.station_id, name: s.name, town: s.town, ...t, no_activity: t.sessions === 0 };
    if (s.timezone !== null && countingZone(s.timezone) !== s.timezone) row.unknown_timezone = s.timezone;
    return row;
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
  const rows: CsvValue[][] = [];
  const line = (row: string, town: string | null, id: string, name: string | null, t: MonthlyTotals, stations: number, inactive: number) =>
    rows.push([report.month, row, town, id, name, t.sessions, hoursText(t.hours_100), hoursText(t.signal_hours_100), t.short_sessions, hoursText(t.short_hours_100), stations, inactive]);
  for (const s of report.stations) line('station', s.town, s.station_id, s.name, s, 1, s.no_activity ? 1 : 0);
  for (const t of report.towns) line('town', t.town, '', null, t, t.stations, t.stations_no_activity);
  line('total', null, '', null, report.total, report.total.stations, report.total.stations_no_activity);
  return toCsv(MONTHLY_CSV_HEADER, rows, { eol: '\n', trailingEol: true });
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
  /** Records refused as too far above the watermark (forged or corrupt seqs; see SEQ_WINDOW). */
  quarantined: number;
}

export async function fleetTable(store: CollectorStore, nowMs = Date.now()): Promise<FleetRow[]> {
  const stations = await store.stations();
  const missing = new Map((await store.missing()).map((m) => [m.station_id, m.missing]));
  const faults = new Map<string, string[]>();
  for (const d of await store.faultyDevices()) (faults.get(d.station_id) ?? faults.set(d.station_id, []).get(d.station_id)!).push(d.device_id);
  const lamps = new Map<string, string[]>();
  for (const e of await store.lampWarnings()) (lamps.get(e.station_id) ?? lamps.set(e.station_id, []).get(e.station_id)!).push(e.device ?? '?');
  return stations.map((s) => ({
    station_id: s.station_id,
    town: s.town,
    online: s.online,
    last_heartbeat: s.heartbeat_ts,
    heartbeat_age_s: s.heartbeat_at === null ? null : Math.max(0, Math.round((nowMs - Date.parse(s.heartbeat_at)) / 1000)),
    devices_with_faults: faults.get(s.station_id) ?? [],
    lamp_warnings: lamps.get(s.station_id) ?? [],
    outbox_depth: s.outbox_depth,
    watermark: s.watermark,
    max_seq: s.max_seq,
    missing: missing.get(s.station_id) ?? 0,
    quarantined: s.quarantined,
  }));
}

/** Ids listed per station in the fleet table and CSV: one station's rows cannot make them grow without bound. */
const MAX_LISTED = 10;
const listed = (ids: readonly string[]): string =>
  ids.length > MAX_LISTED ? `${ids.slice(0, MAX_LISTED).map((x) => x.slice(0, 128)).join(' ')} +${ids.length - MAX_LISTED}` : ids.map((x) => x.slice(0, 128)).join(' ');

/** A plain-text table for terminals (stationctl's renderer: town names are often CJK, two columns wide). */
export function formatFleetTable(rows: FleetRow[]): string {
  const header = ['station', 'town', 'online', 'last heartbeat', 'faults', 'lamp warnings', 'outbox', 'acked seq', 'missing', 'quarantined'];
  const body = rows.map((r) => [
    r.station_id,
    r.town ?? '-',
    r.online === null ? '?' : r.online ? 'yes' : 'NO',
    r.last_heartbeat === null ? '-' : `${r.last_heartbeat} (${r.heartbeat_age_s}s ago)`,
    listed(r.devices_with_faults) || '-',
    listed(r.lamp_warnings) || '-',
    r.outbox_depth === null ? '-' : String(r.outbox_depth),
    String(r.watermark),
    String(r.missing),
    String(r.quarantined),
  ]);
  return `${renderTable(header, body, Infinity)}\n`;
}

export function fleetCsv(rows: FleetRow[]): string {
  const header = ['station_id', 'town', 'online', 'last_heartbeat', 'devices_with_faults', 'lamp_warnings', 'outbox_depth', 'watermark', 'max_seq', 'missing', 'quarantined'];
  const body = rows.map((r) => [
    r.station_id,
    r.town,
    r.online === null ? '' : String(r.online),
    r.last_heartbeat,
    listed(r.devices_with_faults),
    listed(r.lamp_warnings),
    r.outbox_depth,
    r.watermark,
    r.max_seq,
    r.missing,
    r.quarantined,
  ]);
  return toCsv(header, body, { eol: '\n', trailingEol: true });
}
