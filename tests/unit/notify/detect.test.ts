/**
 * What is news (county/notify/offline.ts, detect.ts, periodic.ts): the offline rule, county/visits.ts's
 * visit rule (a clean stop is no news, a Will or silence longer than the threshold inside opening hours
 * is), events turned into messages of the configured
 * codes with the marks that keep them from being told twice, the day's digest and the month's progress
 * per town and for the county, the quiet hours, and every message in zh and en.
 */
import { describe, expect, it } from 'vitest';
import { NotifyRulesSchema } from '../../../county/notify/config.js';
import { classFailure, eventNews, faultOf, linkNews } from '../../../county/notify/detect.js';
import { noticeText, type Notice } from '../../../county/notify/messages.js';
import { linkVerdict } from '../../../county/notify/offline.js';
import { countyClock, digestDue, digestNews, inQuietHours, monthlyDue, monthlyNews } from '../../../county/notify/periodic.js';
import { faultMark, offlineMark, type NotifyEventScan, type NotifyStationRow } from '../../../county/notify/queue.js';
import { assembleReport } from '../../../county/report.js';
import type { FleetRow } from '../../../county/store.js';
import { fleetViews } from '../../../county/console/pages/fleet.js';
import { planVisits } from '../../../county/visit-lifecycle.js';
import type { VisitRow } from '../../../county/visit-store.js';
import { DEFAULT_VISIT_RULES, judgeStation } from '../../../county/visits.js';

const NOW = Date.parse('2026-12-07T02:00:00Z'); // 10:00 in Beijing
const iso = (agoS: number) => new Date(NOW - agoS * 1000).toISOString();
const rules = NotifyRulesSchema.parse({ station_offline_after_s: 600 });
const TZ = 'Asia/Shanghai';
/** The visit rule with the messages' threshold of 600 s (silence stays the rule's 15 minutes). */
const judge = { rules: { ...DEFAULT_VISIT_RULES, offlineAfterS: 600 }, countyTz: TZ };
const verdict = (s: NotifyStationRow) => linkVerdict(s, NOW, judge.rules, TZ);
const targets = [
  { id: 'county', towns: 'all' as const },
  { id: 'cg', towns: ['城关镇'] },
  { id: 'hk', towns: ['河口镇'] },
];
const station = (id: string, o: Partial<NotifyStationRow>): NotifyStationRow => ({ station_id: id, name: `${id}村`, town: '城关镇', timezone: TZ, opening_hours: null, online: false, status_at: iso(700), status_reason: null, heartbeat_at: iso(800), ...o });

describe('the offline rule (the console\'s visit rule, county/visits.ts, for a station\'s link)', () => {
  it('is a visit after a Will or silence longer than the threshold, never after a clean stop', () => {
    expect(verdict(station('a', {}))).toEqual({ state: 'offline', sinceMs: NOW - 700_000 });
    expect(verdict(station('a', { status_at: iso(500) }))).toEqual({ state: 'neither' });
    expect(verdict(station('a', { status_reason: 'agent_stop', status_at: iso(99_999) }))).toEqual({ state: 'neither' });
    // Online by its status but silent: no heartbeat for the rule's 15 minutes, lost since the last heartbeat.
    expect(verdict(station('a', { online: true, status_at: iso(3_000), heartbeat_at: iso(1_000) }))).toEqual({ state: 'offline', sinceMs: NOW - 1_000_000 });
    expect(verdict(station('a', { online: true, status_at: iso(3_000), heartbeat_at: iso(650) }))).toEqual({ state: 'online' });
    expect(verdict(station('a', { online: true, status_at: iso(10), heartbeat_at: null }))).toEqual({ state: 'online' });
    // Never heard a status or heartbeat from: no moment it was lost (the digest lists it, no message of its own).
    expect(verdict(station('a', { online: null, status_at: null, heartbeat_at: null }))).toEqual({ state: 'neither' });
  });

  it('counts the threshold inside the station\'s opening hours (its own zone), and says nothing outside them', () => {
    // NOW is Monday 10:00 in Beijing; lost since 07:00.
    const lost = { status_at: iso(3 * 3600) };
    const hours = (from: string, to: string) => ({ opening_hours: [{ days: ['mon' as const], from, to }] });
    expect(verdict(station('a', { ...lost, ...hours('08:00', '12:00') }))).toEqual({ state: 'offline', sinceMs: NOW - 3 * 3_600_000 });
    // Opened five minutes ago: not yet the threshold within its hours.
    expect(verdict(station('a', { ...lost, ...hours('09:55', '12:00') }))).toEqual({ state: 'neither' });
    expect(verdict(station('a', { ...lost, ...hours('14:00', '18:00') }))).toEqual({ state: 'neither' });
    // The same hours in a zone where it is now 11:00 (Tokyo): open since three hours.
    expect(verdict(station('a', { ...lost, ...hours('08:00', '10:30'), timezone: 'Asia/Tokyo' }))).toEqual({ state: 'neither' });
    expect(verdict(station('a', { ...lost, ...hours('08:00', '10:30'), timezone: null }))).toEqual({ state: 'offline', sinceMs: NOW - 3 * 3_600_000 });
  });

  it('tells a station offline once and back online once, to the groups of its town and the county\'s', () => {
    const rows = [station('a', {}), station('b', { town: '河口镇', status_reason: 'agent_stop' }), station('c', { online: true, status_at: iso(5), heartbeat_at: iso(4) })];
    const first = linkNews(rows, new Set(), NOW, judge, targets);
    expect(first).toEqual([
      {
        items: [
          { target: 'county', notice: { kind: 'station_offline', town: '城关镇', station_id: 'a', station_name: 'a村', detail: { minutes: 12 } } },
          { target: 'cg', notice: { kind: 'station_offline', town: '城关镇', station_id: 'a', station_name: 'a村', detail: { minutes: 12 } } },
        ],
        guard: { key: offlineMark('a'), present: false },
        marks: [{ key: offlineMark('a'), value: String(NOW - 700_000) }],
      },
    ]);
    // Still offline, already told: nothing; c was marked and is back.
    const again = linkNews(rows, new Set([offlineMark('a'), offlineMark('c')]), NOW, judge, targets);
    expect(again).toEqual([
      {
        items: [
          { target: 'county', notice: { kind: 'station_online', town: '城关镇', station_id: 'c', station_name: 'c村' } },
          { target: 'cg', notice: { kind: 'station_online', town: '城关镇', station_id: 'c', station_name: 'c村' } },
        ],
        guard: { key: offlineMark('c'), present: true },
        marks: [{ key: offlineMark('c'), value: null }],
      },
    ]);
    expect(noticeText(first[0]!.items[0]!.notice, 'zh')).toBe('【需上门】城关镇a村已离线 12 分钟。请联系站点管理员检查电脑、电源和网络。');
    expect(noticeText(again[0]!.items[0]!.notice, 'en')).toBe('[Back online] c村 (城关镇) is online again.');
  });
});

const ev = (seq: number, type: string, data: Record<string, unknown>, device?: string) => ({ station_id: 's1', seq, payload: JSON.stringify({ v: 1, seq, type, severity: 'warning', message: `${type} message`, ...(device ? { device } : {}), data, boot: 1 }) });

describe('news from stored events', () => {
  const scan = (events: NotifyEventScan['events'], cursor: number | null = 10): NotifyEventScan => ({ stations: [{ station_id: 's1', name: '张家庄村', town: '城关镇', cursor, watermark: 20 }], events });

  it('tells a failed class once with why, in both languages, and moves the cursor', () => {
    const run = { schedule_id: 'winter-class', run_id: 'R1', phase: 'start', ok: false, steps: [{ device: 'projector', action: 'power', value: 'on', status: 'timeout', ms: 60000 }, { device: 'amp', action: 'volume', value: 30, status: 'ok', ms: 5 }] };
    const news = eventNews(scan([ev(11, 'schedule_run', run), ev(12, 'schedule_run', { ...run, ok: true })]), rules, targets);
    expect(news).toHaveLength(2);
    const notice = news[0]!.items[0]!.notice;
    expect(news[0]!.items.map((i) => i.target)).toEqual(['county', 'cg']);
    expect(news[0]!.guard).toEqual({ key: expect.stringMatching(/^once:class:/), present: false });
    expect(noticeText(notice, 'zh')).toBe('【上课失败】城关镇张家庄村的播放计划“winter-class”没有完成：projector power on：超时。请联系站点管理员。');
    expect(noticeText(notice, 'en')).toBe('[Class failed] 张家庄村 (城关镇): the schedule "winter-class" did not complete: projector power on: timed out. Contact the station\'s administrator.');
    expect(news[1]).toEqual({ items: [], cursor: { station_id: 's1', seq: 20 } });
    expect(classFailure({ steps: [{ device: 'p', action: 'power', value: 'on', status: 'failed', error: { code: 'device_offline' } }] }, 'zh')).toBe('p power on：设备离线');
    expect(classFailure({}, 'en')).toBe('no step succeeded');
  });

  it('tells a configured device fault once and its clearing only after it, in the catalogue\'s words', () => {
    const news = eventNews(
      scan([
        ev(11, 'device_fault', { code: 'lamp', text: 'Lamp failure', fault_severity: 'error' }, 'projector'),
        ev(12, 'device_fault', { code: 'cover_open', text: 'Cover open' }, 'projector'), // not configured
        ev(13, 'device_fault_cleared', { code: 'lamp' }, 'projector'),
        ev(14, 'lamp_warning', { lamp_hours: 2900, lamp_warn_hours: 2800 }, 'projector'),
      ]),
      rules,
      targets,
    );
    expect(news.map((n) => [n.items[0]?.notice.kind ?? null, n.guard ?? null])).toEqual([
      ['device_fault', { key: faultMark('s1', 'projector', 'lamp'), present: false }],
      ['device_fault_cleared', { key: faultMark('s1', 'projector', 'lamp'), present: true }],
      ['device_fault', { key: faultMark('s1', 'projector', 'lamp_hours'), present: false }],
      [null, null],
    ]);
    expect(news[0]!.marks).toEqual([{ key: faultMark('s1', 'projector', 'lamp'), value: '11' }]);
    expect(news[1]!.marks).toEqual([{ key: faultMark('s1', 'projector', 'lamp'), value: null }]);
    const [fault, cleared, hours] = news.map((n) => n.items[0]?.notice) as Notice[];
    expect(noticeText(fault!, 'zh')).toMatch(/^【设备故障】城关镇张家庄村的projector：.*灯泡.*。请安排技术员上门检查。$/);
    expect(noticeText(fault!, 'en')).toMatch(/^\[Device fault\] 张家庄村 \(城关镇\), projector: .*lamp.*\. Send a technician to check it\.$/i);
    expect(noticeText(cleared!, 'zh')).toMatch(/^【故障已排除】城关镇张家庄村的projector已恢复正常（.*灯泡.*）。$/);
    expect(noticeText(hours!, 'zh')).toContain('2900');
    expect(faultOf({ type: 'device_fault', severity: 'warning', message: '', data: { code: 'lamp', fault_severity: 'warning' } })).toEqual({ code: 'lamp_warning', raise: true });
    expect(faultOf({ type: 'device_online', severity: 'info', message: '' })).toEqual({ code: 'device_offline', raise: false });
    expect(faultOf({ type: 'agent_start', severity: 'info', message: '' })).toBeUndefined();
  });

  it('starts a station seen for the first time at its watermark, without telling its past', () => {
    expect(eventNews(scan([], null), rules, targets)).toEqual([{ items: [], cursor: { station_id: 's1', seq: 20 } }]);
  });

  it('marks a station\'s own words as its own when its event lacks what our words need', () => {
    const news = eventNews(scan([ev(11, 'lamp_warning', {}, 'projector')]), rules, targets);
    expect(noticeText(news[0]!.items[0]!.notice, 'zh')).toBe('【设备故障】城关镇张家庄村的projector：站点原文“lamp_warning message”。请安排技术员上门检查。');
    expect(noticeText(news[0]!.items[0]!.notice, 'en')).toBe('[Device fault] 张家庄村 (城关镇), projector: the station says "lamp_warning message". Send a technician to check it.');
  });
});

const fleetRow = (id: string, town: string | null, o: Partial<FleetRow> = {}): FleetRow =>
  ({ station_id: id, name: `${id}村`, town, county: null, level: null, timezone: null, online: true, boot: 1, status_ts: null, status_at: null, status_reason: null, heartbeat_ts: null, heartbeat_at: new Date(NOW - 60_000).toISOString(), outbox_depth: 0, watermark: 0, max_seq: 0, acked_seq: 0, quarantined: 0, ledger: null, ledger_base: 0, ledger_changed_at: null, opening_hours: null, agent_version: '0.1.0', faults: [], lamp_warnings: [], failed_classes: [], active_devices: [], ...o }) as FleetRow;

/** The fleet as the console lists it: each station's open items as one lifecycle pass over no items opens them. */
function withItems(rows: FleetRow[]) {
  const plan = planVisits(rows.map((r) => judgeStation(r, NOW, DEFAULT_VISIT_RULES, TZ)), []);
  const live: VisitRow[] = plan.open.map((o, i) => ({ id: i + 1, ...o, opened_at: iso(0), acked_at: null, acked_by: null, note: null, cleared_at: null, cleared_by: null, rearmed: false }));
  return fleetViews(rows, NOW, DEFAULT_VISIT_RULES, TZ, live);
}

describe('news on the county\'s clock', () => {
  it('reads the county\'s wall clock, the quiet hours across midnight, and each window', () => {
    expect(countyClock(NOW, 'Asia/Shanghai')).toEqual({ date: '2026-12-07', month: '2026-12', day: 7, minutes: 600 });
    const q = NotifyRulesSchema.parse({ quiet_hours: { from: '22:00', to: '07:00' } });
    expect([Date.parse('2026-12-07T13:59:00Z'), Date.parse('2026-12-07T14:00:00Z'), Date.parse('2026-12-07T22:59:00Z'), Date.parse('2026-12-07T23:00:00Z')].map((t) => inQuietHours(t, q))).toEqual([false, true, true, false]);
    expect(inQuietHours(NOW, rules)).toBe(false);
    expect(inQuietHours(NOW, NotifyRulesSchema.parse({ quiet_hours: { from: '09:00', to: '11:00' } }))).toBe(true);
    // The digest at 08:00 is due until 11:00 (a restarted collector still sends it), not after.
    expect(digestDue(NOW, rules)).toBe('2026-12-07');
    expect(digestDue(Date.parse('2026-12-06T23:59:00Z'), rules)).toBeUndefined();
    expect(digestDue(Date.parse('2026-12-07T03:00:00Z'), rules)).toBeUndefined();
    expect(monthlyDue(NOW, NotifyRulesSchema.parse({ monthly: { day: 7, time: '09:30' } }))).toBe('2026-12');
    expect(monthlyDue(NOW, NotifyRulesSchema.parse({ monthly: { day: 7, time: '10:30' } }))).toBeUndefined();
    expect(monthlyDue(NOW, rules)).toBeUndefined();
  });

  it('sends the day\'s digest per town to the towns\' groups and whole to the county\'s, with a link', () => {
    const fleet = [
      fleetRow('a', '城关镇', { online: false, status_at: iso(7_200) }),
      fleetRow('b', '城关镇'),
      // Shut down cleanly (已关机): not on the list.
      fleetRow('e', '城关镇', { online: false, status_at: iso(7_200), status_reason: 'agent_stop' }),
      fleetRow('c', '河口镇', { lamp_warnings: [{ device: 'projector', lamp_hours: 2900 }] }),
      fleetRow('d', '河口镇', { heartbeat_at: new Date(NOW - 3_600_000).toISOString() }),
    ];
    const news = digestNews('2026-12-07', withItems(fleet), NOW, { console_url: 'https://stations.county.example/' }, targets);
    expect(news.guard).toEqual({ key: 'once:digest:2026-12-07', present: false });
    const text = (target: string, lang: 'zh' | 'en') => news.items.filter((i) => i.target === target).map((i) => noticeText(i.notice, lang));
    expect(text('cg', 'zh')).toEqual(['【今日需上门】城关镇（2026-12-07）共 1 个站点：a村（离线）。详情：https://stations.county.example/fleet?state=visit&town=%E5%9F%8E%E5%85%B3%E9%95%87']);
    // In the console list's order: the most urgent cause first.
    expect(text('hk', 'en')).toEqual(['[Visits today] 河口镇 (2026-12-07), 2 stations: d村 (silent), c村 (lamp near its end). Details: https://stations.county.example/fleet?state=visit&town=%E6%B2%B3%E5%8F%A3%E9%95%87']);
    expect(text('county', 'zh')).toEqual(['【今日需上门】全县（2026-12-07）共 3 个站点：城关镇a村（离线）、河口镇d村（失联）、河口镇c村（灯泡将到寿命）。详情：https://stations.county.example/fleet?state=visit']);
    const quiet = digestNews('2026-12-07', withItems([fleetRow('b', '城关镇'), fleetRow('e', '城关镇', { online: false, status_at: iso(7_200), status_reason: 'agent_stop' })]), NOW, {}, targets);
    expect(quiet.items.filter((i) => i.target === 'cg').map((i) => noticeText(i.notice, 'zh'))).toEqual(['【今日巡检】城关镇（2026-12-07）：没有需要上门的站点。']);
  });

  it('sends the month\'s progress per town with its stations without a class, and every town to the county', () => {
    const stations = [
      { station_id: 'a', name: 'a村', town: '城关镇', timezone: null },
      { station_id: 'b', name: 'b村', town: '城关镇', timezone: null },
      { station_id: 'c', name: 'c村', town: '河口镇', timezone: null },
    ];
    const sums = new Map([['a', { sessions: 3, duration_s: 3 * 5400, signal_s: 0, short_sessions: 0, short_duration_s: 0 }]]);
    const news = monthlyNews(assembleReport('2026-12', stations, sums), '2026-12-20', NOW, { console_url: 'https://s.example' }, targets);
    const text = (target: string, lang: 'zh' | 'en') => news.items.filter((i) => i.target === target).map((i) => noticeText(i.notice, lang));
    expect(news.guard).toEqual({ key: 'once:monthly:2026-12', present: false });
    expect(text('cg', 'zh')).toEqual(['【月度进度】城关镇 2026-12 截至 2026-12-20：2 个站点共放映 3 场、4.50 小时；本月无放映的站点 1 个：b村。详情：https://s.example/monthly?month=2026-12&town=%E5%9F%8E%E5%85%B3%E9%95%87']);
    expect(text('county', 'en')).toEqual(['[Monthly progress] 2026-12, every town up to 2026-12-20:\n城关镇: 2 stations, 3 sessions, 4.50 h, 1 with none this month\n河口镇: 1 station, 0 sessions, 0.00 h, 1 with none this month\nDetails: https://s.example/monthly?month=2026-12']);
  });

  it('says a pushed schedule and a test in both languages', () => {
    const pushed: Notice = { kind: 'schedule_pushed', town: '城关镇', station_id: null, station_name: null, detail: { stations: 12, what_zh: '计划 winter（冬季）：每周二 19:30，90 分钟', what_en: 'schedule winter: Tuesdays 19:30, 90 min' } };
    expect(noticeText(pushed, 'zh')).toBe('【播放计划】县里向城关镇的 12 个站点下发了播放计划：计划 winter（冬季）：每周二 19:30，90 分钟。请各站点按时开机放映。');
    expect(noticeText(pushed, 'en')).toBe('[Schedule] The county sent a viewing schedule to 12 stations in 城关镇: schedule winter: Tuesdays 19:30, 90 min. Please switch on and show it on time.');
    expect(noticeText({ kind: 'test', town: null, station_id: null, station_name: null }, 'en')).toMatch(/^\[Test\]/);
  });
});
