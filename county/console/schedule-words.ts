/**
 * A schedule as a clerk reads it, in the reader's language: 每周二、周四 20:00（北京时间），45 分钟；
 * 投影机：开机，等开机完成 → 投影机：切换到 HDMI 1 … Used by the confirmation before a push, the push
 * and its history, and the station page's installed schedules; never `cron`, `schedule.set` or a device id
 * where a name exists.
 */
import type { InputChoice } from '../../protocol/device-controls.js';
import type { ConsoleKey, T } from './i18n.js';
import { inputWords } from './device-choices.js';
import { clip } from './station-words.js';

export interface WordsOf {
  t: T;
  /** A device in words (its configured name). */
  device: (id: string) => string;
  /** The input a code is on that device, when known (HDMI 1 rather than 31). */
  input?: (device: string, code: string) => InputChoice | undefined;
}

export interface StepLike {
  device: string;
  action: string;
  value: unknown;
  wait_for?: string | undefined;
}

export interface ScheduleLike {
  id: string;
  name?: string | null | undefined;
  cron: string;
  duration_min: number;
  enabled?: boolean | undefined;
  steps: readonly StepLike[];
  end_steps?: readonly StepLike[] | undefined;
}

const WEEKLY = /^(\d{1,2}) (\d{1,2}) \* \* (\*|[0-7](?:,[0-7])*)$/;
const DAY_ORDER = ['1', '2', '3', '4', '5', '6', '0'];

/** The days and time of a cron as people say them; another pattern as the station's own rule. */
export function whenWords(t: T, cron: string): string {
  const m = WEEKLY.exec(cron.trim());
  if (m && Number(m[1]) < 60 && Number(m[2]) < 24) {
    const time = `${m[2]!.padStart(2, '0')}:${m[1]!.padStart(2, '0')}`;
    const days = m[3] === '*' ? DAY_ORDER : [...new Set(m[3]!.split(',').map((d) => (d === '7' ? '0' : d)))];
    if (days.length === 7) return t('when.daily', { time });
    const sorted = DAY_ORDER.filter((d) => days.includes(d));
    return t('when.weekly', { days: sorted.map((d) => t(`day.${d}` as ConsoleKey)).join(t('list.sep')), time });
  }
  return t('when.other', { rule: clip(cron) });
}

const onOff = (v: unknown): 'on' | 'off' | 'toggle' | null => (v === true || v === 'on' ? 'on' : v === false || v === 'off' ? 'off' : v === 'toggle' ? 'toggle' : null);

/** What a step does, without the device: 开机，等开机完成 / 切换到 HDMI 1 / 音量调到 40. */
export function actionWords(w: WordsOf, s: StepLike): string {
  const { t } = w;
  let what: string;
  const v = onOff(s.value);
  if ((s.action === 'power' || s.action === 'mute' || s.action === 'blank') && v !== null && !(s.action !== 'power' && v === 'toggle')) {
    what = t(`step.${s.action}.${v}` as ConsoleKey);
  } else if (s.action === 'input') {
    const code = String(s.value);
    what = t('step.input', { input: inputWords(t, w.input?.(s.device, code), clip(code)) });
  } else if (s.action === 'volume' || s.action === 'brightness') {
    what = t(`step.${s.action}`, { n: clip(String(s.value)) });
  } else {
    what = t('step.raw', { action: clip(s.action), value: clip(String(s.value)) });
  }
  return s.wait_for === 'on' || s.wait_for === 'off' ? `${what}${t(`step.wait.${s.wait_for}`)}` : what;
}

export const stepWords = (w: WordsOf, s: StepLike): string => w.t('step.line', { device: w.device(s.device), what: actionWords(w, s) });

/** The station's default end (protocol: every device a step switched on, off in reverse), or the schedule's own end steps. */
export function endWords(w: WordsOf, s: Pick<ScheduleLike, 'steps' | 'end_steps'>): string {
  if (s.end_steps) return s.end_steps.length ? w.t('words.end_steps', { steps: s.end_steps.map((x) => stepWords(w, x)).join(w.t('words.then')) }) : w.t('words.end_none');
  const on: string[] = [];
  for (const x of [...s.steps].reverse()) if (x.action === 'power' && onOff(x.value) === 'on' && !on.includes(x.device)) on.push(x.device);
  return on.length ? w.t('words.end', { devices: on.map((d) => w.device(d)).join(w.t('list.sep')) }) : w.t('words.end_none');
}

export interface ScheduleWords {
  title: string;
  when: string;
  duration: string;
  steps: string[];
  end: string;
  /** Set when the schedule is saved but not run (enabled: false). */
  disabled: string | null;
}

/** Everything a schedule says, line by line; `zone` is the time zone in words (北京时间). */
export function scheduleWords(w: WordsOf, s: ScheduleLike, zone: string): ScheduleWords {
  const { t } = w;
  return {
    title: s.name ? t('words.named', { name: clip(s.name), id: s.id }) : t('words.unnamed', { id: s.id }),
    when: t('words.when', { when: whenWords(t, s.cron), zone }),
    duration: t('words.duration', { minutes: s.duration_min }),
    steps: s.steps.map((x) => stepWords(w, x)),
    end: endWords(w, s),
    disabled: s.enabled === false ? t('words.disabled') : null,
  };
}

/** A push's arguments in one line (the history, the push page): 新增或替换 晚间课堂（evening-class）：每周二 20:00，45 分钟. */
export function argsLine(w: WordsOf, argsJson: string): string {
  const { t } = w;
  let args: Record<string, unknown>;
  try {
    args = JSON.parse(argsJson) as Record<string, unknown>;
  } catch {
    return t('words.unreadable');
  }
  if (typeof args['delete'] === 'string') return t('words.delete', { id: clip(args['delete']) });
  if (Array.isArray(args['replace'])) return t('words.replace', { n: args['replace'].length });
  const s = args['schedule'] as Partial<ScheduleLike> | undefined;
  if (!s || typeof s.cron !== 'string') return t('words.unreadable');
  const title = s.name ? t('words.named', { name: clip(s.name), id: String(s.id) }) : t('words.unnamed', { id: String(s.id) });
  return t('words.line', { title, when: whenWords(t, s.cron), minutes: s.duration_min ?? '' });
}
