/**
 * The two halves of composing a push, both plain forms that work without a script: who gets it (one
 * station found by name or id, one town, or every station: three small forms, nothing preselected), then
 * the schedule with only the steps the chosen stations' devices take (device-choices.ts). The script only
 * shows the value field when a step needs one.
 */
import { html, query, type Html } from '../html.js';
import type { FormProblem, T } from '../i18n.js';
import { csrfField, type PageContext } from '../layout.js';
import { stepOptions, type Offer } from '../device-choices.js';
import { DAYS, type ScheduleFormValues } from '../schedule-form.js';
import type { StationRef, TargetChoice } from '../targets.js';
import { clip } from '../station-words.js';

const checked = (on: boolean) => (on ? html` checked` : '');
const selected = (on: boolean) => (on ? html` selected` : '');

/** A station as the search suggests it: "name（id）", which the search reads back exactly. */
export const stationSuggestion = (s: Pick<StationRef, 'station_id' | 'name'>): string => (s.name ? `${clip(s.name)}（${s.station_id}）` : s.station_id);

export function problemsHtml(t: T, problems: readonly FormProblem[]): Html {
  return problems.length ? html`<div class="problems" role="alert"><p>${t('form.invalid')}</p><ul>${problems.map((p) => html`<li>${t(p.key, p.params)}</li>`)}</ul></div>` : html``;
}

export interface PickerData {
  towns: string[];
  stationCount: number;
  /** For the search's suggestions (a county's worth; none for a province, where typing narrows). */
  suggestions: StationRef[];
  choice: TargetChoice;
  /** Several stations fit what was typed: the clerk picks one. */
  matches?: StationRef[];
  problem?: FormProblem;
}

export function targetPicker(ctx: PageContext, d: PickerData): Html {
  const { t } = ctx;
  const station = d.choice.kind === 'station' ? d.choice.station : '';
  const matches = d.matches?.length
    ? html`<div class="note" id="station-matches"><p>${t('pick.matches', { n: d.matches.length, q: station })}</p><ul>${d.matches.map(
        (s) => html`<li><a href="/schedules${query({ target: 'station', station: s.station_id })}">${stationSuggestion(s)}</a> <span class="muted">${clip(s.town ?? t('monthly.no_town'))}</span></li>`,
      )}</ul></div>`
    : '';
  return html`
${d.problem ? problemsHtml(t, [d.problem]) : ''}
<div class="pick" id="pick">
<form method="get" action="/schedules" class="pick-one" id="pick-station"><input type="hidden" name="target" value="station">
  <label>${t('pick.station')} <input type="search" name="station" value="${station}" maxlength="128" placeholder="${t('pick.station_hint')}" list="station-list" autocomplete="off" required></label>
  <button type="submit">${t('pick.find')}</button></form>
<form method="get" action="/schedules" class="pick-one" id="pick-town"><input type="hidden" name="target" value="town">
  <label>${t('pick.town')} <select name="town" required><option value=""${selected(d.choice.kind !== 'town')}>${t('pick.town_choose')}</option>${d.towns.map((x) => html`<option value="${x}"${selected(d.choice.kind === 'town' && d.choice.town === x)}>${clip(x)}</option>`)}</select></label>
  <button type="submit">${t('pick.town_go')}</button></form>
<form method="get" action="/schedules" class="pick-one" id="pick-all"><input type="hidden" name="target" value="all">
  <span>${t('pick.all', { n: d.stationCount })}</span> <button type="submit">${t('pick.all_go')}</button></form>
</div>
${d.suggestions.length ? html`<datalist id="station-list">${d.suggestions.map((s) => html`<option value="${stationSuggestion(s)}">`)}</datalist>` : ''}
${matches}`;
}

export interface ComposeData {
  /** The stations in words, and how to choose again. */
  to: string;
  choice: TargetChoice;
  offer: Offer;
}

function offerNote(t: T, o: Offer): Html {
  if (o.devices.length === 0) return html`<p class="note warn" id="no-devices">${t('compose.no_devices')}</p>`;
  const unreported = o.stations - o.reported;
  return html`${o.stations > 1 ? html`<p class="muted" id="common-note">${t('compose.common', { n: o.stations })}</p>` : ''}${unreported > 0 ? html`<p class="note" id="unreported-note">${t('compose.unreported', { n: unreported })}</p>` : ''}`;
}

/** The hidden fields that carry the choice of stations through the form and its confirmation. */
export const targetFields = (c: TargetChoice): Html =>
  html`<input type="hidden" name="target" value="${c.kind}"><input type="hidden" name="station" value="${c.station}"><input type="hidden" name="town" value="${c.town}">`;

export function composeForm(ctx: PageContext, d: ComposeData, v: ScheduleFormValues, problems: readonly FormProblem[]): Html {
  const { t } = ctx;
  const groups = d.offer.devices.map((dev) => ({ dev, options: stepOptions(t, dev) }));
  const steps = v.steps.map((s, i) => {
    const options = groups.map(
      ({ dev, options: opts }) =>
        html`<optgroup label="${dev.label}">${opts.map((o) => html`<option value="${o.value}"${o.needs ? html` data-needs="${o.needs}"` : ''}${selected(o.value === s.choice)}>${t('step.line', { device: dev.label, what: o.text })}</option>`)}</optgroup>`,
    );
    return html`<li class="step" data-step="${i}"><span class="step-n">${t('field.step', { n: i + 1 })}</span>
      <select name="step_${i}" aria-label="${t('field.step', { n: i + 1 })}"><option value="">${t('step.none')}</option>${options}</select>
      <label class="step-value">${t('field.step_value')} <input name="step_value_${i}" value="${s.value}" maxlength="32" autocomplete="off"></label>
      <label class="step-wait">${t('field.wait_for')} <select name="step_wait_${i}">${(['', 'on', 'off'] as const).map((w) => html`<option value="${w}"${selected(w === s.wait_for)}>${t(w === '' ? 'wait.none' : w === 'on' ? 'wait.on' : 'wait.off')}</option>`)}</select></label></li>`;
  });
  return html`
${problemsHtml(t, problems)}
<p id="compose-to">${t('pick.to', { to: d.to })} <a href="/schedules">${t('pick.change')}</a></p>
${offerNote(t, d.offer)}
<form method="post" action="/schedules" class="compose" id="compose">${csrfField(ctx)}${targetFields(d.choice)}
<fieldset><legend>${t('field.mode')}</legend>
  <label class="choice"><input type="radio" name="mode" value="set"${checked(v.mode === 'set')}> ${t('mode.set')}</label>
  <label class="choice"><input type="radio" name="mode" value="delete"${checked(v.mode === 'delete')}> ${t('mode.delete')}</label>
</fieldset>
<fieldset class="grid">
  <label>${t('field.id')} <input name="id" value="${v.id}" required maxlength="64" pattern="[a-z0-9][a-z0-9_\\-]*" placeholder="evening-class" title="${t('field.id_hint')}"></label>
  <label>${t('field.name')} <input name="name" value="${v.name}" maxlength="100"></label>
  <div class="days"><span>${t('field.days')}</span>${DAYS.map((day) => html`<label class="choice"><input type="checkbox" name="days" value="${day}"${checked(v.days.includes(day))}> ${t(`day.${day}`)}</label>`)}</div>
  <label>${t('field.time')} <input type="time" name="time" value="${v.time}"></label>
  <label>${t('field.duration')} <input type="number" name="duration" value="${v.duration}" min="1" max="1440" step="1"></label>
  <label class="choice"><input type="checkbox" name="enabled"${checked(v.enabled)}> ${t('field.enabled')}</label>
</fieldset>
<fieldset><legend>${t('field.steps')}</legend><ol class="steps">${steps}</ol></fieldset>
<button type="submit" name="do" value="review" class="primary">${t('schedules.review')}</button>
</form>`;
}
