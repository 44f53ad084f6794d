/**
 * The schedule form (播放计划): bounded fields in, a `schedule.set` args object out, validated with the
 * contract's own schema (protocol/schedule.ts ScheduleSetArgs, step values typed by action) and cron check (protocol/cron.ts), so
 * what the console accepts is exactly what a station accepts. Days + start time make the cron for the
 * clerk; a cron expression may be given instead.
 */
import { validateCron } from '../../protocol/cron.js';
import { ScheduleSetArgs, STEP_ACTIONS, type StepAction } from '../../protocol/schedule.js';
import { field } from './http.js';
import type { ConsoleKey } from './i18n.js';

export const STEP_ROWS = 6;
export const TARGETS = ['station', 'town', 'all'] as const;
export const DAYS = ['1', '2', '3', '4', '5', '6', '0'] as const;

export interface StepValues {
  device: string;
  action: string;
  value: string;
  wait_for: string;
}

export interface ScheduleFormValues {
  target: (typeof TARGETS)[number];
  station: string;
  town: string;
  mode: 'set' | 'delete';
  id: string;
  name: string;
  days: string[];
  time: string;
  cron: string;
  duration: string;
  enabled: boolean;
  steps: StepValues[];
}

export interface FormProblem {
  key: ConsoleKey;
  params?: Record<string, string | number>;
}

export function emptyForm(): ScheduleFormValues {
  return {
    target: 'town',
    station: '',
    town: '',
    mode: 'set',
    id: '',
    name: '',
    days: [],
    time: '20:00',
    cron: '',
    duration: '90',
    enabled: true,
    steps: Array.from({ length: STEP_ROWS }, () => ({ device: '', action: 'power', value: '', wait_for: '' })),
  };
}

const pick = <T extends string>(v: string, allowed: readonly T[], fallback: T): T => ((allowed as readonly string[]).includes(v) ? (v as T) : fallback);

/** Reads the posted fields (each bounded: an oversized field is a bad request, see http.ts field()). */
export function readScheduleForm(form: URLSearchParams): ScheduleFormValues {
  const v = emptyForm();
  v.target = pick(field(form, 'target', 16), TARGETS, 'station');
  v.station = field(form, 'station', 128);
  v.town = field(form, 'town', 128);
  v.mode = field(form, 'mode', 16) === 'delete' ? 'delete' : 'set';
  v.id = field(form, 'id', 64);
  v.name = field(form, 'name', 100);
  v.days = form.getAll('days').filter((d) => (DAYS as readonly string[]).includes(d));
  v.time = field(form, 'time', 8);
  v.cron = field(form, 'cron', 100);
  v.duration = field(form, 'duration', 8);
  v.enabled = form.get('enabled') === 'on';
  v.steps = v.steps.map((_, i) => ({
    device: field(form, `step_device_${i}`, 64),
    action: pick(field(form, `step_action_${i}`, 16), STEP_ACTIONS, 'power'),
    value: field(form, `step_value_${i}`, 32),
    wait_for: pick(field(form, `step_wait_${i}`, 8), ['', 'on', 'off'] as const, ''),
  }));
  return v;
}

/** `volume 40` is a number on the wire; on/off and input codes stay strings. */
function stepValue(action: string, value: string): string | number {
  return (action === 'volume' || action === 'brightness') && /^\d{1,3}$/.test(value) ? Number(value) : value;
}

/** The cron of the form: the expression when given, else `mm hh * * days` from the picked days. */
export function formCron(v: ScheduleFormValues): string | FormProblem {
  if (v.cron !== '') return v.cron;
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

/** A schema issue in the clerk's words: a step's value names the step, what it takes and what was typed. */
function problemOf(path: readonly PropertyKey[], message: string, steps: ReadonlyArray<{ action: string; value: string | number }>): FormProblem {
  const [top, list, index, field] = path;
  if (top === 'schedule' && list === 'steps' && typeof index === 'number' && field === 'value' && path.length === 4) {
    const step = steps[index];
    if (step && (STEP_ACTIONS as readonly string[]).includes(step.action)) {
      return { key: STEP_VALUE_KEYS[step.action as StepAction], params: { n: String(index + 1), value: String(step.value) } };
    }
  }
  return { key: 'form.field', params: { field: path.map(String).join('.') || 'schedule', message } };
}

export type BuiltArgs = { ok: true; args: Record<string, unknown> } | { ok: false; problems: FormProblem[] };

/** The `schedule.set` args of the form, or what is wrong with it. */
export function buildScheduleArgs(v: ScheduleFormValues, timezone: string): BuiltArgs {
  const problems: FormProblem[] = [];
  let args: Record<string, unknown>;
  let steps: Array<{ action: string; value: string | number }> = [];
  if (v.mode === 'delete') {
    args = { delete: v.id };
  } else {
    const cron = formCron(v);
    if (typeof cron !== 'string') problems.push(cron);
    else {
      try {
        validateCron(cron, timezone);
      } catch (err) {
        problems.push({ key: 'form.field', params: { field: 'cron', message: (err as Error).message } });
      }
    }
    steps = v.steps
      .filter((s) => s.device !== '')
      .map((s) => ({ device: s.device, action: s.action, value: stepValue(s.action, s.value), ...(s.wait_for ? { wait_for: s.wait_for } : {}) }));
    if (steps.length === 0) problems.push({ key: 'form.steps' });
    const duration = /^\d{1,4}(\.\d{1,2})?$/.test(v.duration) ? Number(v.duration) : NaN;
    args = {
      schedule: {
        id: v.id,
        ...(v.name ? { name: v.name } : {}),
        cron: typeof cron === 'string' ? cron : '',
        duration_min: duration,
        enabled: v.enabled,
        steps,
      },
    };
  }
  // The branch of the chosen mode gives readable messages (the union would report every branch).
  const branch = v.mode === 'delete' ? ScheduleSetArgs.options[1] : ScheduleSetArgs.options[0];
  const parsed = branch.safeParse(args);
  if (!parsed.success) {
    for (const issue of parsed.error.issues.slice(0, 20)) problems.push(problemOf(issue.path, issue.message, steps));
  } else if (!ScheduleSetArgs.safeParse(args).success) {
    problems.push({ key: 'form.field', params: { field: v.mode, message: 'not a valid schedule.set' } });
  }
  // Sent as typed by the clerk (no defaults filled in by zod): the station applies its own defaults.
  return problems.length ? { ok: false, problems } : { ok: true, args };
}
