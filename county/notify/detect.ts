/**
 * What is news, from what the county stored: stations gone offline for a visit and back online
 * (offline.ts, the visit rule of county/visits.ts), and the stored events worth a message: a scheduled class that failed, a device fault of
 * the configured codes and its clearing. Each piece of news carries the mark that keeps it from being
 * told twice (queue.ts News), so a restart, a second scan or a replayed event changes nothing. Pure:
 * the notifier reads, this decides, the store queues.
 */
import { eventWords } from '../../protocol/words/events.js';
import { faultWords } from '../../protocol/words/faults.js';
import { wordsTranslator, type Lang } from '../../protocol/words/index.js';
import { route, type NotifyRules, type NotifyTarget } from './config.js';
import type { Notice } from './messages.js';
import { linkVerdict } from './offline.js';
import type { VisitRules } from '../visits.js';
import { diskMark, faultMark, NOTIFY_SCAN_SPAN, offlineMark, onceMark, type News, type NotifyDiskRow, type NotifyEventScan, type NotifyStationRow } from './queue.js';

type Targets = ReadonlyArray<Pick<NotifyTarget, 'id' | 'towns'>>;
const T = { zh: wordsTranslator('zh'), en: wordsTranslator('en') };
const LANGS: readonly Lang[] = ['zh', 'en'];
/** Text from a station (a schedule's id, a device's id) is clipped like the console clips it. */
const clip = (v: unknown, max = 64): string => (typeof v === 'string' ? (v.length > max ? `${v.slice(0, max)}…` : v) : '');

/** How the offline rule judges: the visit rule's thresholds (`offlineAfterS` the notifier's) and the county's zone. */
export interface LinkJudge {
  rules: VisitRules;
  countyTz: string;
}

/** News of stations that went offline for a visit or came back; `marked`: the stations reported offline. */
export function linkNews(rows: readonly NotifyStationRow[], marked: ReadonlySet<string>, nowMs: number, judge: LinkJudge, targets: Targets): News[] {
  const news: News[] = [];
  for (const r of rows) {
    const v = linkVerdict(r, nowMs, judge.rules, judge.countyTz);
    const key = offlineMark(r.station_id);
    const base = { town: r.town, station_id: r.station_id, station_name: r.name };
    if (v.state === 'offline' && !marked.has(key)) {
      const notice: Notice = { kind: 'station_offline', ...base, detail: { minutes: Math.max(1, Math.ceil((nowMs - v.sinceMs) / 60_000)) } };
      news.push({ items: route(targets, [notice]), guard: { key, present: false }, marks: [{ key, value: String(v.sinceMs) }] });
    } else if (v.state === 'online' && marked.has(key)) {
      news.push({ items: route(targets, [{ kind: 'station_online', ...base }]), guard: { key, present: true }, marks: [{ key, value: null }] });
    }
  }
  return news;
}

/** A disk reported nearly full is told free again only this many points above the rule: no flapping. */
export const DISK_RECOVER_POINTS = 2;

/**
 * News of disks nearly full and freed, by each station's latest heartbeat: below the rule's
 * `disk_free_pct_below` and not yet told, told once (marked); told and now at least DISK_RECOVER_POINTS
 * above it, told freed (unmarked). A heartbeat without the figure changes nothing; 0 turns it off.
 */
export function diskNews(rows: readonly NotifyDiskRow[], marked: ReadonlySet<string>, rules: Pick<NotifyRules, 'disk_free_pct_below'>, targets: Targets): News[] {
  const below = rules.disk_free_pct_below;
  if (below <= 0) return [];
  const news: News[] = [];
  for (const r of rows) {
    if (r.disk_free_pct === null) continue;
    const key = diskMark(r.station_id);
    const base = { town: r.town, station_id: r.station_id, station_name: r.name };
    const detail = { pct: Math.floor(r.disk_free_pct * 10) / 10, mb: r.disk_free_mb };
    if (r.disk_free_pct < below && !marked.has(key)) {
      news.push({ items: route(targets, [{ kind: 'disk_low', ...base, detail }]), guard: { key, present: false }, marks: [{ key, value: String(r.disk_free_pct) }] });
    } else if (r.disk_free_pct >= below + DISK_RECOVER_POINTS && marked.has(key)) {
      news.push({ items: route(targets, [{ kind: 'disk_ok', ...base, detail }]), guard: { key, present: true }, marks: [{ key, value: null }] });
    }
  }
  return news;
}

/** The event types the notifier reads. */
export const NEWS_EVENT_TYPES = ['schedule_run', 'device_fault', 'device_fault_cleared', 'lamp_warning', 'lamp_warning_cleared', 'filter_warning', 'filter_warning_cleared', 'device_offline', 'device_online'] as const;

interface StoredEvent {
  type: string;
  severity: string;
  message: string;
  device?: string;
  data?: Record<string, unknown>;
  boot?: number;
}

/** An event's fault code (NOTIFY_FAULT_CODES) and whether it raises or clears it; undefined when it is neither. */
export function faultOf(e: StoredEvent): { code: string; raise: boolean } | undefined {
  const code = typeof e.data?.['code'] === 'string' ? (e.data['code'] as string) : undefined;
  switch (e.type) {
    case 'device_fault':
      // A lamp the projector itself says is near its end (PJLink ERST warning): not a lamp failure.
      return code ? { code: code === 'lamp' && e.data?.['fault_severity'] === 'warning' ? 'lamp_warning' : code, raise: true } : undefined;
    case 'device_fault_cleared':
      return code ? { code, raise: false } : undefined;
    case 'lamp_warning':
    case 'lamp_warning_cleared':
      return { code: 'lamp_hours', raise: e.type === 'lamp_warning' };
    case 'filter_warning':
    case 'filter_warning_cleared':
      return { code: 'filter_hours', raise: e.type === 'filter_warning' };
    case 'device_offline':
    case 'device_online':
      return { code: 'device_offline', raise: e.type === 'device_offline' };
    default:
      return undefined;
  }
}

const STEP_WORDS: Record<Lang, Record<string, string>> = {
  zh: { failed: '失败', timeout: '超时', skipped: '未执行', device_offline: '设备离线', auth: '密码被拒绝', busy: '设备忙' },
  en: { failed: 'failed', timeout: 'timed out', skipped: 'not run', device_offline: 'device offline', auth: 'password refused', busy: 'device busy' },
};

/** Why a schedule run failed, in a reader's words: each step that did not succeed and how. */
export function classFailure(data: Record<string, unknown>, lang: Lang): string {
  const steps = Array.isArray(data['steps']) ? (data['steps'] as Array<Record<string, unknown>>) : [];
  const bad = steps.filter((s) => s && typeof s === 'object' && s['status'] !== 'ok').slice(0, 5);
  const words = STEP_WORDS[lang];
  const parts = bad.map((s) => {
    const error = s['error'] && typeof s['error'] === 'object' ? (s['error'] as Record<string, unknown>)['code'] : undefined;
    const how = (typeof error === 'string' ? words[error] : undefined) ?? words[String(s['status'])] ?? clip(s['status'], 32);
    const value = typeof s['value'] === 'string' || typeof s['value'] === 'number' || typeof s['value'] === 'boolean' ? ` ${String(s['value'])}` : '';
    return `${clip(s['device'])} ${clip(s['action'], 32)}${value}${lang === 'zh' ? '：' : ': '}${how}`;
  });
  if (parts.length === 0) return lang === 'zh' ? '没有步骤成功' : 'no step succeeded';
  return parts.join(lang === 'zh' ? '；' : '; ');
}

function parse(payload: string): StoredEvent | undefined {
  try {
    const e = JSON.parse(payload) as StoredEvent;
    return e && typeof e === 'object' && typeof e.type === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}

/**
 * News from one scan of the stored events: per event the news and its mark (a fault told once and its
 * clearing only after it was told; a failed run told once), then per station its cursor moved to what
 * was read (a station seen for the first time starts at its watermark: its past is no news).
 */
export function eventNews(scan: NotifyEventScan, rules: Pick<NotifyRules, 'faults' | 'timezone'>, targets: Targets): News[] {
  const news: News[] = [];
  const wanted = new Set<string>(rules.faults);
  const byStation = new Map<string, NotifyEventScan['events']>();
  for (const e of scan.events) byStation.set(e.station_id, [...(byStation.get(e.station_id) ?? []), e]);
  for (const s of scan.stations) {
    const base = { town: s.town, station_id: s.station_id, station_name: s.name };
    for (const row of byStation.get(s.station_id) ?? []) {
      const e = parse(row.payload);
      if (!e) continue;
      const data = e.data && typeof e.data === 'object' ? e.data : {};
      if (e.type === 'schedule_run') {
        if (data['ok'] !== false) continue;
        const key = onceMark(`class:${JSON.stringify([s.station_id, clip(data['run_id'], 128) || String(row.seq), clip(data['phase'], 16)])}`);
        const detail: Record<string, unknown> = { schedule: clip(data['schedule_id']) || '?' };
        for (const lang of LANGS) detail[`reason_${lang}`] = classFailure(data, lang);
        news.push({ items: route(targets, [{ kind: 'class_failed', ...base, detail }]), guard: { key, present: false }, marks: [{ key, value: String(row.seq) }] });
        continue;
      }
      const f = faultOf(e);
      if (!f || !wanted.has(f.code)) continue;
      const device = clip(e.device) || '?';
      const key = faultMark(s.station_id, device, f.code);
      const detail: Record<string, unknown> = { device, code: f.code };
      for (const lang of LANGS) {
        const deviceFault = e.type === 'device_fault' || e.type === 'device_fault_cleared';
        const words = deviceFault
          ? faultWords(T[lang], { code: f.code === 'lamp_warning' ? 'lamp' : f.code, severity: f.code === 'lamp_warning' ? 'warning' : 'error', text: clip(data['text'], 300) || e.message })
          : eventWords(T[lang], lang, { ...e, data }, rules.timezone);
        const text = clip(words.text, 300);
        // What was fixed is said by the fault's words; an hours or offline clearing needs none.
        if (f.raise || deviceFault) detail[`fault_${lang}`] = words.own ? (lang === 'zh' ? `站点原文“${text}”` : `the station says "${text}"`) : text;
      }
      const kind = f.raise ? 'device_fault' : 'device_fault_cleared';
      news.push({ items: route(targets, [{ kind, ...base, detail }]), guard: { key, present: !f.raise }, marks: [{ key, value: f.raise ? String(row.seq) : null }] });
    }
    news.push({ items: [], cursor: { station_id: s.station_id, seq: s.cursor === null ? s.watermark : Math.min(s.watermark, s.cursor + NOTIFY_SCAN_SPAN) } });
  }
  return news;
}
