/**
 * The schedule form (播放计划): bounded fields in, a `schedule.set` args object out. Each step is a choice
 * the form offered (device-choices.ts: a device of the target with an action and value it takes), checked
 * again here against the same offer, then the whole is validated with the contract's own schema
 * (protocol/schedule.ts ScheduleSetArgs: step values typed by action) and cron check (protocol/cron.ts),
 * so what the console accepts is exactly what a station accepts. Days and a start time make the cron.
 * Every problem is said in the clerk's words, never a schema path.
 */
import { validateCron } from '../../protocol/cron.js';
import { ScheduleSetArgs, STEP_ACTIONS, type StepAction } from '../../protocol/schedule.js';
import { offers, parseChoice, type Offer } from './device-choices.js';
import { field } from './http.js';
import type { ConsoleKey, FormProblem } from './i18n.js';
import { TARGET_KINDS, type TargetChoice, type TargetKind } from './targets.js';

export type { FormProblem };

export const STEP_ROWS = 6;
export const DAYS = ['1', '2', '3', '4', '5', '6', '0'] as const;

export interface StepValues {
  /** `device|action|value` as offered (device-choices.ts), '' for an unused row. */
  choice: string;
  /** A level (volume 40) or an input code, when the choice takes one. */
  value: string;
  wait_for: '' | 'on' | 'off';
}

export interface ScheduleFormValues {
  target: TargetChoice;
  mode: 'set' | 'delete';
  id: string;
  name: string;
  days: string[];
  time: string;
  duration: string;
  enabled: boolean;
  steps: StepValues[];
}

export function emptyForm(target: TargetChoice = { kind: '', station: '', town: '' }): ScheduleFormValues {
  return {
    target,
    mode: 'set',
    id: '',
    name: '',
    days: [],
    time: '20:00',
    duration: '90',
    enabled: true,
    steps: Array.from({ length: STEP_ROWS }, () => ({ choice: '', value: '', wait_for: '' })),
  };
}

const pick = <T extends string>(v: string, allowed: readonly T[], fallback: T): T => ((allowed as readonly string[]).includes(v) ? (v as T) : fallback);

/** The target fields (a query string or a form): bounded like every field. */
export function readTargetChoice(get: (name: string, max: number) => string): TargetChoice {
  return { kind: pick<TargetKind | ''>(get('target', 16), TARGET_KINDS, ''), station: get('station', 128), town: get('town', 128) };
}

/** Reads the posted fields (each bounded: an oversized field is a bad request, see http.ts field()). */
export function readScheduleForm(form: URLSearchParams): ScheduleFormValues {
  const v = emptyForm(readTargetChoice((name, max) => field(form, name, max)));
  v.mode = field(form, 'mode', 16) === 'delete' ? 'delete' : 'set';
  v.id = field(form, 'id', 64);
  v.name = field(form, 'name', 100);
  v.days = [...new Set(form.getAll('days').filter((d) => (DAYS as readonly string[]).includes(d)))];
  v.time = field(form, 'time', 8);
  v.duration = field(form, 'duration', 8);
  v.enabled = form.get('enabled') === 'on';
  v.steps = v.steps.map((_, i) => ({
    choice: field(form, `step_${i}`, 128),
    value: field(form, `step_value_${i}`, 32),
    wait_for: pick(field(form, `step_wait_${i}`, 8), ['', 'on', 'off'] as const, ''),
  }));
  return v;
}

/** The cron of the form: `mm hh * * days` from the picked days and start time. */
export function formCron(v: ScheduleFormValues): string | FormProblem {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(v.time);
  if (!m) return { key: 'form.time' };
  if (v.days.length === 0) return { key: 'form.days' };
  const days = [...v.days].sort().join(',');
  return `${Number(m[2])} ${Number(m[1])} * * ${days}`;
}

const STEP_VALUE_KEYS: Record<StepAction, ConsoleKey> = {
  power: 'form.step_value.power',
  mute: 'form.step_value.mute',
  blank: 'form.step_value.blank',
  volume: 'form.step_value.volume',
  brightness: 'form.step_value.brightness',
  input: 'form.step_value.input',
};

/** A schema issue in the clerk's words: which field, what it takes; a step's value names the step. */
function problemOf(path: readonly PropertyKey[], steps: ReadonlyArray<{ action: string; value: string | number; row: number }>): FormProblem {
  const [top, key, index, leaf] = path;
  if (top === 'delete' || key === 'id') return { key: 'form.id' };
  if (key === 'name') return { key: 'form.name' };
  if (key === 'duration_min') return { key: 'form.duration' };
  if (key === 'cron') return { key: 'form.time' };
  if (key === 'steps' && typeof index === 'number' && leaf === 'value') {
    const step = steps[index];
    if (step && (STEP_ACTIONS as readonly string[]).includes(step.action)) {
      return { key: STEP_VALUE_KEYS[step.action as StepAction], params: { n: String(step.row), value: String(step.value) } };
    }
  }
  if (key === 'steps') return { key: 'form.steps' };
  return { key: 'form.other' };
}

export type BuiltArgs = { ok: true; args: Record<string, unknown> } | { ok: false; problems: FormProblem[] };

/** `volume 40` is a number on the wire; on/off and input codes stay strings. */
function stepValue(action: string, value: string): string | number {
  return (action === 'volume' || action === 'brightness') && /^\d{1,3}$/.test(value) ? Number(value) : value;
}

/** The `schedule.set` args of the form, or what is wrong with it; each step must be one `offer` has. */
export function buildScheduleArgs(v: ScheduleFormValues, timezone: string, offer: Offer): BuiltArgs {
  const problems: FormProblem[] = [];
  let args: Record<string, unknown>;
  const steps: Array<{ device: string; action: string; value: string | number; wait_for?: 'on' | 'off'; row: number }> = [];
  if (v.mode === 'delete') {
    args = { delete: v.id };
  } else {
    const cron = formCron(v);
    if (typeof cron !== 'string') problems.push(cron);
    else {
      try {
        validateCron(cron, timezone);
      } catch {
        problems.push({ key: 'form.time' });
      }
    }
    v.steps.forEach((s, i) => {
      if (s.choice === '') return;
      const c = parseChoice(s.choice);
      const value = c && c.value === '' ? s.value : (c?.value ?? '');
      if (!c || !offers(offer, c.device, c.action, value)) return void problems.push({ key: 'form.step_choice', params: { n: i + 1 } });
      steps.push({ device: c.device, action: c.action, value: stepValue(c.action, value), ...(s.wait_for ? { wait_for: s.wait_for } : {}), row: i + 1 });
    });
    if (steps.length === 0 && !problems.some((p) => p.key === 'form.step_choice')) problems.push({ key: 'form.steps' });
    const duration = /^\d{1,4}(\.\d{1,2})?$/.test(v.duration) ? Number(v.duration) : NaN;
    args = {
      schedule: {
        id: v.id,
        ...(v.name ? { name: v.name } : {}),
        cron: typeof cron === 'string' ? cron : '',
        duration_min: duration,
        enabled: v.enabled,
        steps: steps.map(({ row: _row, ...s }) => s),
      },
    };
  }
  // The branch of the chosen mode gives readable messages (the union would report every branch).
  const branch = v.mode === 'delete' ? ScheduleSetArgs.options[1] : ScheduleSetArgs.options[0];
  const parsed = branch.safeParse(args);
  if (!parsed.success) {
    for (const issue of parsed.error.issues.slice(0, 20)) {
      const p = problemOf(issue.path, steps);
      // An unusable time or step list is said once, as the form found it, whatever else the schema saw in it.
      const said = (keys: readonly ConsoleKey[]) => problems.some((q) => keys.includes(q.key));
      if (p.key === 'form.time' && said(['form.time', 'form.days'])) continue;
      if (p.key === 'form.steps' && said(['form.steps', 'form.step_choice'])) continue;
      if (!problems.some((q) => q.key === p.key && JSON.stringify(q.params) === JSON.stringify(p.params))) problems.push(p);
    }
  }
  // Sent as typed by the clerk (no defaults filled in by zod): the station applies its own defaults.
  return problems.length ? { ok: false, problems } : { ok: true, args };
}
