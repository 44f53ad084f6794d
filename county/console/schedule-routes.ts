/**
 * The schedule push, from choosing the stations to following their answers:
 *
 *   GET  /schedules                 who gets it (and the history)
 *   GET  /schedules?target=…        the schedule form for those stations (their devices, what they take)
 *   POST /schedules  do=review      the form checked → the confirmation, in words (nothing signed yet)
 *   POST /schedules  do=edit        back to the form with its values
 *   POST /schedules  do=confirm     checked again, same as confirmed → signed and sent → /push?id=…
 *   GET  /push, /push.json          one push and its answers
 *
 * The stations come from resolveTargets (targets.ts) within pushScope, the account's towns (access.ts), so
 * a town account gets only its own wherever it asks ("all stations" is all of its own); a choice naming
 * another town or a station of one is refused (403, error.other_town) on the page and on every POST, and
 * requirePush (guard.ts) runs on the resolved stations before the form is judged. Only the confirmation
 * signs and sends, and it is the step the audit log records (once, with what was sent and to whom).
 */
import { tellGroupsOfPush } from './push-news.js';
import { scopeTowns } from './access.js';
import { sendHtml, sendJson, type Ctx } from './context.js';
import { offerFor, type Offer } from './device-choices.js';
import { checkedForm } from './forms.js';
import { requirePush, scope, visibleStations } from './guard.js';
import { clientAddress, field, HttpError, param, redirect } from './http.js';
import type { FormProblem, T } from './i18n.js';
import { zoneOf } from './layout.js';
import { pushJson, renderPush } from './pages/push.js';
import { renderConfirm, reviewDigest } from './pages/schedule-confirm.js';
import { stationSuggestion } from './pages/schedule-compose.js';
import { renderSchedules, type HistoryRow, type SchedulesData } from './pages/schedules.js';
import { PUSH_ANSWER_TIMEOUT_MS, summaryCounts, type PushClock } from './push-status.js';
import { buildScheduleArgs, emptyForm, readScheduleForm, readTargetChoice, type ScheduleFormValues } from './schedule-form.js';
import { argsLine, scheduleWords, type WordsOf } from './schedule-words.js';
import { clip } from './station-words.js';
import { canonicalChoice, inScope, outsideScope, readStoredTarget, resolveTargets, storedTarget, townCounts, townsOf, type Resolved, type StationRef, type TargetChoice, type TownScope } from './targets.js';
import { isTimeZone } from './time.js';

const PUSH_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const STATION_DATALIST_MAX = 1000;
/** A push's words name devices as the first this many of its stations' inventories do. */
const NAMING_STATIONS = 200;
const NAMES_LISTED = 100;

type Chosen = Extract<Resolved, { ok: true }>;

/**
 * The towns the signed-in account may push to (access.ts scopeOf: a town account's own town; undefined for
 * every town). The picker, the form, the confirmation and the send all keep to them.
 */
export function pushScope(ctx: Ctx): TownScope {
  const towns = scope(ctx).towns;
  return towns === null ? undefined : towns;
}

/**
 * The stations of a choice, within the account's towns. A choice that names another town, or a station of
 * one exactly (its id or name), is refused here (403, error.other_town), as requireTownFilter refuses
 * another town's filter: a town account learns nothing more of it than that it is not its own.
 */
async function resolveChoice(ctx: Ctx, all: readonly StationRef[], choice: TargetChoice): Promise<Resolved> {
  const towns = pushScope(ctx);
  const r = resolveTargets(all, choice, towns);
  if (!r.ok) {
    const outside = outsideScope(all, choice, towns);
    if (outside.length) await requirePush(ctx, outside.map((s) => s.station_id));
  }
  return r;
}

function pushClock(ctx: Ctx): PushClock {
  return { nowMs: ctx.parts.now(), timeoutMs: ctx.parts.pusher?.answerTimeoutMs ?? PUSH_ANSWER_TIMEOUT_MS };
}

const nameOf = (s: StationRef): string => clip(s.name ?? s.station_id);

/** Who gets it, in words, and the towns with their counts (none for one station or one town). */
function targetWords(t: T, r: Chosen): { to: string; towns: string } {
  const s = r.stations[0]!;
  if (r.kind === 'station') return { to: s.town ? t('target.station', { name: nameOf(s), id: s.station_id, town: clip(s.town) }) : t('target.station_no_town', { name: nameOf(s), id: s.station_id }), towns: '' };
  if (r.kind === 'town') return { to: t('target.town', { town: clip(r.town ?? ''), n: r.stations.length }), towns: '' };
  const towns = townCounts(r.stations);
  const list = towns.map((x) => t('target.town_count', { town: x.town === null ? t('monthly.no_town') : clip(x.town), n: x.n })).join(t('list.sep'));
  return { to: t('target.all', { n: r.stations.length }), towns: t('target.towns', { n: towns.length, list }) };
}

/** The zone the stations' schedules run in, in words: theirs when they share one, else "each station's local time". */
function zoneFor(ctx: Ctx, stations: readonly StationRef[]): string {
  const zones = new Set(stations.map((s) => (s.timezone && isTimeZone(s.timezone) ? s.timezone : ctx.tz)));
  return zones.size === 1 ? zoneOf(ctx, [...zones][0]!) : ctx.t('zone.local');
}

async function offerOf(ctx: Ctx, stations: readonly StationRef[]): Promise<Offer> {
  return offerFor(ctx.t, await ctx.parts.store.inventoryDevices(stations.map((s) => s.station_id)), stations.length);
}

const wordsOf = (t: T, offer: Offer): WordsOf => ({
  t,
  device: (id) => offer.devices.find((d) => d.id === id)?.label ?? clip(id),
  input: (device, code) => offer.devices.find((d) => d.id === device)?.inputs?.find((i) => i.code === code),
});

async function historyRows(ctx: Ctx, stations: readonly StationRef[]): Promise<HistoryRow[]> {
  const { t } = ctx;
  const byId = new Map(stations.map((s) => [s.station_id, s]));
  const clock = pushClock(ctx);
  const words: WordsOf = { t, device: (id) => clip(id) };
  // A town account's history: the pushes that reached its stations, counted over them (recentPushes with towns).
  return (await ctx.parts.store.recentPushes(20, scopeTowns(scope(ctx)))).map((p) => {
    const target = readStoredTarget(p.target);
    const one = target?.station ? byId.get(target.station) : undefined;
    const to =
      target?.kind === 'town' ? t('target.town', { town: clip(target.town ?? ''), n: p.stations })
      : target?.kind === 'all' ? t('target.all', { n: p.stations })
      : one ? t('target.station_no_town', { name: nameOf(one), id: one.station_id })
      : t('target.some', { n: p.stations });
    return { push_id: p.push_id, sent_at: p.sent_at, sent_by: p.sent_by, what: argsLine(words, p.args), to, stations: p.stations, counts: summaryCounts(p, clock) };
  });
}

/** The page for a choice of stations: the picker (with the matches or the problem), or the form for them. */
async function schedulesData(ctx: Ctx, choice: TargetChoice, stations: readonly StationRef[], r: Resolved, known?: Offer): Promise<SchedulesData> {
  const canSend = scope(ctx).canPush;
  const picker = {
    towns: townsOf(stations),
    stationCount: stations.length,
    suggestions: stations.length <= STATION_DATALIST_MAX ? [...stations] : [],
    choice,
    ...(!r.ok && r.matches ? { matches: r.matches } : {}),
    ...(!r.ok && r.problem && choice.kind !== '' ? { problem: r.problem } : {}),
  };
  const canSign = ctx.parts.pusher?.canSign ?? false;
  // Only for an account that may send, on a console that can sign: nobody else gets the form.
  const compose = r.ok && canSend && canSign ? { to: targetWords(ctx.t, r).to, choice: canonicalChoice(r), offer: known ?? (await offerOf(ctx, r.stations)) } : undefined;
  return { picker, ...(compose ? { compose } : {}), recent: await historyRows(ctx, stations), canSend, canSign };
}

export async function schedulesPage(ctx: Ctx): Promise<void> {
  const choice = readTargetChoice((name, max) => param(ctx.url, name, max));
  const all = await ctx.parts.store.stations();
  const stations = inScope(all, pushScope(ctx));
  const r = await resolveChoice(ctx, all, choice);
  sendHtml(ctx, 200, renderSchedules(ctx, await schedulesData(ctx, choice, stations, r), emptyForm(r.ok ? canonicalChoice(r) : choice)));
}

async function formAgain(ctx: Ctx, status: number, v: ScheduleFormValues, stations: readonly StationRef[], r: Resolved, problems: FormProblem[], offer?: Offer): Promise<void> {
  sendHtml(ctx, status, renderSchedules(ctx, await schedulesData(ctx, v.target, stations, r, offer), v, problems));
}

function confirmPage(ctx: Ctx, v: ScheduleFormValues, r: Chosen, offer: Offer, args: Record<string, unknown>, digest: string, changed: boolean): string {
  const { t } = ctx;
  const w = targetWords(t, r);
  const s = (args as { schedule?: Parameters<typeof scheduleWords>[1] }).schedule;
  const words = s ? scheduleWords(wordsOf(t, offer), s, zoneFor(ctx, r.stations)) : argsLine(wordsOf(t, offer), JSON.stringify(args));
  return renderConfirm(ctx, {
    choice: canonicalChoice(r),
    values: { ...v, target: canonicalChoice(r) },
    to: w.to,
    towns: w.towns,
    count: r.stations.length,
    stations: r.stations.slice(0, NAMES_LISTED).map((x) => stationSuggestion(x)),
    more: Math.max(0, r.stations.length - NAMES_LISTED),
    words,
    digest,
    changed,
  });
}

export async function pushSchedule(ctx: Ctx): Promise<void> {
  const form = await checkedForm(ctx);
  // Checked on the server whatever the page showed: a viewer's forged POST ends here.
  if (!scope(ctx).canPush) throw new HttpError(403, 'error.forbidden');
  const pusher = ctx.parts.pusher;
  if (!pusher?.canSign) throw new HttpError(403, 'error.forbidden');
  const v = readScheduleForm(form);
  const step = field(form, 'do', 16);
  const all = await ctx.parts.store.stations();
  const stations = inScope(all, pushScope(ctx));
  const r = await resolveChoice(ctx, all, v.target);
  if (!r.ok) return formAgain(ctx, 400, v, stations, r, r.problem ? [r.problem] : []);
  // Every resolved station in the account's towns, before the form is even judged (and so before anything
  // is signed): at every step, review and confirmation alike.
  const ids = r.stations.map((s) => s.station_id);
  await requirePush(ctx, ids);
  const offer = await offerOf(ctx, r.stations);
  if (step === 'edit') return formAgain(ctx, 200, v, stations, r, [], offer);
  const built = buildScheduleArgs(v, ctx.tz, offer);
  if (!built.ok) return formAgain(ctx, 400, v, stations, r, built.problems, offer);
  const digest = reviewDigest(built.args, ids);
  // Anything but a confirmation of exactly this (the form's own submit, a changed town) is shown first.
  if (step !== 'confirm' || field(form, 'review', 64) !== digest) {
    return sendHtml(ctx, step === 'confirm' ? 409 : 200, confirmPage(ctx, v, r, offer, built.args, digest, step === 'confirm'));
  }
  // Checked again after the awaits above (the form, the store): an account changed or removed while this
  // request was being read sends nothing (issue row 2).
  if (!ctx.signIn || !ctx.parts.accounts.stillValid(ctx.signIn)) throw new HttpError(403, 'error.forbidden');
  const pushId = await pusher.send('schedule.set', built.args, ids, ctx.signIn.user, storedTarget(r));
  // The push as sent, once: the confirmation is the step that signs (a review or a refused form is not a push).
  const c = canonicalChoice(r);
  const target = { kind: r.kind, value: r.kind === 'station' ? c.station : r.kind === 'town' ? c.town : '' };
  await ctx.parts.audit.push({ push_id: pushId, action: 'schedule.set', args: built.args, target, stations: ids.length }, ctx.signIn.user, clientAddress(ctx.req, ctx.parts.trustProxy));
  // The towns' groups hear of a push to a town or to every station (county/notify/, push-news.ts).
  await tellGroupsOfPush(ctx, { target: r.kind, town: r.kind === 'town' ? c.town : '' }, built.args, ids);
  redirect(ctx.res, `/push?id=${pushId}`);
}

async function pushRows(ctx: Ctx) {
  const id = param(ctx.url, 'id', 32);
  if (!PUSH_ID.test(id)) throw new HttpError(404, 'error.not_found');
  const all = await ctx.parts.store.push(id);
  if (all.length === 0) throw new HttpError(404, 'error.not_found');
  if (scope(ctx).towns === null) return all;
  // A town account sees its own stations' rows of a push, and no push that reached none of them.
  const mine = new Set((await visibleStations(ctx)).map((r) => r.station_id));
  const rows = all.filter((r) => mine.has(r.station_id));
  if (rows.length === 0) throw new HttpError(403, 'error.other_town', { town: ctx.signIn?.town ?? '' });
  return rows;
}

export async function pushPage(ctx: Ctx): Promise<void> {
  const { t } = ctx;
  const rows = await pushRows(ctx);
  const all = await ctx.parts.store.stations();
  const byId = new Map(all.map((s) => [s.station_id, s]));
  const ofPush = rows.map((r) => byId.get(r.station_id) ?? { station_id: r.station_id, name: null, town: null, timezone: null });
  const offer = await offerOf(ctx, ofPush.slice(0, NAMING_STATIONS));
  const target = readStoredTarget(rows[0]!.target);
  const chosen: Chosen = { ok: true, kind: target?.kind ?? 'all', stations: ofPush, town: target?.town ?? null };
  const w = targetWords(t, chosen);
  const to = target === null ? t('target.some', { n: rows.length }) : w.towns ? t('target.with_towns', w) : w.to;
  sendHtml(ctx, 200, renderPush(ctx, {
    rows,
    names: new Map(all.map((s) => [s.station_id, { name: s.name, town: s.town }])),
    to,
    words: wordsOf(t, offer),
    zone: zoneFor(ctx, ofPush),
    clock: pushClock(ctx),
    tzOf: (id) => byId.get(id)?.timezone ?? ctx.tz,
  }));
}

export async function pushProgress(ctx: Ctx): Promise<void> {
  const rows = await pushRows(ctx);
  const zones = new Map((await ctx.parts.store.stations()).map((s) => [s.station_id, s.timezone]));
  sendJson(ctx, 200, pushJson(ctx.t, rows, pushClock(ctx), (id) => zones.get(id) ?? ctx.tz));
}
