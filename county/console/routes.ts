/** The signed-in pages: fleet, station, monthly progress (+ CSV); schedules and pushes are schedule-routes.ts'. */
import { monthBounds, monthlyReport, DEFAULT_TIMEZONE } from '../report.js';
import { seesStation, visible } from './access.js';
import { sendHtml, type Ctx } from './context.js';
import { stationDeviceLabels } from './device-names.js';
import { requireStation, requireTownFilter, scope } from './guard.js';
import { HttpError, param, send, securityHeaders } from './http.js';
import { namedStations, renderFleet, selectFleet, STATE_FILTERS, type StateFilter } from './pages/fleet.js';
import { localisedMonthlyCsv, renderMonthly } from './pages/monthly.js';
import { renderStation } from './pages/station.js';
import { stationFleetRow } from './station-row.js';
import { localMonth } from './time.js';
import { currentVisits } from './visit-routes.js';
import { VISIT_HISTORY_SHOWN } from './pages/station-visits.js';

export { checkedForm } from './forms.js';
export { pushPage, pushProgress, pushSchedule, schedulesPage } from './schedule-routes.js';

export async function fleetPage(ctx: Ctx): Promise<void> {
  const state = param(ctx.url, 'state', 16) as StateFilter;
  const q = {
    town: requireTownFilter(ctx, param(ctx.url, 'town')),
    state: STATE_FILTERS.includes(state) ? state : 'all',
    q: param(ctx.url, 'q', 64),
    page: param(ctx.url, 'page', 8),
  };
  const rows = visible(scope(ctx), await ctx.parts.store.fleet());
  const now = ctx.parts.now();
  // The pass judges (and so opens or clears the items of) only the stations the account sees.
  const visits = await currentVisits(ctx, rows, now);
  // Device names from the inventories of the stations the page names only (not every faulty one of thousands).
  const names = await stationDeviceLabels(ctx.parts.store, ctx.t, namedStations(selectFleet(rows, q, now, ctx.parts.rules, ctx.tz, visits)));
  sendHtml(ctx, 200, renderFleet(ctx, rows, q, now, ctx.parts.rules, visits, names));
}

export async function stationPage(ctx: Ctx): Promise<void> {
  const id = param(ctx.url, 'id');
  const { store } = ctx.parts;
  await requireStation(ctx, id);
  const devices = await store.devices(id);
  const row = await stationFleetRow(store, id, devices);
  if (!row) throw new HttpError(404, 'error.not_found');
  const now = ctx.parts.now();
  const visits = await currentVisits(ctx, [row], now, id);
  const [usage, events, scheduleRuns, heartbeats, visitHistory, inventory] = await Promise.all([
    store.sessions({ station: id, limit: 20 }),
    store.events(id, 30),
    store.events(id, 200, ['schedule_run']),
    store.heartbeatHistory(id, now - ctx.parts.historyDays * 86_400_000),
    store.visitHistory(id, 2 * VISIT_HISTORY_SHOWN),
    store.inventory(id),
  ]);
  sendHtml(ctx, 200, renderStation(ctx, { row, devices, usage, events, scheduleRuns, heartbeats, historyDays: ctx.parts.historyDays, visits, visitHistory, inventory }, now, ctx.parts.rules));
}

/** `month` from the query when it is a valid YYYY-MM, else this month in the county's time zone. */
function monthOf(ctx: Ctx): string {
  const m = param(ctx.url, 'month', 7);
  if (m === '') return localMonth(ctx.parts.now(), ctx.tz);
  monthBounds(m, DEFAULT_TIMEZONE); // throws on a malformed month
  return m;
}

/** The page's month (400 when malformed). */
export function month(ctx: Ctx): string {
  try {
    return monthOf(ctx);
  } catch {
    throw new HttpError(400, 'error.bad_request');
  }
}

/** The month's report over the stations the account may see (a town account's totals are its town's). */
export function scopedReport(ctx: Ctx, m: string) {
  const s = scope(ctx);
  return monthlyReport(ctx.parts.store, m, s.towns === null ? undefined : (row) => seesStation(s, row));
}

export async function monthlyPage(ctx: Ctx): Promise<void> {
  const town = requireTownFilter(ctx, param(ctx.url, 'town'));
  const report = await scopedReport(ctx, month(ctx));
  sendHtml(ctx, 200, renderMonthly(ctx, report, town, param(ctx.url, 'page', 8), localMonth(ctx.parts.now(), ctx.tz)));
}

export async function monthlyCsvDownload(ctx: Ctx): Promise<void> {
  requireTownFilter(ctx, param(ctx.url, 'town'));
  const report = await scopedReport(ctx, month(ctx));
  const name = `${ctx.lang === 'zh' ? '进度表' : 'progress'}-${report.month}.csv`;
  send(ctx.res, 200, localisedMonthlyCsv(report, ctx.t, ctx.lang), 'text/csv; charset=utf-8', {
    ...securityHeaders(ctx.parts.secure),
    'Cache-Control': 'no-store',
    'Content-Disposition': `attachment; filename="progress-${report.month}.csv"; filename*=UTF-8''${encodeURIComponent(name)}`,
  });
}
