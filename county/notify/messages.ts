/**
 * What the county tells its WeCom/DingTalk/Feishu groups, in the words the console and stationctl use:
 * each message names the town, the station, what happened and what to do. Chinese by default, English
 * per target. Several stations in one town with the same news become one message that names them all.
 * A notice carries facts (detail); the words are made when it is sent, in the target's language. Words
 * a catalogue makes (a fault, an event's detail) are made when the news is found, in both languages,
 * as `<name>_zh` / `<name>_en`.
 */
import { Buffer } from 'node:buffer';
import type { Lang } from '../../protocol/words/index.js';
import type { VisitCauseKind } from '../visits.js';

export const NOTICE_KINDS = [
  'station_offline',
  'station_online',
  'class_failed',
  'device_fault',
  'device_fault_cleared',
  'disk_low',
  'disk_ok',
  'daily_digest',
  'monthly_progress',
  'schedule_pushed',
  'test',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** Kinds that are one message each, never merged into a summary with others of their kind. */
export const SOLO_KINDS: ReadonlySet<NoticeKind> = new Set(['daily_digest', 'monthly_progress', 'schedule_pushed', 'test']);

/** One piece of news about one station (or a town, or for `test` none). */
export interface Notice {
  kind: NoticeKind;
  town: string | null;
  station_id: string | null;
  station_name: string | null;
  /** For the groups of `town` only, not the county's (`towns: all`) ones: a town's part of news they get whole. */
  town_groups_only?: boolean;
  /** What the words need beyond the station: the offline minutes, the device, the reason, a digest's rows. */
  detail?: Record<string, unknown>;
}

/** A digest row: a station and why it needs a visit. */
export interface DigestRow {
  name: string;
  town: string | null;
  /** The kinds of its open visit items (county/visits.ts VisitCauseKind), most urgent first. */
  why: VisitCauseKind[];
}

/** A monthly row: a town's progress (for the county's groups, one per town). */
export interface MonthRow {
  town: string | null;
  stations: number;
  sessions: number;
  hours: string;
  inactive: number;
}

type Words = Record<NoticeKind, (n: Notice, d: (k: string) => string) => string>;

const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
const rows = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
/** The console page a notice links to, in words ('' when no public URL is configured); `nl`: on a line of its own. */
const link = (n: Notice, lang: Lang, nl = false): string => (n.detail?.['link'] ? `${nl ? '\n' : lang === 'zh' ? '' : ' '}${lang === 'zh' ? '详情：' : 'Details: '}${str(n.detail['link'])}` : '');
/** `1 station`, `2 stations`. */
const count = (n: unknown, one: string, many: string): string => `${str(n)} ${Number(n) === 1 ? one : many}`;

/** Free space as people read it: `850 MB`, `1.2 GB`; '' when the station did not say. */
const size = (mb: unknown): string => (typeof mb !== 'number' ? '' : mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${Math.max(0, Math.round(mb))} MB`);

/** Room for lists inside one message (the robots take 2,048 bytes; the rest of the message is short). */
const LIST_BYTES = 1500;

/** `items` joined until `maxBytes`, then "and n more" in the language's words. */
export function boundedList(items: readonly string[], lang: Lang, maxBytes = LIST_BYTES): string {
  const sep = lang === 'zh' ? '、' : ', ';
  let out = '';
  for (let i = 0; i < items.length; i++) {
    const next = i === 0 ? items[i]! : `${out}${sep}${items[i]!}`;
    if (Buffer.byteLength(next, 'utf8') > maxBytes) return lang === 'zh' ? `${out}等 ${items.length} 个` : `${out} and ${items.length - i} more`;
    out = next;
  }
  return out;
}

const WHY: Record<Lang, Record<VisitCauseKind, string>> = {
  zh: { offline: '离线', silent: '失联', never: '从未上报', fault: '设备故障', lamp: '灯泡将到寿命', outbox: '数据积压', class_failed: '计划的课没有上成' },
  en: { offline: 'offline', silent: 'silent', never: 'never reported', fault: 'device fault', lamp: 'lamp near its end', outbox: 'records piling up', class_failed: 'a scheduled class failed' },
};

function digestList(n: Notice, lang: Lang): string {
  const items = rows<DigestRow>(n.detail?.['stations']).map((r) => {
    const why = r.why.map((w) => WHY[lang][w] ?? '').filter(Boolean).join(lang === 'zh' ? '、' : ', ');
    const name = n.town === null && r.town ? (lang === 'zh' ? `${r.town}${r.name}` : `${r.name} (${r.town})`) : r.name;
    return lang === 'zh' ? `${name}（${why}）` : `${name} (${why})`;
  });
  return boundedList(items, lang);
}

function monthTable(n: Notice, lang: Lang): string {
  return rows<MonthRow>(n.detail?.['towns'])
    .map((r) => {
      const town = r.town ?? (lang === 'zh' ? '未分镇' : 'no town');
      return lang === 'zh'
        ? `${town}：${r.stations} 个站点，${r.sessions} 场，${r.hours} 小时，${r.inactive} 个站点本月无放映`
        : `${town}: ${count(r.stations, 'station', 'stations')}, ${count(r.sessions, 'session', 'sessions')}, ${r.hours} h, ${r.inactive} with none this month`;
    })
    .join('\n');
}

const ZH: Words = {
  station_offline: (n, d) => `【需上门】${place(n, 'zh')}已离线 ${d('minutes')} 分钟。请联系站点管理员检查电脑、电源和网络。`,
  station_online: (n) => `【已恢复】${place(n, 'zh')}已重新上线。`,
  class_failed: (n, d) => `【上课失败】${place(n, 'zh')}的播放计划“${d('schedule')}”没有完成：${d('reason')}。请联系站点管理员。`,
  device_fault: (n, d) => `【设备故障】${place(n, 'zh')}的${d('device')}：${d('fault')}。${d('fix') || '请安排技术员上门检查。'}`,
  device_fault_cleared: (n, d) => `【故障已排除】${place(n, 'zh')}的${d('device')}已恢复正常${d('fault') ? `（${d('fault')}）` : ''}。`,
  disk_low: (n, d) => `【磁盘将满】${place(n, 'zh')}的电脑磁盘只剩 ${d('pct')}% 可用${size(n.detail?.['mb']) ? `（${size(n.detail?.['mb'])}）` : ''}。请联系站点管理员清理电脑磁盘空间。`,
  disk_ok: (n, d) => `【磁盘已清理】${place(n, 'zh')}的电脑磁盘已有 ${d('pct')}% 可用。`,
  daily_digest: (n, d) =>
    Number(d('count')) === 0
      ? `【今日巡检】${n.town ?? '全县'}（${d('date')}）：没有需要上门的站点。`
      : `【今日需上门】${n.town ?? '全县'}（${d('date')}）共 ${d('count')} 个站点：${digestList(n, 'zh')}。${link(n, 'zh')}`,
  monthly_progress: (n, d) =>
    n.town === null
      ? `【月度进度】${d('month')} 各镇截至 ${d('date')}：\n${monthTable(n, 'zh')}${link(n, 'zh', true)}`
      : `【月度进度】${n.town} ${d('month')} 截至 ${d('date')}：${d('stations')} 个站点共放映 ${d('sessions')} 场、${d('hours')} 小时；本月无放映的站点 ${d('inactive')} 个${rows(n.detail?.['inactive_names']).length ? `：${boundedList(rows<string>(n.detail?.['inactive_names']), 'zh')}` : ''}。${link(n, 'zh')}`,
  schedule_pushed: (n, d) => `【播放计划】县里向${n.town ?? '全县'}的 ${d('stations')} 个站点下发了播放计划：${d('what')}。请各站点按时开机放映。`,
  test: () => '【测试】这是县远教中心站点管理平台发出的测试消息，收到即说明群机器人设置正确。',
};

const EN: Words = {
  station_offline: (n, d) => `[Visit needed] ${place(n, 'en')} has been offline for ${d('minutes')} min. Ask the station's administrator to check the PC, its power and the network.`,
  station_online: (n) => `[Back online] ${place(n, 'en')} is online again.`,
  class_failed: (n, d) => `[Class failed] ${place(n, 'en')}: the schedule "${d('schedule')}" did not complete: ${d('reason')}. Contact the station's administrator.`,
  device_fault: (n, d) => `[Device fault] ${place(n, 'en')}, ${d('device')}: ${d('fault')}. ${d('fix') || 'Send a technician to check it.'}`,
  device_fault_cleared: (n, d) => `[Fault cleared] ${place(n, 'en')}, ${d('device')} works again${d('fault') ? ` (${d('fault')})` : ''}.`,
  disk_low: (n, d) => `[Disk nearly full] ${place(n, 'en')}: only ${d('pct')}% of the PC's disk is free${size(n.detail?.['mb']) ? ` (${size(n.detail?.['mb'])})` : ''}. Ask the station's administrator to free disk space.`,
  disk_ok: (n, d) => `[Disk space freed] ${place(n, 'en')}: ${d('pct')}% of the PC's disk is free again.`,
  daily_digest: (n, d) =>
    Number(d('count')) === 0
      ? `[Today's round] ${n.town ?? 'The county'} (${d('date')}): no station needs a visit.`
      : `[Visits today] ${n.town ?? 'The county'} (${d('date')}), ${count(d('count'), 'station', 'stations')}: ${digestList(n, 'en')}.${link(n, 'en')}`,
  monthly_progress: (n, d) =>
    n.town === null
      ? `[Monthly progress] ${d('month')}, every town up to ${d('date')}:\n${monthTable(n, 'en')}${link(n, 'en', true)}`
      : `[Monthly progress] ${n.town}, ${d('month')} up to ${d('date')}: ${count(d('stations'), 'station', 'stations')}, ${count(d('sessions'), 'session', 'sessions')}, ${d('hours')} h; ${count(d('inactive'), 'station', 'stations')} with none this month${rows(n.detail?.['inactive_names']).length ? `: ${boundedList(rows<string>(n.detail?.['inactive_names']), 'en')}` : ''}.${link(n, 'en')}`,
  schedule_pushed: (n, d) => `[Schedule] The county sent a viewing schedule to ${count(d('stations'), 'station', 'stations')} ${n.town ? `in ${n.town}` : 'of the county'}: ${d('what')}. Please switch on and show it on time.`,
  test: () => '[Test] A test message from the county station console: the group robot is set up correctly.',
};

function place(n: Notice, lang: Lang): string {
  const station = n.station_name ?? n.station_id ?? '?';
  if (!n.town) return station;
  return lang === 'zh' ? `${n.town}${station}` : `${station} (${n.town})`;
}

export function noticeText(n: Notice, lang: Lang): string {
  // A value made in both languages (`fault_zh`, `fault_en`) is read in the target's; others as they are.
  const d = (k: string): string => str(n.detail?.[`${k}_${lang}`] ?? n.detail?.[k]);
  return (lang === 'zh' ? ZH : EN)[n.kind](n, d);
}

/** Summaries: the same news about several stations of one town, naming each. */
const SUMMARY: Record<Lang, Partial<Record<NoticeKind, (town: string, count: number, names: string) => string>>> = {
  zh: {
    station_offline: (town, count, names) => `【需上门】${town}有 ${count} 个站点离线：${names}。请联系各站点管理员检查电脑、电源和网络。`,
    station_online: (town, count, names) => `【已恢复】${town}有 ${count} 个站点重新上线：${names}。`,
    class_failed: (town, count, names) => `【上课失败】${town}有 ${count} 个站点的播放计划没有完成：${names}。详情见平台站点页面。`,
    device_fault: (town, count, names) => `【设备故障】${town}有 ${count} 个站点报告设备故障：${names}。详情见平台站点页面。`,
    device_fault_cleared: (town, count, names) => `【故障已排除】${town}有 ${count} 个站点的设备已恢复：${names}。`,
    disk_low: (town, count, names) => `【磁盘将满】${town}有 ${count} 个站点的电脑磁盘快满了：${names}。请联系各站点管理员清理电脑磁盘空间。`,
    disk_ok: (town, count, names) => `【磁盘已清理】${town}有 ${count} 个站点的电脑磁盘已有空间：${names}。`,
  },
  en: {
    station_offline: (town, n, names) => `[Visit needed] ${count(n, 'station', 'stations')} offline in ${town}: ${names}. Ask each station's administrator to check the PC, its power and the network.`,
    station_online: (town, n, names) => `[Back online] ${count(n, 'station', 'stations')} online again in ${town}: ${names}.`,
    class_failed: (town, n, names) => `[Class failed] ${count(n, 'station', 'stations')} in ${town} did not complete a schedule: ${names}. See each station's page.`,
    device_fault: (town, n, names) => `[Device fault] ${count(n, 'station', 'stations')} in ${town} report a device fault: ${names}. See each station's page.`,
    device_fault_cleared: (town, n, names) => `[Fault cleared] devices work again at ${count(n, 'station', 'stations')} in ${town}: ${names}.`,
    disk_low: (town, n, names) => `[Disk nearly full] the PC's disk is nearly full at ${count(n, 'station', 'stations')} in ${town}: ${names}. Ask each station's administrator to free disk space.`,
    disk_ok: (town, n, names) => `[Disk space freed] the PC's disk has room again at ${count(n, 'station', 'stations')} in ${town}: ${names}.`,
  },
};

export function summaryText(kind: NoticeKind, lang: Lang, town: string | null, names: readonly string[]): string {
  const words = SUMMARY[lang][kind];
  const where = town ?? (lang === 'zh' ? '未分镇' : 'no town');
  const list = names.join(lang === 'zh' ? '、' : ', ');
  return words ? words(where, names.length, list) : list;
}
