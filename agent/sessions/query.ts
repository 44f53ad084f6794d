/**
 * Read side of the usage ledger for stationctl: listing by period, station days, CSV for the monthly
 * hand-in. Works on a read-only Store too, so `stationctl sessions` answers while the daemon is down.
 */
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { wallTime, zonedMidnight } from '../../protocol/time-zone.js';
import type { DailySummary } from '../store/sessions.js';
import type { Store } from '../store/store.js';
import type { Annotation, UsageRecord } from '../../protocol/usage-record.js';
import { toCsv as writeCsv } from '../../protocol/csv.js';

export interface SessionRange {
  /** `YYYY-MM-DD` (station day, inclusive) or an ISO-8601 time. */
  since?: string | undefined;
  /** `YYYY-MM-DD` (station day, inclusive) or an ISO-8601 time (exclusive). */
  until?: string | undefined;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The station day (`YYYY-MM-DD` in the station's zone) an instant falls in. */
export function stationDay(iso: string, timeZone: string): string {
  return wallTime(Date.parse(iso), timeZone).slice(0, 10);
}

/** Local wall time `YYYY-MM-DD HH:MM:SS` in the station's zone, as an administrator reads it. */
export function stationTime(iso: string, timeZone: string): string {
  return wallTime(Date.parse(iso), timeZone);
}

/** Turns a range into [since, until) ISO-UTC bounds; a clear error for anything else. */
export function resolveRange(range: SessionRange, timeZone: string): { since: string; until: string } {
  const bound = (value: string | undefined, key: 'since' | 'until'): string => {
    if (value === undefined) return key === 'since' ? '0000' : '9999';
    const m = DAY.exec(value);
    if (m) {
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const check = new Date(Date.UTC(y, mo - 1, d));
      if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) {
        throw new AgentError(ErrorCodes.invalid_args, `${key}: ${value} is not a calendar date`);
      }
      return new Date(zonedMidnight(y, mo, d + (key === 'until' ? 1 : 0), timeZone)).toISOString();
    }
    const ms = Date.parse(value);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) {
      throw new AgentError(ErrorCodes.invalid_args, `${key}: expected YYYY-MM-DD or an ISO-8601 time, got ${JSON.stringify(value)}`);
    }
    return new Date(ms).toISOString();
  };
  return { since: bound(range.since, 'since'), until: bound(range.until, 'until') };
}

/** Closed usage sessions that started in the range, oldest first, with their latest annotation. */
export function querySessions(store: Store, timeZone: string, range: SessionRange = {}): UsageRecord[] {
  const { since, until } = resolveRange(range, timeZone);
  return store.sessions.closedBetween(since, until).map((r) => {
    const rec = JSON.parse(r.record) as UsageRecord;
    // After the county's ack a note lives on as an annotation event; locally the latest one is shown.
    if (r.annotation) rec.annotation = JSON.parse(r.annotation) as Annotation;
    return rec;
  });
}

/** Most sessions one `sessions.list` reply carries (why pages: agent/events.ts, EVENTS_PAGE). */
export const SESSIONS_PAGE = 500;

/** Where the next page starts: the last session sent, as `<start>|<seq>` (opaque to clients). */
export const SessionCursor = /^([0-9T:.+\-Z]{10,40})\|(\d{1,15})$/;

export interface SessionsPage {
  sessions: UsageRecord[];
  /** The args for the next page (merge them into the request), null at the end. */
  more: { after: string } | null;
}

/** One page of `querySessions`: closed sessions started in the range, after the cursor, oldest first. */
export function querySessionsPage(store: Store, timeZone: string, range: SessionRange & { after?: string | undefined }, pageSize = SESSIONS_PAGE): SessionsPage {
  const { since, until } = resolveRange(range, timeZone);
  let afterStart = '';
  let afterSeq = -1;
  if (range.after !== undefined) {
    const m = SessionCursor.exec(range.after);
    if (!m) throw new AgentError(ErrorCodes.invalid_args, `after: not a page cursor from sessions.list: ${JSON.stringify(range.after.slice(0, 60))}`);
    afterStart = m[1]!;
    afterSeq = Number(m[2]);
  }
  const rows = store.sessions.closedPage(since, until, afterStart, afterSeq, pageSize + 1);
  const page = rows.slice(0, pageSize);
  const last = page.at(-1);
  return {
    sessions: page.map((r) => {
      const rec = JSON.parse(r.record) as UsageRecord;
      if (r.annotation) rec.annotation = JSON.parse(r.annotation) as Annotation;
      return rec;
    }),
    more: rows.length > pageSize && last ? { after: `${last.start}|${last.seq}` } : null,
  };
}

export type { DailySummary } from '../store/sessions.js';

export function dailySummaries(store: Store, fromDay = '0000-00-00', toDay = '9999-99-99'): DailySummary[] {
  return store.sessions.dailySummaries(fromDay, toDay);
}

const HEADERS = {
  en: ['id', 'seq', 'start', 'end', 'duration_min', 'signal_min', 'devices', 'trigger', 'end_reason', 'short', 'topic', 'attendees', 'organiser', 'note', 'clock'],
  zh: ['编号', '序号', '开始时间', '结束时间', '时长(分钟)', '有信号时长(分钟)', '使用设备', '启动方式', '结束原因', '不足最短时长', '学习主题', '参加人数', '组织人', '备注', '时钟'],
} as const;

const ZH_END: Record<string, string> = {
  devices_off: '设备关闭',
  idle: '无信号超时',
  agent_stop: '代理停止',
  power_loss: '断电',
  device_offline: '设备离线',
};
const ZH_CLOCK: Record<string, string> = { synced: '已同步', unsynced: '未同步', corrected: '已校正' };

function zhTrigger(t: string): string {
  if (t.startsWith('schedule:')) return `播放计划:${t.slice(9)}`;
  return ({ manual: '手动', county: '县级下发', unknown: '未知' } as Record<string, string>)[t] ?? t;
}

/**
 * CSV an administrator can hand in: station-local times, minutes, Chinese headers and labels with
 * `lang: 'zh'` (with a BOM, so Excel on a Chinese Windows opens it as UTF-8).
 */
export function toCsv(records: readonly UsageRecord[], lang: 'zh' | 'en' = 'en', timeZone = 'Asia/Shanghai', header = true): string {
  const zh = lang === 'zh';
  const rows = records.map((r) => {
    const a = r.annotation ?? {};
    return [
      r.id,
      r.seq,
      stationTime(r.start, timeZone),
      stationTime(r.end, timeZone),
      (r.duration_s / 60).toFixed(1),
      (r.signal_s / 60).toFixed(1),
      r.devices.map((d) => d.id).join(' '),
      zh ? zhTrigger(r.trigger) : r.trigger,
      zh ? (ZH_END[r.end_reason] ?? r.end_reason) : r.end_reason,
      zh ? (r.short ? '是' : '否') : r.short,
      a.topic,
      a.attendees,
      a.organiser,
      a.note,
      zh ? (ZH_CLOCK[r.clock] ?? r.clock) : r.clock,
    ];
  });
  const csv = writeCsv(HEADERS[lang], rows, { bom: zh && header, trailingEol: true });
  // A page after the first continues the same file: no header, no BOM.
  return header ? csv : csv.slice(csv.indexOf('\r\n') + 2);
}
