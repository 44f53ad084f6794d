/** The signed-in pages: fleet, station, monthly progress (+ CSV), schedules (+ push and its progress). */
import { monthBounds, monthlyReport, DEFAULT_TIMEZONE } from '../report.js';
import { seesStation, scopeTowns, visible } from './access.js';
import { sendHtml, sendJson, type Ctx } from './context.js';
import { requirePush, requireStation, requireTownFilter, scope, visibleStations } from './guard.js';
import { clientAddress, HttpError, param, redirect, send, securityHeaders } from './http.js';
import { renderFleet, STATE_FILTERS, type StateFilter } from './pages/fleet.js';
import { localisedMonthlyCsv, renderMonthly } from './pages/monthly.js';
import { pushJson, renderPush } from './pages/push.js';
import { renderSchedules, type SchedulesData } from './pages/schedules.js';
import { renderStation } from './pages/station.js';
import { buildScheduleArgs, emptyForm, readScheduleForm, type FormProblem, type ScheduleFormValues } from './schedule-form.js';
import { checkedForm } from './forms.js';
import { stationFleetRow } from './station-row.js';
import { localMonth } from './time.js';
import { currentVisits } from './visit-routes.js';
import { VISIT_HISTORY_SHOWN } from './pages/station-visits.js';
import { tellGroupsOfPush } from './push-news.js';

const PUSH_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const STATION_DATALIST_MAX = 1000;

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
  sendHtml(ctx, 200, renderFleet(ctx, rows, q, now, ctx.parts.rules, visits));
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
  const [usage, events, scheduleRuns, heartbeats, visitHistory] = await Promise.all([
    store.sessions({ station: id, limit: 20 }),
    store.events(id, 30),
    store.events(id, 200, ['schedule_run']),
    store.heartbeatHistory(id, now - ctx.parts.historyDays * 86_400_000),
    store.visitHistory(id, 2 * VISIT_HISTORY_SHOWN),
  ]);
  sendHtml(ctx, 200, renderStation(ctx, { row, devices, usage, events, scheduleRuns, heartbeats, historyDays: ctx.parts.historyDays, visits, visitHistory }, now, ctx.parts.rules));
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

async function schedulesData(ctx: Ctx): Promise<SchedulesData> {
  const stations = await visibleStations(ctx);
  return {
    towns: [...new Set(stations.map((s) => s.town))],
    stationIds: stations.length <= STATION_DATALIST_MAX ? stations.map((s) => s.station_id) : [],
    recent: await ctx.parts.store.recentPushes(20, scopeTowns(scope(ctx))),
    canSend: scope(ctx).canPush,
    canSign: ctx.parts.pusher?.canSign ?? false,
  };
}

export async function schedulesPage(ctx: Ctx): Promise<void> {
  sendHtml(ctx, 200, renderSchedules(ctx, await schedulesData(ctx), emptyForm()));
}

export { checkedForm };

/** The form's target as station ids; "all" is every station the account may see (a town account: its town). */
async function targets(ctx: Ctx, v: ScheduleFormValues): Promise<string[] | FormProblem> {
  const stations = v.target === 'all' ? await visibleStations(ctx) : await ctx.parts.store.stations();
  if (v.target === 'station') {
    return stations.some((s) => s.station_id === v.station) ? [v.station] : { key: 'form.no_station', params: { id: v.station } };
  }
  const ids = stations.filter((s) => v.target === 'all' || (s.town ?? '') === v.town).map((s) => s.station_id);
  return ids.length ? ids : { key: 'form.no_targets' };
}

export async function pushSchedule(ctx: Ctx): Promise<void> {
  const form = await checkedForm(ctx);
  // Checked on the server whatever the page showed: a viewer's forged POST ends here.
  if (!scope(ctx).canPush) throw new HttpError(403, 'error.forbidden');
  const pusher = ctx.parts.pusher;
  if (!pusher?.canSign) throw new HttpError(403, 'error.forbidden');
  const v = readScheduleForm(form);
  const built = buildScheduleArgs(v, ctx.tz);
  const to = await targets(ctx, v);
  // Every target in the account's towns, before the form is even judged: a town account naming another
  // town or its station ends here (403), whatever else the form holds.
  if (Array.isArray(to)) await requirePush(ctx, to);
  const problems = [...(built.ok ? [] : built.problems), ...(Array.isArray(to) ? [] : [to])];
  if (!built.ok || !Array.isArray(to)) {
    sendHtml(ctx, 400, renderSchedules(ctx, await schedulesData(ctx), v, problems));
    return;
  }
  // Checked again after the awaits above (the form, the store): an account changed or removed while this
  // request was being read sends nothing (issue row 2).
  if (!ctx.signIn || !ctx.parts.accounts.stillValid(ctx.signIn)) throw new HttpError(403, 'error.forbidden');
  const pushId = await pusher.send('schedule.set', built.args, to, ctx.signIn.user);
  const target = { kind: v.target, value: v.target === 'station' ? v.station : v.target === 'town' ? v.town : '' };
  await ctx.parts.audit.push({ push_id: pushId, action: 'schedule.set', args: built.args, target, stations: to.length }, ctx.signIn.user, clientAddress(ctx.req, ctx.parts.trustProxy));
  // Group notifications (county/notify/): the towns' groups hear of a push to a town or to all.
  await tellGroupsOfPush(ctx, v, built.args, to);
  redirect(ctx.res, `/push?id=${pushId}`);
}

async function pushRows(ctx: Ctx) {
  const id = param(ctx.url, 'id', 32);
  if (!PUSH_ID.test(id)) throw new HttpError(404, 'error.not_found');
  const all = await ctx.parts.store.push(id);
  if (all.length === 0) throw new HttpError(404, 'error.not_found');
  const s = scope(ctx);
  if (s.towns === null) return all;
  // A town account sees its own stations' rows of a push, and no push that reached none of them.
  const mine = new Set((await visibleStations(ctx)).map((r) => r.station_id));
  const rows = all.filter((r) => mine.has(r.station_id));
  if (rows.length === 0) throw new HttpError(403, 'error.other_town', { town: ctx.signIn?.town ?? '' });
  return rows;
}

export async function pushPage(ctx: Ctx): Promise<void> {
  const rows = await pushRows(ctx);
  const names = new Map((await ctx.parts.store.stations()).map((s) => [s.station_id, { name: s.name, town: s.town }]));
  sendHtml(ctx, 200, renderPush(ctx, rows, names, () => ctx.tz));
}

export async function pushProgress(ctx: Ctx): Promise<void> {
  sendJson(ctx, 200, pushJson(ctx.t, await pushRows(ctx), () => ctx.tz));
}
