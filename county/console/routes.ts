/** The signed-in pages: fleet, station, monthly progress (+ CSV); schedules and pushes are schedule-routes.ts'. */
import { monthBounds, monthlyReport, DEFAULT_TIMEZONE } from '../report.js';
import { sendHtml, type Ctx } from './context.js';
import { HttpError, param, send, securityHeaders } from './http.js';
import { stationDeviceLabels } from './device-names.js';
import { namedStations, renderFleet, selectFleet, STATE_FILTERS, type StateFilter } from './pages/fleet.js';
import { localisedMonthlyCsv, renderMonthly } from './pages/monthly.js';
import { renderStation } from './pages/station.js';
import { stationFleetRow } from './station-row.js';
import { localMonth } from './time.js';

export { checkedForm } from './forms.js';
export { pushPage, pushProgress, pushSchedule, schedulesPage } from './schedule-routes.js';

export async function fleetPage(ctx: Ctx): Promise<void> {
  const state = param(ctx.url, 'state', 16) as StateFilter;
  const q = {
    town: param(ctx.url, 'town'),
    state: STATE_FILTERS.includes(state) ? state : 'all',
    q: param(ctx.url, 'q', 64),
    page: param(ctx.url, 'page', 8),
  };
  const rows = await ctx.parts.store.fleet();
  const names = await stationDeviceLabels(ctx.parts.store, ctx.t, namedStations(selectFleet(rows, q, ctx.parts.now(), ctx.parts.rules)));
  sendHtml(ctx, 200, renderFleet(ctx, rows, q, ctx.parts.now(), ctx.parts.rules, names));
}

export async function stationPage(ctx: Ctx): Promise<void> {
  const id = param(ctx.url, 'id');
  const { store } = ctx.parts;
  const devices = await store.devices(id);
  const row = id === '' ? undefined : await stationFleetRow(store, id, devices);
  if (!row) throw new HttpError(404, 'error.not_found');
  const now = ctx.parts.now();
  const [usage, events, scheduleRuns, heartbeats, inventory] = await Promise.all([
    store.usageRecords(id, 20),
    store.events(id, 30),
    store.events(id, 200, ['schedule_run']),
    store.heartbeatHistory(id, now - ctx.parts.historyDays * 86_400_000),
    store.inventory(id),
  ]);
  sendHtml(ctx, 200, renderStation(ctx, { row, devices, usage, events, scheduleRuns, heartbeats, historyDays: ctx.parts.historyDays, inventory }, now, ctx.parts.rules));
}

/** `month` from the query when it is a valid YYYY-MM, else this month in the county's time zone. */
function monthOf(ctx: Ctx): string {
  const m = param(ctx.url, 'month', 7);
  if (m === '') return localMonth(ctx.parts.now(), ctx.tz);
  monthBounds(m, DEFAULT_TIMEZONE); // throws on a malformed month
  return m;
}

function month(ctx: Ctx): string {
  try {
    return monthOf(ctx);
  } catch {
    throw new HttpError(400, 'error.bad_request');
  }
}

export async function monthlyPage(ctx: Ctx): Promise<void> {
  const report = await monthlyReport(ctx.parts.store, month(ctx));
  sendHtml(ctx, 200, renderMonthly(ctx, report, param(ctx.url, 'town'), param(ctx.url, 'page', 8), localMonth(ctx.parts.now(), ctx.tz)));
}

export async function monthlyCsvDownload(ctx: Ctx): Promise<void> {
  const report = await monthlyReport(ctx.parts.store, month(ctx));
  const name = `${ctx.lang === 'zh' ? '进度表' : 'progress'}-${report.month}.csv`;
  send(ctx.res, 200, localisedMonthlyCsv(report, ctx.t, ctx.lang), 'text/csv; charset=utf-8', {
    ...securityHeaders(ctx.parts.secure),
    'Cache-Control': 'no-store',
    'Content-Disposition': `attachment; filename="progress-${report.month}.csv"; filename*=UTF-8''${encodeURIComponent(name)}`,
  });
}

