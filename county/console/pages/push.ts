/**
 * One push's progress: what was sent (in words, not JSON), each station's answer as it arrives (the page
 * polls /push.json) and the stations that have not answered.
 */
import type { PushRow } from '../../store.js';
import { html, query, type Html } from '../html.js';
import { CONSOLE_CATALOGUES, label, type ConsoleKey, type T } from '../i18n.js';
import { page, type PageContext } from '../layout.js';
import { ownWords } from '../station-words.js';
import { localTime } from '../time.js';

export function pushSummary(rows: readonly PushRow[]): { ok: number; error: number; pending: number } {
  const ok = rows.filter((r) => r.status === 'ok').length;
  const error = rows.filter((r) => r.status === 'error').length;
  return { ok, error, pending: rows.length - ok - error };
}

/**
 * A station's answer in the reader's words: an error by its code (the station's English message on
 * hover), an unknown code as the station's own words (marked), or the changed schedule ids.
 */
export function answerWords(t: T, row: PushRow): { text: string; own: boolean; title: string } {
  const none = { text: '', own: false, title: '' };
  if (row.response === null) return none;
  try {
    const r = JSON.parse(row.response) as { data?: { ids?: unknown }; error?: { code?: unknown; message?: unknown } };
    if (r.error) {
      const code = typeof r.error.code === 'string' ? r.error.code : '';
      const message = (typeof r.error.message === 'string' ? r.error.message : '').slice(0, 300);
      const key = `answer.${code}`;
      if (Object.hasOwn(CONSOLE_CATALOGUES.en, key)) return { text: t(key as ConsoleKey), own: false, title: message };
      return { text: `${code}: ${message}`.slice(0, 300), own: true, title: '' };
    }
    return Array.isArray(r.data?.ids) ? { ...none, text: r.data.ids.join(', ').slice(0, 300) } : none;
  } catch {
    return none;
  }
}

function answerHtml(t: T, row: PushRow): Html {
  const a = answerWords(t, row);
  return a.own ? ownWords(t, a.text) : a.title ? html`<span title="${a.title}">${a.text}</span>` : html`${a.text}`;
}

const WEEKLY = /^(\d{1,2}) (\d{1,2}) \* \* ([0-6](?:,[0-6])*)$/;

/** A `schedule.set` as a clerk reads it: 计划 winter-class（冬季培训）：每周二、周四 19:30，90 分钟；步骤：… */
export function describeArgs(t: T, argsJson: string): string {
  let args: Record<string, unknown>;
  try {
    args = JSON.parse(argsJson) as Record<string, unknown>;
  } catch {
    return '';
  }
  if (typeof args['delete'] === 'string') return t('push.delete', { id: args['delete'] });
  const s = args['schedule'] as { id?: string; name?: string; cron?: string; duration_min?: number; steps?: Array<{ device: string; action: string; value: unknown }> } | undefined;
  if (!s) return argsJson.slice(0, 300);
  const m = WEEKLY.exec(s.cron ?? '');
  const when = m
    ? t('push.when_days', { days: m[3]!.split(',').map((d) => t(`day.${d}` as ConsoleKey)).join(t('list.sep')), time: `${m[2]!.padStart(2, '0')}:${m[1]!.padStart(2, '0')}` })
    : `cron ${s.cron ?? ''}`;
  const steps = (s.steps ?? []).map((x) => `${x.device} ${label(t, 'action', x.action)} ${label(t, 'power', String(x.value))}`).join(' → ');
  return t('push.describe', { id: s.id ?? '', name: s.name ? `（${s.name}）` : '', when, minutes: s.duration_min ?? '', steps });
}

/** A push to a whole province has 20,000 rows: the page lists failures, then the silent, then the rest, up to this many. */
export const PUSH_ROWS_SHOWN = 1000;
const PENDING_NAMES_SHOWN = 100;
const ORDER = { error: 0, sent: 1, ok: 2 } as const;

/** The rows the page shows (and its poll updates): failures and unanswered first, by station id. */
export function shownRows(rows: readonly PushRow[]): PushRow[] {
  const sorted = rows.length > PUSH_ROWS_SHOWN ? [...rows].sort((a, b) => ORDER[a.status] - ORDER[b.status] || (a.station_id < b.station_id ? -1 : 1)) : [...rows];
  return sorted.slice(0, PUSH_ROWS_SHOWN);
}

export function pushJson(t: T, rows: readonly PushRow[], tzOf: (station: string) => string): Record<string, unknown> {
  return {
    ...pushSummary(rows),
    rows: shownRows(rows).map((r) => ({ station: r.station_id, status: r.status, answer: answerWords(t, r), responded_at: localTime(r.responded_at, tzOf(r.station_id), true) })),
  };
}

export function renderPush(ctx: PageContext, rows: readonly PushRow[], names: ReadonlyMap<string, { name: string | null; town: string | null }>, tzOf: (station: string) => string): string {
  const { t } = ctx;
  const first = rows[0]!;
  const s = pushSummary(rows);
  const nameOf = (id: string) => names.get(id)?.name ?? id;
  const waiting = rows.filter((r) => r.status === 'sent');
  const pending = waiting.slice(0, PENDING_NAMES_SHOWN).map((r) => nameOf(r.station_id));
  const more = waiting.length > PENDING_NAMES_SHOWN ? t('push.more', { n: waiting.length - PENDING_NAMES_SHOWN }) : '';
  const status = (r: PushRow) => html`<span class="badge ${r.status === 'ok' ? 'online' : r.status === 'error' ? 'offline' : 'unknown'}">${t(`push.status.${r.status}`)}</span>`;
  const body = html`
<p class="summary" id="push-summary" data-push="${first.push_id}">${t('push.summary', s)}</p>
<p id="push-what">${describeArgs(t, first.args)}<br><span class="muted">${localTime(first.sent_at, ctx.tz, true)} · ${first.sent_by}</span></p>
<p id="push-pending" class="${pending.length ? 'warn' : ''}">${pending.length ? `${t('push.unanswered')} ${pending.join(t('list.sep'))}${more}` : t('push.all_answered')}</p>
<table id="push-rows" data-push="${first.push_id}" data-complete="${rows.length <= PUSH_ROWS_SHOWN ? 'yes' : 'no'}"><thead><tr><th>${t('col.station')}</th><th>${t('col.town')}</th><th>${t('col.state')}</th><th>${t('col.response')}</th><th>${t('col.responded_at')}</th></tr></thead>
<tbody>${shownRows(rows).map(
    (r) => html`<tr data-station="${r.station_id}" data-name="${nameOf(r.station_id)}" data-status="${r.status}"><td><a href="/station${query({ id: r.station_id })}">${nameOf(r.station_id)}</a> <span class="muted">${r.station_id}</span></td>
      <td>${names.get(r.station_id)?.town ?? ''}</td><td>${status(r)}</td><td>${answerHtml(t, r)}</td><td>${localTime(r.responded_at, tzOf(r.station_id), true)}</td></tr>`,
  )}</tbody></table>
<template id="push-labels" data-sent="${t('push.status.sent')}" data-ok="${t('push.status.ok')}" data-error="${t('push.status.error')}"
  data-summary="${t('push.summary', { ok: '{ok}', error: '{error}', pending: '{pending}' })}" data-unanswered="${t('push.unanswered')}" data-all="${t('push.all_answered')}" data-sep="${t('list.sep')}"
  data-own-tag="${t('own.tag')}" data-own-title="${t('own.title')}"></template>`;
  const action = first.action === 'schedule.set' ? t('cmd.schedule.set') : first.action;
  return page(ctx, { title: t('push.title', { action, n: rows.length }), nav: 'schedules', body, script: true });
}
