/**
 * What the county tells its WeCom/DingTalk/Feishu groups, in the words the console and stationctl use:
 * each message names the town, the station, what happened and what to do. Chinese by default, English
 * per target. Several stations in one town with the same news become one message that names them all.
 */
import type { Lang } from '../../protocol/words/index.js';

export const NOTICE_KINDS = ['station_offline', 'station_online', 'class_failed', 'device_fault', 'device_fault_cleared', 'test'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** One piece of news about one station (or, for `test`, about none). */
export interface Notice {
  kind: NoticeKind;
  town: string | null;
  station_id: string | null;
  station_name: string | null;
  /** What the words need beyond the station: the offline minutes, the device, the reason. */
  detail?: Record<string, string | number>;
}

type Words = Record<NoticeKind, (n: Notice, d: (k: string) => string) => string>;

const ZH: Words = {
  station_offline: (n, d) => `【需上门】${place(n, 'zh')}已离线 ${d('minutes')} 分钟。请联系站点管理员检查电脑、电源和网络。`,
  station_online: (n) => `【已恢复】${place(n, 'zh')}已重新上线。`,
  class_failed: (n, d) => `【上课失败】${place(n, 'zh')}的播放计划“${d('schedule')}”没有完成：${d('reason')}。请联系站点管理员。`,
  device_fault: (n, d) => `【设备故障】${place(n, 'zh')}的${d('device')}：${d('fault')}。${d('fix')}`,
  device_fault_cleared: (n, d) => `【故障已排除】${place(n, 'zh')}的${d('device')}已恢复正常。`,
  test: () => '【测试】这是县远教中心站点管理平台发出的测试消息，收到即说明群机器人设置正确。',
};

const EN: Words = {
  station_offline: (n, d) => `[Visit needed] ${place(n, 'en')} has been offline for ${d('minutes')} min. Ask the station's administrator to check the PC, its power and the network.`,
  station_online: (n) => `[Back online] ${place(n, 'en')} is online again.`,
  class_failed: (n, d) => `[Class failed] ${place(n, 'en')}: the schedule "${d('schedule')}" did not complete: ${d('reason')}. Contact the station's administrator.`,
  device_fault: (n, d) => `[Device fault] ${place(n, 'en')}, ${d('device')}: ${d('fault')}. ${d('fix')}`,
  device_fault_cleared: (n, d) => `[Fault cleared] ${place(n, 'en')}, ${d('device')} works again.`,
  test: () => '[Test] A test message from the county station console: the group robot is set up correctly.',
};

function place(n: Notice, lang: Lang): string {
  const station = n.station_name ?? n.station_id ?? '?';
  if (!n.town) return station;
  return lang === 'zh' ? `${n.town}${station}` : `${station} (${n.town})`;
}

export function noticeText(n: Notice, lang: Lang): string {
  const d = (k: string): string => String(n.detail?.[k] ?? '');
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
  },
  en: {
    station_offline: (town, count, names) => `[Visit needed] ${count} stations offline in ${town}: ${names}. Ask each station's administrator to check the PC, its power and the network.`,
    station_online: (town, count, names) => `[Back online] ${count} stations online again in ${town}: ${names}.`,
    class_failed: (town, count, names) => `[Class failed] ${count} stations in ${town} did not complete a schedule: ${names}. See each station's page.`,
    device_fault: (town, count, names) => `[Device fault] ${count} stations in ${town} report a device fault: ${names}. See each station's page.`,
    device_fault_cleared: (town, count, names) => `[Fault cleared] devices work again at ${count} stations in ${town}: ${names}.`,
  },
};

export function summaryText(kind: NoticeKind, lang: Lang, town: string | null, names: readonly string[]): string {
  const words = SUMMARY[lang][kind];
  const where = town ?? (lang === 'zh' ? '未分镇' : 'no town');
  const list = names.join(lang === 'zh' ? '、' : ', ');
  return words ? words(where, names.length, list) : list;
}
