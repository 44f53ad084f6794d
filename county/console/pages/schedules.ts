/**
 * The schedules page (播放计划): compose a class and send it to one station, a town or every station
 * (operators only: a viewer gets no form, and the server refuses a forged POST), the recent pushes, and
 * one push's progress: each station's answer as it arrives and the stations that have not answered.
 */
import { html, query, type Html } from '../html.js';
import { label, type T } from '../i18n.js';
import { csrfField, page, type PageContext } from '../layout.js';
import { STEP_ACTIONS } from '../../../protocol/schedule.js';
import { DAYS, TARGETS, type FormProblem, type ScheduleFormValues } from '../schedule-form.js';
import { localTime } from '../time.js';

export interface RecentPush {
  push_id: string;
  action: string;
  sent_at: string;
  sent_by: string;
  stations: number;
  ok: number;
  error: number;
}

export interface SchedulesData {
  towns: Array<string | null>;
  /** Station ids for the input's suggestions (only for a county-sized fleet). */
  stationIds: string[];
  recent: RecentPush[];
  canSend: boolean;
  canSign: boolean;
}

const checked = (on: boolean) => (on ? html` checked` : '');
const selected = (on: boolean) => (on ? html` selected` : '');

function composeForm(ctx: PageContext, d: SchedulesData, v: ScheduleFormValues, problems: FormProblem[]): Html {
  const { t } = ctx;
  const targetLabel = { station: t('target.station'), town: t('target.town'), all: t('target.all') };
  const steps = v.steps.map(
    (s, i) => html`<tr><td>${i + 1}</td>
      <td><input name="step_device_${i}" value="${s.device}" maxlength="64" pattern="[a-z0-9][a-z0-9_\\-]*" aria-label="${t('field.device')} ${i + 1}"></td>
      <td><select name="step_action_${i}" aria-label="${t('field.action')} ${i + 1}">${STEP_ACTIONS.map((a) => html`<option value="${a}"${selected(a === s.action)}>${label(t, 'action', a)}</option>`)}</select></td>
      <td><input name="step_value_${i}" value="${s.value}" maxlength="32" aria-label="${t('field.value')} ${i + 1}"></td>
      <td><select name="step_wait_${i}" aria-label="${t('field.wait_for')} ${i + 1}"><option value=""></option>${(['on', 'off'] as const).map((w) => html`<option value="${w}"${selected(w === s.wait_for)}>${label(t, 'power', w)}</option>`)}</select></td></tr>`,
  );
  return html`
${problems.length ? html`<div class="problems" role="alert"><p>${t('form.invalid')}</p><ul>${problems.map((p) => html`<li>${t(p.key, p.params)}</li>`)}</ul></div>` : ''}
<form method="post" action="/schedules" class="compose" id="compose">${csrfField(ctx)}
<fieldset><legend>${t('schedules.target')}</legend>
  ${TARGETS.map((x) => html`<label class="choice"><input type="radio" name="target" value="${x}"${checked(v.target === x)}> ${targetLabel[x]}</label>`)}
  <label>${t('field.town')} <select name="town">${d.towns.map((x) => html`<option value="${x ?? ''}"${selected((x ?? '') === v.town)}>${x ?? t('monthly.no_town')}</option>`)}</select></label>
  <label>${t('field.station')} <input name="station" value="${v.station}" maxlength="128" list="station-ids"></label>
  ${d.stationIds.length ? html`<datalist id="station-ids">${d.stationIds.map((id) => html`<option value="${id}">`)}</datalist>` : ''}
</fieldset>
<fieldset><legend>${t('field.mode')}</legend>
  <label class="choice"><input type="radio" name="mode" value="set"${checked(v.mode === 'set')}> ${t('mode.set')}</label>
  <label class="choice"><input type="radio" name="mode" value="delete"${checked(v.mode === 'delete')}> ${t('mode.delete')}</label>
</fieldset>
<fieldset class="grid">
  <label>${t('field.id')} <input name="id" value="${v.id}" required maxlength="64" pattern="[a-z0-9][a-z0-9_\\-]*"></label>
  <label>${t('field.name')} <input name="name" value="${v.name}" maxlength="100"></label>
  <div class="days"><span>${t('field.days')}</span>${DAYS.map((day) => html`<label class="choice"><input type="checkbox" name="days" value="${day}"${checked(v.days.includes(day))}> ${t(`day.${day}`)}</label>`)}</div>
  <label>${t('field.time')} <input type="time" name="time" value="${v.time}"></label>
  <label>${t('field.cron')} <input name="cron" value="${v.cron}" maxlength="100" placeholder="0 20 * * 2"></label>
  <label>${t('field.duration')} <input type="number" name="duration" value="${v.duration}" min="1" max="1440" step="1"></label>
  <label class="choice"><input type="checkbox" name="enabled"${checked(v.enabled)}> ${t('field.enabled')}</label>
</fieldset>
<fieldset><legend>${t('field.steps')}</legend>
<table class="steps"><thead><tr><th>#</th><th>${t('field.device')}</th><th>${t('field.action')}</th><th>${t('field.value')}</th><th>${t('field.wait_for')}</th></tr></thead><tbody>${steps}</tbody></table>
</fieldset>
<button type="submit" class="primary">${t('schedules.send')}</button>
</form>`;
}

export function renderSchedules(ctx: PageContext, d: SchedulesData, v: ScheduleFormValues, problems: FormProblem[] = []): string {
  const { t } = ctx;
  const recent = d.recent.map(
    (p) => html`<tr><td><a href="/push${query({ id: p.push_id })}">${localTime(p.sent_at, ctx.tz)}</a></td><td>${p.sent_by}</td><td>${p.action}</td>
      <td class="num">${p.stations}</td><td class="num">${p.ok}</td><td class="num${p.error ? ' bad' : ''}">${p.error}</td><td class="num">${p.stations - p.ok - p.error}</td></tr>`,
  );
  const compose = !d.canSend
    ? html`<p class="note" id="viewer-note">${t('schedules.viewer')}</p>`
    : !d.canSign
      ? html`<p class="note bad">${t('schedules.no_key')}</p>`
      : composeForm(ctx, d, v, problems);
  const body = html`
<section><h2>${t('schedules.compose')}</h2>${compose}</section>
<section><h2>${t('schedules.recent')}</h2>
${d.recent.length ? html`<table id="recent-pushes"><thead><tr><th>${t('col.sent_at')}</th><th>${t('col.sent_by')}</th><th>${t('col.action')}</th><th>${t('col.stations')}</th>
  <th>${t('col.answered_ok')}</th><th>${t('col.answered_error')}</th><th>${t('col.pending')}</th></tr></thead><tbody>${recent}</tbody></table>` : html`<p class="muted">${t('station.no_rows')}</p>`}
</section>`;
  return page(ctx, { title: t('nav.schedules'), nav: 'schedules', body });
}
