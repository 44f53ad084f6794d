/**
 * The monthly 通报 as documents (issue 22): the .xlsx download and the print page, from the same report
 * as the monthly page (report.ts), ranked and measured against the county's monthly target (bulletin.ts).
 * `?town=` narrows either to one town, whose figures then are the document's total. A town account's
 * documents hold its own town only, as its monthly page does (guard.ts): another town's `?town=` is 403.
 */
import { buildBulletin, countyName, type Bulletin } from '../bulletin.js';
import { countingZone, DEFAULT_TIMEZONE, monthBounds, type MonthlyReport } from '../report.js';
import type { SessionRow } from '../store.js';
import { sendHtml, type Ctx } from './context.js';
import { requireTownFilter, scope } from './guard.js';
import { HttpError, param, securityHeaders } from './http.js';
import { renderPrint } from './pages/print.js';
import { month, scopedReport } from './routes.js';
import { MAX_SESSION_ROWS, writeMonthlyXlsx } from './xlsx.js';

/** Exports built at once: each is a few seconds of CPU for a large county. */
const MAX_EXPORTS = 2;
let exporting = 0;

/** The report narrowed to one town: its stations, its row, and that row as the total. */
export function townReport(report: MonthlyReport, town: string): MonthlyReport {
  const row = report.towns.find((x) => (x.town ?? '') === town);
  if (!row) throw new HttpError(404, 'error.not_found');
  const { town: _town, ...totals } = row;
  return { month: report.month, stations: report.stations.filter((s) => s.town === row.town), towns: [row], total: totals };
}

async function bulletinOf(ctx: Ctx): Promise<{ bulletin: Bulletin; title: string; town: string }> {
  const town = requireTownFilter(ctx, param(ctx.url, 'town'));
  const full = await scopedReport(ctx, month(ctx));
  const report = town === '' ? full : townReport(full, town);
  const name = countyName(ctx.parts.bulletin.countyName, await ctx.parts.store.stations());
  const [year, m] = [report.month.slice(0, 4), String(Number(report.month.slice(5)))];
  const title =
    (name === null ? ctx.t('bulletin.title_plain', { year, m }) : ctx.t('bulletin.title', { county: name, year, m })) +
    (town === '' ? '' : ` · ${report.towns[0]!.town ?? ctx.t('monthly.no_town')}`);
  return { bulletin: buildBulletin(report, ctx.parts.bulletin.target), title, town };
}

/**
 * The month's sessions of the report's stations (one town's when narrowed; a town account's own town's
 * otherwise), by town, station and start, at most MAX_SESSION_ROWS; each station's in the month of its
 * own time zone, as the report counts them.
 */
async function monthSessions(ctx: Ctx, report: MonthlyReport, town: string): Promise<{ rows: SessionRow[]; more: number }> {
  const stations = await ctx.parts.store.stations();
  const zones = [...new Set(stations.map((s) => s.timezone ?? DEFAULT_TIMEZONE))];
  const rows: SessionRow[] = [];
  const seen = scope(ctx).towns;
  const narrowed: Array<{ town?: string | null }> = town !== '' ? [{ town: report.towns[0]!.town }] : seen === null ? [{}] : [...seen].map((x) => ({ town: x }));
  for (const timezone of zones) {
    const window = { ...monthBounds(report.month, countingZone(timezone)), timezone, defaultTimezone: DEFAULT_TIMEZONE };
    for (const n of narrowed) {
      if (rows.length >= MAX_SESSION_ROWS) break;
      rows.push(...(await ctx.parts.store.sessions({ window, ...n, limit: MAX_SESSION_ROWS - rows.length })));
    }
  }
  if (zones.length > 1 || narrowed.length > 1) {
    const order = new Map(report.stations.map((s, i) => [s.station_id, i]));
    rows.sort((a, b) => (order.get(a.station_id) ?? 0) - (order.get(b.station_id) ?? 0) || a.start_ms - b.start_ms);
  }
  const all = report.total.sessions + report.total.short_sessions;
  return { rows, more: Math.max(0, all - rows.length) };
}

export async function monthlyXlsxDownload(ctx: Ctx): Promise<void> {
  if (exporting >= MAX_EXPORTS) throw new HttpError(429, 'error.busy');
  exporting++;
  try {
    const { bulletin, title, town } = await bulletinOf(ctx);
    const sessions = await monthSessions(ctx, bulletin.report, town);
    const base = `${bulletin.report.month}${town === '' ? '' : `-${town}`}`;
    const name = `${ctx.lang === 'zh' ? '通报' : 'bulletin'}-${base}.xlsx`;
    ctx.res.writeHead(200, {
      ...securityHeaders(ctx.parts.secure),
      'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'Cache-Control': 'no-store',
      'Content-Disposition': `attachment; filename="bulletin-${bulletin.report.month}.xlsx"; filename*=UTF-8''${encodeURIComponent(name)}`,
    });
    await writeMonthlyXlsx(ctx.res, { bulletin, sessions: sessions.rows, sessionsMore: sessions.more, title, t: ctx.t, lang: ctx.lang, tz: ctx.tz });
  } finally {
    exporting--;
  }
}

export async function monthlyPrintPage(ctx: Ctx): Promise<void> {
  const { bulletin, title, town } = await bulletinOf(ctx);
  sendHtml(ctx, 200, renderPrint(ctx, bulletin, { title, town, month: bulletin.report.month }));
}
