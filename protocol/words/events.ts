/**
 * An event's detail in the reader's language, for stationctl events and the county console alike. The
 * wire `message` is English; for Chinese the line is rebuilt from the event's structured `data`, so it
 * reads Chinese all the way. In English the agent's own message is shown (it is fine English), except
 * where it holds a UTC time: that line is rebuilt in station time.
 *
 * An event is read from the wire (a station of another version, the county's simulator): when its type
 * is unknown or the data a line needs is missing, the result is the station's own message, marked
 * `own`, never a line of question marks.
 */
import type { Lang, Translate } from './index.js';
import { faultWords, type Words } from './faults.js';
import { localTime } from '../time-zone.js';

/** What an event needs to be put in words: an EventRecord, or an event row read off the wire. */
export interface EventLike {
  type: string;
  severity: string;
  message: string;
  data?: Record<string, unknown> | undefined;
  boot?: number | undefined;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const n = (v: number) => String(Math.round(v));

/** The line rebuilt from `data` in the reader's language; undefined when the data does not allow it. */
function rebuilt(t: Translate, e: EventLike, tz: string): Words | undefined {
  const d = e.data ?? {};
  const ours = (text: string): Words => ({ own: false, text });
  switch (e.type) {
    case 'schedule_run': {
      if (typeof d['schedule_id'] !== 'string' || !Array.isArray(d['steps'])) return undefined;
      const steps = d['steps'] as unknown[];
      return ours(
        t('event_detail.schedule_run', {
          schedule: d['schedule_id'],
          phase: t(d['phase'] === 'end' ? 'event_detail.phase_end' : 'event_detail.phase_start'),
          ok: steps.filter((s) => (s as { status?: unknown } | null)?.status === 'ok').length,
          total: steps.length,
        }),
      );
    }
    case 'lamp_warning':
    case 'lamp_warning_cleared':
      return isNum(d['lamp_hours']) && isNum(d['lamp_warn_hours']) ? ours(t('event_detail.hours', { hours: n(d['lamp_hours']), limit: n(d['lamp_warn_hours']) })) : undefined;
    case 'filter_warning':
    case 'filter_warning_cleared':
      return isNum(d['filter_hours']) && isNum(d['filter_warn_hours']) ? ours(t('event_detail.hours', { hours: n(d['filter_hours']), limit: n(d['filter_warn_hours']) })) : undefined;
    case 'device_fault':
    case 'device_fault_cleared': {
      if (typeof d['code'] !== 'string') return undefined;
      const text = typeof d['text'] === 'string' && d['text'] ? d['text'] : e.message;
      return faultWords(t, { code: d['code'], severity: e.severity === 'warning' ? 'warning' : 'error', text });
    }
    case 'device_offline':
      return isNum(d['offline_warn_min']) ? ours(t('event_detail.offline', { minutes: n(d['offline_warn_min']) })) : undefined;
    case 'device_online':
      // The event's type says it all.
      return ours('');
    case 'power_loss_recovered':
      return isNum(d['seq']) && typeof d['end'] === 'string' && !Number.isNaN(Date.parse(d['end'])) ? ours(t('event_detail.power_loss', { seq: n(d['seq']), end: localTime(d['end'], tz) })) : undefined;
    case 'clock_jump':
      return isNum(d['jump_ms']) ? ours(t('event_detail.clock_jump', { seconds: n(d['jump_ms'] / 1000) })) : undefined;
    case 'annotation':
      return isNum(d['seq']) ? ours(t('event_detail.annotation', { seq: n(d['seq']) })) : undefined;
    case 'outbox_summarised':
      return isNum(d['removed']) ? ours(t('event_detail.outbox', { removed: n(d['removed']) })) : undefined;
    case 'agent_start':
    case 'agent_stop':
      return typeof d['version'] === 'string' && isNum(e.boot) ? ours(t('event_detail.agent', { version: d['version'], boot: n(e.boot) })) : undefined;
    default:
      return undefined;
  }
}

/** The event's detail: ours (rebuilt, or in English the agent's message), or the station's own message. */
export function eventWords(t: Translate, lang: Lang, e: EventLike, tz: string): Words {
  const w = rebuilt(t, e, tz);
  if (!w) return { own: true, text: e.message };
  if (w.own || lang === 'zh' || e.type === 'power_loss_recovered') return w;
  return { own: false, text: e.message };
}
