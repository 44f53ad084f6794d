/**
 * Visit items in the clerk's words, for the fleet and station pages: why a station needs a visit (the
 * visit rule's causes, county/visits.ts), where the item stands (待处理 / 已确认 / 已清除, who and when),
 * the operator's buttons, and why a scheduled class failed, step by step.
 */
import type { OpeningHours } from '../../protocol/opening-hours.js';
import type { VisitCause } from '../visits.js';
import { visitState, type VisitRow } from '../visit-store.js';
import { VISIT_NOTE_MAX } from '../visit-store.js';
import { scopeOf } from './access.js';
import { html, type Html } from './html.js';
import { CONSOLE_CATALOGUES, label, type ConsoleKey, type T } from './i18n.js';
import { csrfField, type PageContext } from './layout.js';
import { clip, faultsHtml, ownWords, tHtml } from './station-words.js';
import { ageParts, localTime } from './time.js';

export const age = (t: T, s: number): string => {
  const { n, unit } = ageParts(s);
  return t(`age.${unit}`, { n });
};

const steps = (t: T, done: number | null, total: number | null): string => (total ? t('outcome.steps', { ok: done ?? 0, total }) : '');

/** A device of the station in words (device-names.ts: its configured name); without its inventory, its id. */
export type DeviceWords = (device: string) => string;
const byId: DeviceWords = (device) => clip(device);

/**
 * Why a visit is needed, in words (`tz`: the station's zone, for a class's time). `history`: as it was
 * when the item opened (no "… ago", which was then). `device`: a device's words.
 */
export function causeText(ctx: PageContext, c: VisitCause, tz: string, history = false, device: DeviceWords = byId): Html | string {
  const { t } = ctx;
  if (history && (c.kind === 'offline' || c.kind === 'silent')) return kindLabel(t, c.kind);
  switch (c.kind) {
    case 'offline':
      return c.lost_s === null ? t('visit.offline_since_unknown') : t('visit.offline', { age: age(t, c.lost_s) });
    case 'silent':
      return t('visit.silent', { age: age(t, c.lost_s) });
    case 'never':
      return t('visit.never');
    case 'fault':
      return tHtml(t, 'visit.fault', { device: device(c.device), text: faultsHtml(ctx, c.errors, c.unread) });
    case 'lamp':
      return t('visit.lamp', { device: device(c.device ?? '?'), hours: c.hours ?? '?' });
    case 'outbox':
      return t('visit.outbox', { n: c.n });
    case 'class_failed':
      return t(c.phase === 'start' ? 'visit.class_start' : 'visit.class_end', { schedule: clip(c.schedule), time: localTime(c.ts, tz), steps: steps(t, c.done, c.total) });
  }
}

const DAY_KEY: Record<string, ConsoleKey> = { mon: 'day.1', tue: 'day.2', wed: 'day.3', thu: 'day.4', fri: 'day.5', sat: 'day.6', sun: 'day.0' };

/** A station's declared opening hours in words: 周一、周二 08:00–17:30；周六 19:00–次日 02:00. */
export function openingHoursText(t: T, hours: OpeningHours | null): string {
  if (!hours) return t('hours.always');
  return hours
    .map((r) => {
      const crosses = r.to !== '24:00' && r.to <= r.from;
      return t('hours.range', { days: r.days.map((d) => t(DAY_KEY[d]!)).join(t('list.sep')), from: r.from, to: crosses ? t('hours.next_day', { to: r.to }) : r.to });
    })
    .join(t('hours.sep'));
}

/** What kind of cause an item is about, when its stored words cannot be read. */
export const kindLabel = (t: T, kind: string): string => {
  const key = `visit.kind.${kind}`;
  return Object.hasOwn(CONSOLE_CATALOGUES.en, key) ? t(key as ConsoleKey) : clip(kind);
};

/** Why a present cause is not (yet) a visit: outside opening hours, or not yet past the threshold. */
export function pendingText(t: T, c: VisitCause, open: boolean): string {
  if (!c.pending) return '';
  if (c.kind === 'class_failed') return t('visit.pending_old');
  return open ? t('visit.pending_threshold') : t('visit.pending_closed');
}

/** Where an item stands: 待处理, 已确认（who, when, note）, 已清除（who or the station itself, when）. */
export function visitStateHtml(ctx: PageContext, v: VisitRow, tz: string): Html {
  const { t } = ctx;
  const state = visitState(v);
  const note = v.note ? html` <q class="visit-note">${clip(v.note)}</q>` : '';
  if (state === 'active') return html`<span class="vstate active" data-visit-state="active">${t('visit.state.active')}</span>`;
  if (state === 'acknowledged') {
    return html`<span class="vstate acked" data-visit-state="acknowledged">${t('visit.state.acknowledged', { by: clip(v.acked_by ?? ''), time: localTime(v.acked_at, tz) })}</span>${note}`;
  }
  const how = v.cleared_by === null ? t('visit.state.recovered', { time: localTime(v.cleared_at, tz) }) : t('visit.state.cleared', { by: clip(v.cleared_by), time: localTime(v.cleared_at, tz) });
  return html`<span class="vstate cleared" data-visit-state="cleared">${how}</span>${note}`;
}

/** The acknowledge (with an optional note) and clear buttons for an open item, for those who may (access.ts); nothing for a viewer. */
export function visitButtons(ctx: PageContext, v: VisitRow, back: string): Html {
  if (!scopeOf(ctx.signIn).canHandleVisits || v.cleared_at !== null) return html``;
  const { t } = ctx;
  const hidden = (action: 'ack' | 'clear') =>
    html`${csrfField(ctx)}<input type="hidden" name="station" value="${v.station_id}"><input type="hidden" name="id" value="${v.id}"><input type="hidden" name="do" value="${action}"><input type="hidden" name="back" value="${back}">`;
  return html`<span class="visit-do"><form method="post" action="/visit" class="inline visit-ack">${hidden('ack')}<input type="text" name="note" maxlength="${VISIT_NOTE_MAX}" placeholder="${t('visit.note')}" aria-label="${t('visit.note')}"> <button type="submit">${t(v.acked_at === null ? 'visit.ack' : 'visit.ack_again')}</button></form>
<form method="post" action="/visit" class="inline visit-clear">${hidden('clear')}<button type="submit">${t('visit.clear')}</button></form></span>`;
}

/** One failed step of a `schedule_run` event, as stored (read off the wire: anything may be missing). */
interface StepLike {
  device?: unknown;
  action?: unknown;
  value?: unknown;
  status?: unknown;
  error?: { code?: unknown; message?: unknown } | null;
}

const WHY = new Set(['timeout', 'disconnected', 'device_offline', 'invalid_args', 'not_found', 'unsupported', 'device_error', 'busy', 'auth', 'aborted', 'previous_step_failed', 'protocol', 'closed']);

/** Why one step did not go well: ours for a known code (the station's message on hover), else the station's words. */
export function stepWhy(t: T, s: StepLike): Html {
  const code = typeof s.error?.code === 'string' ? s.error.code : s.status === 'timeout' ? 'timeout' : '';
  const message = typeof s.error?.message === 'string' ? s.error.message : '';
  const key = `why.${code}`;
  if (WHY.has(code) && Object.hasOwn(CONSOLE_CATALOGUES.en, key)) return message ? html`<span title="${clip(message)}">${t(key as ConsoleKey)}</span>` : html`${t(key as ConsoleKey)}`;
  return ownWords(t, message || String(s.status ?? ''));
}

/** A step as a clerk reads it: 活动室投影机 电源 开. */
export const stepText = (t: T, s: StepLike, device: DeviceWords = byId): string =>
  `${device(typeof s.device === 'string' ? s.device : '?')} ${label(t, 'action', typeof s.action === 'string' ? s.action : '?')} ${label(t, 'power', String(s.value ?? ''))}`;

/** The steps of a `schedule_run` event that did not go well, each with why and the phase: the reason a class failed. */
export function failedSteps(t: T, event: Record<string, unknown>, device: DeviceWords = byId): Html[] {
  const data = event['data'] && typeof event['data'] === 'object' ? (event['data'] as Record<string, unknown>) : {};
  const list = Array.isArray(data['steps']) ? (data['steps'] as unknown[]) : [];
  const key: ConsoleKey = data['phase'] === 'start' ? 'why.at_start' : data['phase'] === 'end' ? 'why.at_end' : 'why.step';
  return list
    .filter((s): s is StepLike => s !== null && typeof s === 'object' && (s as StepLike).status !== 'ok')
    .slice(0, 10)
    .map((s) => html`<li class="step-failed">${tHtml(t, key, { step: stepText(t, s, device), why: stepWhy(t, s) })}</li>`);
}

/** The events of the same run as `event` (its `data.run_id`), oldest first; only itself when it names none. */
export function runEvents(events: ReadonlyArray<Record<string, unknown>>, event: Record<string, unknown>): Array<Record<string, unknown>> {
  const runOf = (e: Record<string, unknown>): unknown => (e['data'] && typeof e['data'] === 'object' ? (e['data'] as Record<string, unknown>)['run_id'] : undefined);
  const id = runOf(event);
  if (typeof id !== 'string') return [event];
  return events.filter((e) => runOf(e) === id).reverse();
}
