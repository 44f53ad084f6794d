/**
 * The station page's schedules: those installed on the station as its last inventory lists them (its own
 * config's and the county's pushes, docs/mqtt.md "inventory"), in words, each with its last run from the
 * `schedule_run` events (a failed one with each step that failed, and why: visit-words.ts failedSteps);
 * then any schedule seen running that is no longer installed. A station whose agent does not report its
 * schedules shows the runs alone, and says so.
 */
import type { InventorySchedule } from '../../../protocol/payloads.js';
import { html, type Html } from '../html.js';
import type { PageContext } from '../layout.js';
import type { InstalledList } from '../inventory-read.js';
import { stepWords, whenWords, type WordsOf } from '../schedule-words.js';
import { clip, eventHtml, moreHtml } from '../station-words.js';
import { localTime } from '../time.js';

const str = (v: unknown): string | null => (typeof v === 'string' ? clip(v) : null);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export interface ScheduleOutcome {
  schedule: string;
  ts: string | null;
  phase: string | null;
  ok: boolean | null;
  /** Steps that went well, of all, when the event lists them. */
  steps: { ok: number; total: number } | null;
  /** The event itself: its words when the outcome cannot be read from its data. */
  event: Record<string, unknown>;
}

/** The latest `schedule_run` per schedule (events arrive newest first). */
export function lastRuns(events: ReadonlyArray<Record<string, unknown>>): ScheduleOutcome[] {
  const out = new Map<string, ScheduleOutcome>();
  for (const e of events) {
    const data = obj(e['data']);
    const schedule = str(data['schedule_id']) ?? /^schedule (\S+)/.exec(str(e['message']) ?? '')?.[1] ?? '?';
    if (out.has(schedule)) continue;
    const steps = Array.isArray(data['steps']) && data['steps'].length > 0 ? (data['steps'] as unknown[]) : null;
    out.set(schedule, {
      schedule,
      ts: str(e['ts']),
      phase: str(data['phase']),
      ok: typeof data['ok'] === 'boolean' ? data['ok'] : e['severity'] === 'info' ? true : null,
      steps: steps && { ok: steps.filter((x) => obj(x)['status'] === 'ok').length, total: steps.length },
      event: e,
    });
  }
  return [...out.values()];
}

/** Why a failed run failed: its failed steps, in words (the station page gives them; empty for none). */
export type RunWhy = (event: Record<string, unknown>) => Html | string;

function outcomeHtml(ctx: PageContext, run: ScheduleOutcome | undefined, tz: string, why: RunWhy): Html | string {
  const { t } = ctx;
  if (!run) return t('none');
  const phase = run.phase ? t(run.phase === 'end' ? 'phase.end' : 'phase.start') : '';
  const result =
    run.ok === null ? eventHtml(ctx, run.event, tz) : run.ok ? html`${t('outcome.ok')}` : html`<span class="bad">${t('outcome.failed')}</span>${run.steps ? t('outcome.steps', run.steps) : ''}${why(run.event)}`;
  return html`${localTime(run.ts, tz)} ${phase}<div>${result}</div>`;
}

export function schedulesHtml(ctx: PageContext, installed: InstalledList, runs: readonly ScheduleOutcome[], words: WordsOf, zone: string, tz: string, why: RunWhy = () => ''): Html {
  const { t } = ctx;
  const runOf = new Map(runs.map((r) => [r.schedule, r]));
  const list = installed.list ?? [];
  const row = (s: InventorySchedule) => html`<tr data-schedule="${s.id}" data-source="${s.source}"${s.enabled ? '' : html` class="muted"`}>
    <td>${s.name ? html`${clip(s.name)}<div class="muted">${s.id}</div>` : s.id}${s.enabled ? '' : html`<div class="warn">${t('station.schedule_disabled')}</div>`}</td>
    <td>${whenWords(t, s.cron)}<div class="muted">${zone} · ${t('words.duration', { minutes: s.duration_min })}</div></td>
    <td><ol class="compact">${s.steps.map((x) => html`<li>${stepWords(words, x)}</li>`)}</ol></td>
    <td>${t(s.source === 'config' ? 'source.config' : 'source.county')}</td>
    <td>${outcomeHtml(ctx, runOf.get(s.id), tz, why)}</td></tr>`;
  const gone = runs.filter((r) => !list.some((s) => s.id === r.schedule));
  const goneRow = (r: ScheduleOutcome) => html`<tr data-schedule="${r.schedule}" data-source="${installed.list ? 'gone' : 'unknown'}"><td>${clip(r.schedule)}${installed.list ? html`<div class="muted">${t('station.schedule_gone')}</div>` : ''}</td>
    <td>${t('none')}</td><td>${t('none')}</td><td>${t('none')}</td><td>${outcomeHtml(ctx, r, tz, why)}</td></tr>`;
  if (list.length === 0 && gone.length === 0) {
    return html`${installed.list ? '' : html`<p class="note" id="schedules-unreported">${t('station.schedules_unreported')}</p>`}<p class="muted">${t('station.no_rows')}</p>`;
  }
  return html`${installed.list ? '' : html`<p class="note" id="schedules-unreported">${t('station.schedules_unreported')}</p>`}
<table id="station-schedules"><thead><tr><th>${t('col.schedule')}</th><th>${t('col.when')}</th><th>${t('col.steps')}</th><th>${t('col.source')}</th><th>${t('col.last_run')}</th></tr></thead>
<tbody>${list.map(row)}${gone.map(goneRow)}</tbody></table>${moreHtml(t, installed.more)}`;
}
