/**
 * The monthly 通报 as an Excel workbook (ExcelJS, written as a stream: rows go out as they are made, so
 * a large county's file never sits whole in memory): a county sheet (the towns and the county total), one
 * sheet per town (its stations ranked, with completion against the county's monthly target) and a sheet of
 * every session of the month with its note typed on site. Headers in the reader's language. Every total
 * is the sum of the figures printed above it, by the report's rule (report.ts ROUNDING_RULE, stated on
 * each sheet): hours are the stations' figures rounded to 0.01 h, summed.
 */
import type { Writable } from 'node:stream';
import type { Bulletin, RankedStation } from '../bulletin.js';
import { ROUNDING_RULE, type MonthlyTotals } from '../report.js';
import type { SessionRow } from '../store.js';
import type { ConsoleKey, Lang, T } from './i18n.js';
import { label } from './i18n.js';
import { localTime } from './time.js';

/** Sessions listed in one file; beyond them a row says how many more (download town by town). */
export const MAX_SESSION_ROWS = 30_000;
/** Towns with a sheet of their own; every town is on the county sheet whatever their number. */
export const MAX_TOWN_SHEETS = 200;
/** The rows above each sheet's header: title, then the rule (and target), then the header itself. */
export const HEADER_ROW = 3;

export interface XlsxInput {
  bulletin: Bulletin;
  /** The month's sessions (ConsoleStore.sessions, notes joined), at most MAX_SESSION_ROWS. */
  sessions: readonly SessionRow[];
  /** Sessions of the month not in `sessions`. */
  sessionsMore: number;
  title: string;
  t: T;
  lang: Lang;
  /** The county's time zone: the sessions' times. */
  tz: string;
}

type Cell = string | number | null;
interface Sheet {
  addRow(values: Cell[]): { getCell(i: number): { numFmt: string }; font: unknown; commit(): void };
  commit(): Promise<void> | void;
}

// XML 1.0 has no place for most control characters: one in a station's name or note would make the file
// one Excel refuses. Cells are clipped too (Excel's own limit is 32,767 characters).
// Lone surrogates likewise (a pair, such as a rare CJK character of Extension B, stays).
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
export const cellText = (s: string | null | undefined): string => (s ?? '').replace(CONTROL, '').slice(0, 1000);

/** An Excel sheet name: at most 31 characters, none of : \ / ? * [ ], unique (case-blind) in the workbook. */
export function sheetName(wanted: string, taken: Set<string>): string {
  const base = cellText(wanted).replace(/[:\\/?*[\]]/g, '_').replace(/^'+|'+$/g, '').trim().slice(0, 31) || '_';
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? '' : ` (${n})`;
    const name = base.slice(0, 31 - suffix.length) + suffix;
    if (!taken.has(name.toLowerCase())) {
      taken.add(name.toLowerCase());
      return name;
    }
  }
}

const HOURS = '0.00';
const PCT = '0%';
const hours = (h100: number): number => h100 / 100;

function addSheet(wb: { addWorksheet(name: string, o: object): unknown }, name: string, widths: number[], title: string, notes: string[], header: string[]): Sheet {
  const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', ySplit: HEADER_ROW }] }) as Sheet & { columns: unknown };
  ws.columns = widths.map((width) => ({ width }));
  const first = ws.addRow([title]);
  first.font = { bold: true, size: 14 };
  first.commit();
  ws.addRow([notes.join(' ')]).commit();
  const head = ws.addRow(header);
  head.font = { bold: true };
  head.commit();
  return ws;
}

/** Puts a row out with number formats by column (1-based), bold when `bold`. */
function put(ws: Sheet, values: Cell[], formats: Record<number, string>, bold = false): void {
  const row = ws.addRow(values);
  for (const [col, fmt] of Object.entries(formats)) row.getCell(Number(col)).numFmt = fmt;
  if (bold) row.font = { bold: true };
  row.commit();
}

const FIGURE_FORMATS = (from: number): Record<number, string> => ({ [from + 1]: HOURS, [from + 2]: HOURS, [from + 4]: HOURS });
const figures = (x: MonthlyTotals): Cell[] => [x.sessions, hours(x.hours_100), hours(x.signal_hours_100), x.short_sessions, hours(x.short_hours_100)];

function notes(input: XlsxInput): string[] {
  const { t, lang, bulletin } = input;
  const target = bulletin.target;
  return [ROUNDING_RULE[lang], target ? t('bulletin.target', { sessions: target.sessions, hours: (target.hours_100 / 100).toFixed(2) }) : t('bulletin.no_target')];
}

export async function writeMonthlyXlsx(out: Writable, input: XlsxInput): Promise<void> {
  const ExcelJS = (await import('exceljs')).default;
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const { t, bulletin } = input;
  const taken = new Set<string>();
  const townName = (town: string | null): string => (town === null ? t('monthly.no_town') : cellText(town));
  const withTarget = bulletin.target !== null;
  const figureHeads = (['col.sessions', 'col.hours', 'col.signal_hours', 'col.short_sessions', 'col.short_hours'] as ConsoleKey[]).map((k) => t(k));
  const base = notes(input);

  // The county: its towns and the county total (each the sum of the town rows above it).
  const countyHead = [t('col.town'), t('col.stations'), ...figureHeads, t('col.no_activity'), ...(withTarget ? [t('col.met_stations')] : [])];
  const more = bulletin.towns.length > MAX_TOWN_SHEETS ? [t('bulletin.towns_more', { max: MAX_TOWN_SHEETS })] : [];
  const county = addSheet(wb, sheetName(t('bulletin.county_sheet'), taken), [22, 9, 11, 13, 15, 11, 15, 12, 12], input.title, [...base, ...more], countyHead);
  for (const x of bulletin.towns) put(county, [townName(x.town.town), x.town.stations, ...figures(x.town), x.town.stations_no_activity, ...(withTarget ? [x.met] : [])], FIGURE_FORMATS(2));
  const tot = bulletin.report.total;
  put(county, [t('monthly.total'), tot.stations, ...figures(tot), tot.stations_no_activity, ...(withTarget ? [bulletin.met] : [])], FIGURE_FORMATS(2), true);
  await county.commit();

  // One sheet per town: its stations ranked, with their completion; the subtotal is the sum of the rows.
  const stationHead = [t('col.rank'), t('csv.station_name'), t('csv.station_id'), ...figureHeads, ...(withTarget ? [t('col.sessions_pct'), t('col.hours_pct'), t('col.met')] : [])];
  const stationFormats: Record<number, string> = withTarget ? { ...FIGURE_FORMATS(3), 9: PCT, 10: PCT } : FIGURE_FORMATS(3);
  for (const x of bulletin.towns.slice(0, MAX_TOWN_SHEETS)) {
    const name = townName(x.town.town);
    const ws = addSheet(wb, sheetName(name, taken), [7, 24, 18, 11, 13, 15, 11, 15, 12, 12, 9], `${input.title} · ${name}`, base, stationHead);
    const cells = (s: RankedStation): Cell[] =>
      withTarget ? [s.sessions_pct! / 100, s.hours_pct! / 100, t(s.met ? 'yes' : 'no')] : [];
    for (const s of x.stations) put(ws, [s.rank, cellText(s.row.name ?? s.row.station_id), cellText(s.row.station_id), ...figures(s.row), ...cells(s)], stationFormats);
    put(ws, [null, t('bulletin.subtotal', { town: name }), null, ...figures(x.town), ...(withTarget ? [null, null, x.met] : [])], FIGURE_FORMATS(3), true);
    await ws.commit();
  }

  // Every session of the month with its note (no totals here: the county and town sheets hold them).
  const names = new Map(bulletin.report.stations.map((s) => [s.station_id, s]));
  const zone = input.tz === 'Asia/Shanghai' ? t('bulletin.beijing') : input.tz;
  const sessionNotes = [t('bulletin.sessions_note', { zone }), ...(input.sessionsMore > 0 ? [t('bulletin.sessions_more', { n: input.sessionsMore, max: MAX_SESSION_ROWS })] : [])];
  const sessionHead = [t('col.date'), t('col.start'), t('col.end'), t('col.minutes'), t('col.town'), t('csv.station_name'), t('csv.station_id'), t('col.topic'), t('col.attendees'), t('col.organiser'), t('col.note'), t('col.short'), t('col.trigger')];
  const sessions = addSheet(wb, sheetName(t('bulletin.sessions_sheet'), taken), [12, 8, 8, 12, 16, 22, 18, 30, 8, 14, 30, 7, 16], input.title, sessionNotes, sessionHead);
  for (const s of input.sessions) {
    const start = localTime(s.start_ms, input.tz);
    const end = localTime(s.end_ms, input.tz);
    const st = names.get(s.station_id);
    const trigger = s.trigger.startsWith('schedule:') ? t('trigger.schedule', { id: s.trigger.slice(9) }) : label(t, 'trigger', s.trigger);
    put(sessions, [
      start.slice(0, 10),
      start.slice(11),
      end.slice(0, 10) === start.slice(0, 10) ? end.slice(11) : end.slice(5),
      Math.round(s.duration_s / 6) / 10,
      townName(st?.town ?? null),
      cellText(st?.name ?? s.station_id),
      cellText(s.station_id),
      cellText(s.note?.topic),
      s.note?.attendees ?? null,
      cellText(s.note?.organiser),
      cellText(s.note?.note),
      s.short ? t('yes') : '',
      cellText(trigger),
    ], { 4: '0.0' });
  }
  await sessions.commit();
  await wb.commit();
}
