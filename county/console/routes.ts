/** The signed-in pages: fleet, station, monthly progress (+ CSV), schedules (+ push and its progress). */
import { monthBounds, monthlyReport, DEFAULT_TIMEZONE } from '../report.js';
import { sendHtml, sendJson, type Ctx } from './context.js';
import { field, HttpError, param, readForm, redirect, send, securityHeaders, sameOrigin } from './http.js';
import { renderFleet, STATE_FILTERS, type StateFilter } from './pages/fleet.js';
import { localisedMonthlyCsv, renderMonthly } from './pages/monthly.js';
import { pushJson, renderPush } from './pages/push.js';
import { renderSchedules, type SchedulesData } from './pages/schedules.js';
import { renderStation } from './pages/station.js';
import { buildScheduleArgs, emptyForm, readScheduleForm, type FormProblem, type ScheduleFormValues } from './schedule-form.js';
import { sameToken } from './sign-ins.js';
import { stationFleetRow } from './station-row.js';
import { localMonth } from './time.js';
import { queuePushNews } from './push-news.js';
import { NOTIFY_ROWS, renderNotify } from './pages/notify.js';

const PUSH_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const STATION_DATALIST_MAX = 1000;

export async function fleetPage(ctx: Ctx): Promise<void> {
  const state = param(ctx.url, 'state', 16) as StateFilter;
  const q = {
    town: param(ctx.url, 'town'),
    state: STATE_FILTERS.includes(state) ? state : 'all',
    q: param(ctx.url, 'q', 64),
    page: param(ctx.url, 'page', 8),
  };
  const rows = await ctx.parts.store.fleet();
  sendHtml(ctx, 200, renderFleet(ctx, rows, q, ctx.parts.now(), ctx.parts.rules));
}

export async function stationPage(ctx: Ctx): Promise<void> {
  const id = param(ctx.url, 'id');
  const { store } = ctx.parts;
  const devices = await store.devices(id);
  const row = id === '' ? undefined : await stationFleetRow(store, id, devices);
  if (!row) throw new HttpError(404, 'error.not_found');
  const now = ctx.parts.now();
  const [usage, events, scheduleRuns, heartbeats] = await Promise.all([
    store.usageRecords(id, 20),
    store.events(id, 30),
    store.events(id, 200, ['schedule_run']),
    store.heartbeatHistory(id, now - ctx.parts.historyDays * 86_400_000),
  ]);
  sendHtml(ctx, 200, renderStation(ctx, { row, devices, usage, events, scheduleRuns, heartbeats, historyDays: ctx.parts.historyDays }, now, ctx.parts.rules));
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

async function schedulesData(ctx: Ctx): Promise<SchedulesData> {
  const stations = await ctx.parts.store.stations();
  return {
    towns: [...new Set(stations.map((s) => s.town))],
    stationIds: stations.length <= STATION_DATALIST_MAX ? stations.map((s) => s.station_id) : [],
    recent: await ctx.parts.store.recentPushes(20),
    canSend: ctx.signIn?.role === 'operator',
    canSign: ctx.parts.pusher?.canSign ?? false,
  };
}

export async function schedulesPage(ctx: Ctx): Promise<void> {
  sendHtml(ctx, 200, renderSchedules(ctx, await schedulesData(ctx), emptyForm()));
}

/** Every POST: from our own origin, with the session's CSRF token. */
export async function checkedForm(ctx: Ctx): Promise<URLSearchParams> {
  const form = await readForm(ctx.req);
  if (!sameOrigin(ctx.req) || !sameToken(field(form, '_csrf', 128), ctx.signIn?.csrf)) throw new HttpError(403, 'error.csrf');
  return form;
}

async function targets(ctx: Ctx, v: ScheduleFormValues): Promise<string[] | FormProblem> {
  const stations = await ctx.parts.store.stations();
  if (v.target === 'station') {
    return stations.some((s) => s.station_id === v.station) ? [v.station] : { key: 'form.no_station', params: { id: v.station } };
  }
  const ids = stations.filter((s) => v.target === 'all' || (s.town ?? '') === v.town).map((s) => s.station_id);
  return ids.length ? ids : { key: 'form.no_targets' };
}

export async function pushSchedule(ctx: Ctx): Promise<void> {
  const form = await checkedForm(ctx);
  // Checked on the server whatever the page showed: a viewer's forged POST ends here.
  if (ctx.signIn?.role !== 'operator') throw new HttpError(403, 'error.forbidden');
  const pusher = ctx.parts.pusher;
  if (!pusher?.canSign) throw new HttpError(403, 'error.forbidden');
  const v = readScheduleForm(form);
  const built = buildScheduleArgs(v, ctx.tz);
  const to = await targets(ctx, v);
  const problems = [...(built.ok ? [] : built.problems), ...(Array.isArray(to) ? [] : [to])];
  if (!built.ok || !Array.isArray(to)) {
    sendHtml(ctx, 400, renderSchedules(ctx, await schedulesData(ctx), v, problems));
    return;
  }
  // Checked again after the awaits above (the form, the store): an account changed or removed while this
  // request was being read sends nothing (issue row 2).
  if (!ctx.parts.accounts.stillValid(ctx.signIn.user, ctx.signIn.role, ctx.signIn.hash)) throw new HttpError(403, 'error.forbidden');
  const pushId = await pusher.send('schedule.set', built.args, to, ctx.signIn.user);
  await tellGroups(ctx, v, built.args, to);
  redirect(ctx.res, `/push?id=${pushId}`);
}

/** The towns' groups hear of a push to a town or to all (county/notify/); the push stands whatever happens here. */
async function tellGroups(ctx: Ctx, v: ScheduleFormValues, args: Record<string, unknown>, sent: readonly string[]): Promise<void> {
  try {
    const ids = new Set(sent);
    const stations = (await ctx.parts.store.stations()).filter((s) => ids.has(s.station_id));
    await queuePushNews(ctx.parts.store.notify, { target: v.target, town: v.town }, args, stations, ctx.parts.now());
  } catch (err) {
    ctx.parts.log.error({ err: (err as Error).message }, 'could not queue the group notifications of a push');
  }
}

async function pushRows(ctx: Ctx) {
  const id = param(ctx.url, 'id', 32);
  if (!PUSH_ID.test(id)) throw new HttpError(404, 'error.not_found');
  const rows = await ctx.parts.store.push(id);
  if (rows.length === 0) throw new HttpError(404, 'error.not_found');
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

const TARGET_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The group notifications page: everything for operators, the history for viewers (pages/notify.ts). */
export async function notifyPage(ctx: Ctx): Promise<void> {
  const q = ctx.parts.store.notify;
  const operator = ctx.signIn?.role === 'operator';
  const history = await q.notifyHistory(NOTIFY_ROWS);
  if (!operator) {
    sendHtml(ctx, 200, renderNotify(ctx, { operator, targets: [], counts: [], queued: [], failed: [], history, tested: null }));
    return;
  }
  const [targets, counts, queued, failed] = await Promise.all([q.notifyTargets(), q.notifyCounts(), q.notifyQueued(NOTIFY_ROWS), q.notifyFailed(NOTIFY_ROWS)]);
  const tested = param(ctx.url, 'tested', 64);
  sendHtml(ctx, 200, renderNotify(ctx, { operator, targets, counts, queued, failed, history, tested: targets.some((t) => t.id === tested) ? tested : null }));
}

/** "Send a test message": queued for the collector to send, to one target the notify file names. */
export async function notifyTest(ctx: Ctx): Promise<void> {
  const form = await checkedForm(ctx);
  if (ctx.signIn?.role !== 'operator') throw new HttpError(403, 'error.forbidden');
  const id = field(form, 'target', 64);
  const q = ctx.parts.store.notify;
  if (!TARGET_ID.test(id) || !(await q.notifyTargets()).some((t) => t.id === id)) throw new HttpError(400, 'error.bad_request');
  await q.enqueue([{ target: id, notice: { kind: 'test', town: null, station_id: null, station_name: null } }], ctx.parts.now());
  ctx.parts.log.info({ target: id, user: ctx.signIn.user }, 'test message queued');
  redirect(ctx.res, `/notify?tested=${encodeURIComponent(id)}`);
}
