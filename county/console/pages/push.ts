/**
 * One push's progress: what was sent and to whom, in words (not JSON, not `schedule.set`), each station's
 * answer as it arrives (the page polls /push.json), the stations still waiting and, once the wait is over
 * (push-status.ts), those that never answered.
 */
import type { PushRow } from '../../store.js';
import { html, query, type Html } from '../html.js';
import { CONSOLE_CATALOGUES, type ConsoleKey, type T } from '../i18n.js';
import { page, type PageContext } from '../layout.js';
import { pushCounts, shownStatus, type PushClock, type ShownStatus } from '../push-status.js';
import { argsLine, scheduleWords, type ScheduleLike, type WordsOf } from '../schedule-words.js';
import { clip, ownWords } from '../station-words.js';
import { localTime } from '../time.js';

/**
 * A station's answer in the reader's words: an error by its code (the station's English message on
 * hover), an unknown code as the station's own words (marked), or what it changed.
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
    const ids = Array.isArray(r.data?.ids) ? r.data.ids.filter((x): x is string => typeof x === 'string') : [];
    return ids.length ? { ...none, text: t('answer.ok', { ids: ids.join(t('list.sep')).slice(0, 300) }) } : none;
  } catch {
    return none;
  }
}

function answerHtml(t: T, row: PushRow): Html {
  const a = answerWords(t, row);
  return a.own ? ownWords(t, a.text) : a.title ? html`<span title="${a.title}">${a.text}</span>` : html`${a.text}`;
}

/** A push to a whole province has 20,000 rows: the page lists failures, then the silent, then the rest, up to this many. */
export const PUSH_ROWS_SHOWN = 1000;
const NAMES_SHOWN = 100;
const ORDER: Record<ShownStatus, number> = { error: 0, no_answer: 1, sent: 2, ok: 3 };

/** The rows the page shows (and its poll updates): failures and unanswered first, by station id. */
export function shownRows(rows: readonly PushRow[], c: PushClock): PushRow[] {
  const sorted = rows.length > PUSH_ROWS_SHOWN ? [...rows].sort((a, b) => ORDER[shownStatus(a, c)] - ORDER[shownStatus(b, c)] || (a.station_id < b.station_id ? -1 : 1)) : [...rows];
  return sorted.slice(0, PUSH_ROWS_SHOWN);
}

export function pushJson(t: T, rows: readonly PushRow[], c: PushClock, tzOf: (station: string) => string): Record<string, unknown> {
  return {
    ...pushCounts(rows, c),
    rows: shownRows(rows, c).map((r) => ({ station: r.station_id, status: shownStatus(r, c), answer: answerWords(t, r), responded_at: localTime(r.responded_at, tzOf(r.station_id), true) })),
  };
}

const BADGE: Record<ShownStatus, string> = { ok: 'online', error: 'offline', sent: 'unknown', no_answer: 'silent' };

export interface PushPageData {
  rows: readonly PushRow[];
  names: ReadonlyMap<string, { name: string | null; town: string | null }>;
  /** The push's stations in words (to whom). */
  to: string;
  /** Device and input words for the schedule (from the stations' inventories). */
  words: WordsOf;
  /** The zone the schedule's times are in, in words. */
  zone: string;
  clock: PushClock;
  tzOf: (station: string) => string;
}

/** The schedule a push carried, line by line (empty for a delete, said by the title line). */
function whatHtml(d: PushPageData, argsJson: string): Html {
  let s: ScheduleLike | undefined;
  try {
    s = (JSON.parse(argsJson) as { schedule?: ScheduleLike }).schedule;
  } catch {
    s = undefined;
  }
  if (!s || !Array.isArray(s.steps)) return html``;
  const w = scheduleWords(d.words, s, d.zone);
  return html`<ul class="words"><li>${w.when}</li><li>${w.duration}</li>${w.steps.map((x) => html`<li>${x}</li>`)}<li>${w.end}</li>${w.disabled ? html`<li class="warn">${w.disabled}</li>` : ''}</ul>`;
}

function namesLine(t: T, label: string, names: string[], total: number, id: string, cls: string): Html {
  const more = total > names.length ? t('push.more', { n: total - names.length }) : '';
  return html`<p id="${id}" class="${names.length ? cls : ''}">${names.length ? `${label} ${names.join(t('list.sep'))}${more}` : ''}</p>`;
}

export function renderPush(ctx: PageContext, d: PushPageData): string {
  const { t } = ctx;
  const first = d.rows[0]!;
  const c = d.clock;
  const n = pushCounts(d.rows, c);
  const nameOf = (id: string) => clip(d.names.get(id)?.name ?? id);
  const waiting = d.rows.filter((r) => shownStatus(r, c) === 'sent');
  const silent = d.rows.filter((r) => shownStatus(r, c) === 'no_answer');
  const status = (s: ShownStatus) => html`<span class="badge ${BADGE[s]}">${t(`push.status.${s}`)}</span>`;
  const minutes = Math.round(c.timeoutMs / 60_000);
  const body = html`
<p class="summary" id="push-summary" data-push="${first.push_id}" data-ok="${n.ok}" data-error="${n.error}" data-pending="${n.pending}" data-silent="${n.silent}">${t('push.summary', { ...n })}</p>
<section id="push-what"><h2>${argsLine(d.words, first.args)}</h2>${whatHtml(d, first.args)}
<p id="push-to">${t('push.to', { to: d.to })}</p>
<p class="muted">${localTime(first.sent_at, ctx.tz, true)} · ${first.sent_by}</p></section>
${namesLine(t, t('push.unanswered'), waiting.slice(0, NAMES_SHOWN).map((r) => nameOf(r.station_id)), waiting.length, 'push-pending', 'warn')}
${namesLine(t, t('push.silent'), silent.slice(0, NAMES_SHOWN).map((r) => nameOf(r.station_id)), silent.length, 'push-silent', 'bad')}
<p id="push-all" class="${waiting.length || silent.length ? 'hidden' : ''}">${t('push.all_answered')}</p>
<p class="muted" id="push-silent-note">${t('push.silent_note', { minutes })}</p>
<table id="push-rows" data-push="${first.push_id}" data-complete="${d.rows.length <= PUSH_ROWS_SHOWN ? 'yes' : 'no'}"><thead><tr><th>${t('col.station')}</th><th>${t('col.town')}</th><th>${t('col.state')}</th><th>${t('col.response')}</th><th>${t('col.responded_at')}</th></tr></thead>
<tbody>${shownRows(d.rows, c).map((r) => {
    const s = shownStatus(r, c);
    return html`<tr data-station="${r.station_id}" data-name="${nameOf(r.station_id)}" data-status="${s}"><td><a href="/station${query({ id: r.station_id })}">${nameOf(r.station_id)}</a> <span class="muted">${r.station_id}</span></td>
      <td>${clip(d.names.get(r.station_id)?.town ?? '')}</td><td>${status(s)}</td><td>${answerHtml(t, r)}</td><td>${localTime(r.responded_at, d.tzOf(r.station_id), true)}</td></tr>`;
  })}</tbody></table>
<template id="push-labels" data-sent="${t('push.status.sent')}" data-ok="${t('push.status.ok')}" data-error="${t('push.status.error')}" data-no_answer="${t('push.status.no_answer')}"
  data-summary="${t('push.summary', { ok: '{ok}', error: '{error}', pending: '{pending}', silent: '{silent}' })}" data-unanswered="${t('push.unanswered')}" data-silent="${t('push.silent')}" data-sep="${t('list.sep')}"
  data-own-tag="${t('own.tag')}" data-own-title="${t('own.title')}"></template>`;
  const action = first.action === 'schedule.set' ? t('cmd.schedule.set') : clip(first.action);
  return page(ctx, { title: t('push.title', { action, n: d.rows.length }), nav: 'schedules', body, script: true });
}
