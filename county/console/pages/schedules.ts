/**
 * The schedules page (播放计划): who gets a push, the schedule composed from what their devices take
 * (operators only: a viewer gets no form, and the server refuses a forged POST), and the pushes sent
 * recently, in words: what went to whom, and how the stations answered.
 */
import { html, query, type Html } from '../html.js';
import type { FormProblem } from '../i18n.js';
import { page, type PageContext } from '../layout.js';
import type { PushCounts } from '../push-status.js';
import type { ScheduleFormValues } from '../schedule-form.js';
import { localTime } from '../time.js';
import { composeForm, targetPicker, type ComposeData, type PickerData } from './schedule-compose.js';

/** One push of the history, already in words. */
export interface HistoryRow {
  push_id: string;
  sent_at: string;
  sent_by: string;
  what: string;
  to: string;
  stations: number;
  counts: PushCounts;
}

export interface SchedulesData {
  picker: PickerData;
  /** Set once the stations are chosen: the schedule form for them. */
  compose?: ComposeData;
  recent: HistoryRow[];
  canSend: boolean;
  canSign: boolean;
}

function history(ctx: PageContext, rows: readonly HistoryRow[]): Html {
  const { t } = ctx;
  if (!rows.length) return html`<p class="muted">${t('station.no_rows')}</p>`;
  return html`<table id="recent-pushes"><thead><tr><th>${t('col.sent_at')}</th><th>${t('col.what')}</th><th>${t('col.to')}</th><th>${t('col.answers')}</th><th>${t('col.sent_by')}</th></tr></thead><tbody>${rows.map(
    (p) => html`<tr data-push="${p.push_id}"><td><a href="/push${query({ id: p.push_id })}">${localTime(p.sent_at, ctx.tz)}</a></td><td>${p.what}</td><td>${p.to}</td>
      <td class="${p.counts.error || p.counts.silent ? 'bad' : ''}">${t('push.summary_n', { ...p.counts })}</td><td>${p.sent_by}</td></tr>`,
  )}</tbody></table>`;
}

export function renderSchedules(ctx: PageContext, d: SchedulesData, v: ScheduleFormValues, problems: readonly FormProblem[] = []): string {
  const { t } = ctx;
  const compose = !d.canSend
    ? html`<p class="note" id="viewer-note">${t('schedules.viewer')}</p>`
    : !d.canSign
      ? html`<p class="note bad">${t('schedules.no_key')}</p>`
      : d.compose
        ? html`<h2>${t('schedules.compose_for')}</h2>${composeForm(ctx, d.compose, v, problems)}`
        : html`<h2>${t('schedules.pick')}</h2>${targetPicker(ctx, d.picker)}`;
  const body = html`
<section id="compose-section">${compose}</section>
<section><h2>${t('schedules.recent')}</h2>${history(ctx, d.recent)}</section>`;
  return page(ctx, { title: t('nav.schedules'), nav: 'schedules', body, script: true });
}
