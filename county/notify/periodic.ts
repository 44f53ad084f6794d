/**
 * News on the county's clock: the daily digest of the stations that need a visit today (per town for
 * the towns' groups, the whole county for the county's), the monthly progress table on the monthly day,
 * and the quiet hours that hold messages back. Times are the county's (`rules.timezone`). Each is told
 * once per day or month (a `once:` mark), and not at all when the collector was down the whole window.
 */
import { wallTime } from '../../protocol/time-zone.js';
import { visitList, type FleetView } from '../console/pages/fleet.js';
import { hoursText, type MonthlyReport } from '../report.js';
import { URGENCY, type VisitCauseKind } from '../visits.js';
import { route, type NotifyRules, type NotifyTarget } from './config.js';
import type { DigestRow, MonthRow, Notice } from './messages.js';
import { onceMark, type News } from './queue.js';

type Targets = ReadonlyArray<Pick<NotifyTarget, 'id' | 'towns'>>;

/** A late digest is still useful for this long after its time (a collector restarted at 09:30); later, the day's is skipped. */
export const DIGEST_WINDOW_MIN = 180;

/** The county's wall clock at `ms`: its date, month, day of the month and minutes since midnight. */
export function countyClock(ms: number, tz: string): { date: string; month: string; day: number; minutes: number } {
  const wall = wallTime(ms, tz, false); // YYYY-MM-DD HH:MM
  return { date: wall.slice(0, 10), month: wall.slice(0, 7), day: Number(wall.slice(8, 10)), minutes: Number(wall.slice(11, 13)) * 60 + Number(wall.slice(14, 16)) };
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Inside the quiet hours (from ≤ now < to, across midnight when `to` is earlier); never when none or from = to. */
export function inQuietHours(ms: number, rules: Pick<NotifyRules, 'quiet_hours' | 'timezone'>): boolean {
  const q = rules.quiet_hours;
  if (!q) return false;
  const now = countyClock(ms, rules.timezone).minutes;
  const from = minutesOf(q.from);
  const to = minutesOf(q.to);
  if (from === to) return false;
  return from < to ? now >= from && now < to : now >= from || now < to;
}

/** The date whose digest is due at `ms` (its time passed less than DIGEST_WINDOW_MIN ago), or undefined. */
export function digestDue(ms: number, rules: Pick<NotifyRules, 'daily_digest' | 'timezone'>): string | undefined {
  const c = countyClock(ms, rules.timezone);
  const since = c.minutes - minutesOf(rules.daily_digest);
  return since >= 0 && since < DIGEST_WINDOW_MIN ? c.date : undefined;
}

/** The month whose progress is due at `ms` (the monthly day, from its time to midnight), or undefined. */
export function monthlyDue(ms: number, rules: Pick<NotifyRules, 'monthly' | 'timezone'>): string | undefined {
  const c = countyClock(ms, rules.timezone);
  return c.day === rules.monthly.day && c.minutes >= minutesOf(rules.monthly.time) ? c.month : undefined;
}

const townOf = (s: { town: string | null }): string | null => s.town;
const link = (rules: Pick<NotifyRules, 'console_url'>, path: string): Record<string, string> => (rules.console_url ? { link: `${rules.console_url.replace(/\/$/, '')}${path}` } : {});
const q = (params: Record<string, string>): string => `?${new URLSearchParams(params).toString()}`;

/**
 * The day's digest: for each town its stations that need a visit to the town's groups, and the whole list
 * to the county's groups. `views` are the fleet's stations with their open visit items, brought up to date
 * by the visit rule (county/visits.ts, visit-sync.ts) just before: the console's list "needs a visit"
 * (pages/fleet.ts visitList, in its order), so a station shut down cleanly (已关机) is not on it, and one
 * lost yesterday afternoon still is in the morning before its opening hours.
 */
export function digestNews(date: string, views: readonly FleetView[], nowMs: number, rules: Pick<NotifyRules, 'console_url'>, targets: Targets): News {
  const visits = visitList(views);
  const why = (v: FleetView): VisitCauseKind[] => [...new Set(v.visits.map((x) => x.kind as VisitCauseKind))].sort((a, b) => (URGENCY[a] ?? 9) - (URGENCY[b] ?? 9));
  const row = (v: FleetView): DigestRow => ({ name: v.row.name ?? v.row.station_id, town: v.row.town, why: why(v) });
  const towns = [...new Set(views.map((v) => townOf(v.row)))];
  const notices: Notice[] = towns.map((town) => {
    const rows = visits.filter((v) => v.row.town === town).map(row);
    return { kind: 'daily_digest', town, station_id: null, station_name: null, town_groups_only: true, detail: { date, count: rows.length, stations: rows, ...link(rules, `/fleet${q({ state: 'visit', ...(town ? { town } : {}) })}`) } };
  });
  notices.push({ kind: 'daily_digest', town: null, station_id: null, station_name: null, detail: { date, count: visits.length, stations: visits.map(row), ...link(rules, `/fleet${q({ state: 'visit' })}`) } });
  const key = onceMark(`digest:${date}`);
  return { items: route(targets, notices), guard: { key, present: false }, marks: [{ key, value: String(nowMs) }] };
}

/** The month's progress: each town's line and its stations with no class to the town's groups, every town's line to the county's. */
export function monthlyNews(report: MonthlyReport, date: string, nowMs: number, rules: Pick<NotifyRules, 'console_url'>, targets: Targets): News {
  const line = (t: MonthlyReport['towns'][number]): MonthRow => ({ town: t.town, stations: t.stations, sessions: t.sessions, hours: hoursText(t.hours_100), inactive: t.stations_no_activity });
  const notices: Notice[] = report.towns.map((t) => ({
    kind: 'monthly_progress',
    town: t.town,
    station_id: null,
    station_name: null,
    town_groups_only: true,
    detail: {
      month: report.month,
      date,
      ...line(t),
      inactive_names: report.stations.filter((s) => s.town === t.town && s.no_activity).map((s) => s.name ?? s.station_id),
      ...link(rules, `/monthly${q({ month: report.month, ...(t.town ? { town: t.town } : {}) })}`),
    },
  }));
  notices.push({ kind: 'monthly_progress', town: null, station_id: null, station_name: null, detail: { month: report.month, date, towns: report.towns.map(line), ...link(rules, `/monthly${q({ month: report.month })}`) } });
  const key = onceMark(`monthly:${report.month}`);
  return { items: route(targets, notices), guard: { key, present: false }, marks: [{ key, value: String(nowMs) }] };
}
