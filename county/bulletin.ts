/**
 * The monthly 通报 (bulletin) a county sends its towns: the progress table's figures (report.ts
 * monthlyReport, the same numbers and the same rounding rule) with each town's stations ranked and
 * measured against the monthly target the county sets (`monthly_target_sessions`, `monthly_target_hours`,
 * docs/county.md). Its two documents, the .xlsx (console/xlsx.ts) and the print page
 * (console/pages/print.ts), are built from this. Pure: no store, no I/O.
 */
import type { MonthlyReport, MonthlyStationRow, MonthlyTownRow } from './report.js';

/** What each station should reach in a month; hours as printed hundredths (600 = 6.00 h). */
export interface MonthlyTarget {
  sessions: number;
  hours_100: number;
}

export interface RankedStation {
  row: MonthlyStationRow;
  /** 1 for the most hours in its town; equal figures share a rank (1, 2, 2, 4). */
  rank: number;
  /** Whole percent of the target (half up); null without a target. */
  sessions_pct: number | null;
  hours_pct: number | null;
  /** Both targets reached; null without a target. */
  met: boolean | null;
}

export interface TownBulletin {
  town: MonthlyTownRow;
  stations: RankedStation[];
  /** Stations that met the target (the sum of the printed 是); null without a target. */
  met: number | null;
}

export interface Bulletin {
  report: MonthlyReport;
  target: MonthlyTarget | null;
  towns: TownBulletin[];
  met: number | null;
}

const pct = (value: number, target: number): number => Math.round((100 * value) / target);

/** Most hours first, then most sessions: as the clerk reads a ranking. */
const better = (a: MonthlyStationRow, b: MonthlyStationRow): number => b.hours_100 - a.hours_100 || b.sessions - a.sessions;

/** The stations of one town ranked (competition ranking: ties share the better rank), with their completion. */
export function rankStations(stations: readonly MonthlyStationRow[], target: MonthlyTarget | null): RankedStation[] {
  const sorted = [...stations].sort((a, b) => better(a, b) || (a.station_id < b.station_id ? -1 : 1));
  let rank = 0;
  return sorted.map((row, i) => {
    if (i === 0 || better(sorted[i - 1]!, row) !== 0) rank = i + 1;
    if (!target) return { row, rank, sessions_pct: null, hours_pct: null, met: null };
    return {
      row,
      rank,
      sessions_pct: pct(row.sessions, target.sessions),
      hours_pct: pct(row.hours_100, target.hours_100),
      met: row.sessions >= target.sessions && row.hours_100 >= target.hours_100,
    };
  });
}

export function buildBulletin(report: MonthlyReport, target: MonthlyTarget | null): Bulletin {
  const byTown = new Map<string | null, MonthlyStationRow[]>();
  for (const s of report.stations) (byTown.get(s.town) ?? byTown.set(s.town, []).get(s.town)!).push(s);
  const towns = report.towns.map((town): TownBulletin => {
    const stations = rankStations(byTown.get(town.town) ?? [], target);
    return { town, stations, met: target ? stations.filter((s) => s.met).length : null };
  });
  return { report, target, towns, met: target ? towns.reduce((n, t) => n + t.met!, 0) : null };
}

/** A target from the console's options (hours as given, e.g. 6 or 7.5), or null when either is unset. */
export function monthlyTarget(sessions: number | undefined, hours: number | undefined): MonthlyTarget | null {
  if (sessions === undefined || hours === undefined) return null;
  return { sessions, hours_100: Math.round(hours * 100) };
}

/**
 * The county's name for a title: the configured one, else the name most of its stations report
 * (inventory `station.county`), else null.
 */
export function countyName(configured: string | undefined, stations: ReadonlyArray<{ county: string | null }>): string | null {
  if (configured) return configured;
  const counts = new Map<string, number>();
  for (const s of stations) if (s.county) counts.set(s.county, (counts.get(s.county) ?? 0) + 1);
  let best: string | null = null;
  for (const [name, n] of counts) if (best === null || n > counts.get(best)! || (n === counts.get(best)! && name < best)) best = name;
  return best;
}
