/**
 * The step between the form and the stations: the schedule as people read it (days, time and zone, what
 * each device does) and exactly who gets it (how many stations, which towns), with 确认下发 / Confirm and
 * 返回修改 / Back. Nothing is signed or sent before Confirm; the form's values ride along as hidden fields
 * with a digest of what was shown, so a confirmation of something else (the values edited, a station
 * added to the town meanwhile) is shown again instead of sent.
 */
import { createHash } from 'node:crypto';
import { html, type Html } from '../html.js';
import { csrfField, page, type PageContext } from '../layout.js';
import type { ScheduleFormValues } from '../schedule-form.js';
import type { ScheduleWords } from '../schedule-words.js';
import type { TargetChoice } from '../targets.js';
import { targetFields } from './schedule-compose.js';

/** What was shown: the args as they will be signed and the stations they go to. */
export function reviewDigest(args: Record<string, unknown>, stationIds: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify({ args, stations: [...stationIds].sort() })).digest('hex').slice(0, 32);
}

/** The form's values as hidden fields (the confirmation posts them again, for Confirm or Back). */
function hiddenFields(v: ScheduleFormValues): Html {
  const f = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;
  return html`${f('mode', v.mode)}${f('id', v.id)}${f('name', v.name)}${v.days.map((d) => f('days', d))}${f('time', v.time)}${f('duration', v.duration)}${v.enabled ? f('enabled', 'on') : ''}${v.steps.map(
    (s, i) => html`${f(`step_${i}`, s.choice)}${f(`step_value_${i}`, s.value)}${f(`step_wait_${i}`, s.wait_for)}`,
  )}`;
}

export interface ConfirmData {
  choice: TargetChoice;
  values: ScheduleFormValues;
  /** To whom, in words, and the towns with their counts. */
  to: string;
  towns: string;
  count: number;
  /** Station names (at most a hundred) and how many more. */
  stations: string[];
  more: number;
  /** The schedule in words, or the one line of a delete. */
  words: ScheduleWords | string;
  digest: string;
  /** The confirmation posted was of something else: say so and ask again. */
  changed: boolean;
}

export function renderConfirm(ctx: PageContext, d: ConfirmData): string {
  const { t } = ctx;
  const w = d.words;
  const what =
    typeof w === 'string'
      ? html`<p id="confirm-title"><strong>${w}</strong></p>`
      : html`<p id="confirm-title"><strong>${w.title}</strong></p>
<ul class="words" id="confirm-schedule"><li id="confirm-when">${w.when}</li><li>${w.duration}</li>${w.disabled ? html`<li class="warn" id="confirm-disabled">${w.disabled}</li>` : ''}</ul>
<p>${t('words.steps')}</p><ol id="confirm-steps">${w.steps.map((s) => html`<li>${s}</li>`)}</ol><p id="confirm-end">${w.end}</p>`;
  const body = html`
${d.changed ? html`<div class="problems" role="alert" id="confirm-changed"><p>${t('confirm.changed')}</p></div>` : ''}
<p class="note">${t('confirm.lead')}</p>
<section id="confirm"><dl class="facts">
  <div><dt>${t('confirm.to')}</dt><dd id="confirm-to">${d.to}</dd></div>
  <div><dt>${t('confirm.count')}</dt><dd id="confirm-count" data-n="${d.count}">${d.count}</dd></div>
  ${d.towns ? html`<div><dt>${t('col.town')}</dt><dd id="confirm-towns">${d.towns}</dd></div>` : ''}
</dl>
${d.count > 1 ? html`<details><summary>${t('confirm.stations', { list: '' })}</summary><p id="confirm-stations">${d.stations.join(t('list.sep'))}${d.more ? t('push.more', { n: d.more }) : ''}</p></details>` : ''}
<h2>${t('confirm.what')}</h2>${what}
<form method="post" action="/schedules" id="confirm-form">${csrfField(ctx)}${targetFields(d.choice)}${hiddenFields(d.values)}<input type="hidden" name="review" value="${d.digest}">
  <button type="submit" name="do" value="confirm" class="primary" id="confirm-send">${t('confirm.send')}</button>
  <button type="submit" name="do" value="edit" id="confirm-edit">${t('confirm.edit')}</button>
</form></section>`;
  return page(ctx, { title: t('confirm.title'), nav: 'schedules', body });
}
