/**
 * What the pages say, from plain rows: who needs a visit and why, town counts, escaping of what stations
 * report, times in the station's zone, the Chinese CSV built from the CLI report's own CSV, and the
 * zh/en catalogues.
 */
import { describe, it, expect } from 'vitest';
import type { FleetRow } from '../../../county/store.js';
import type { MonthlyReport } from '../../../county/report.js';
import { assembleReport, monthlyCsv } from '../../../county/report.js';
import { html, jsonBlock } from '../../../county/console/html.js';
import { CONSOLE_CATALOGUES, consoleTranslator, singularOne } from '../../../county/console/i18n.js';
import { judge, summarise, visitList } from '../../../county/console/pages/fleet.js';
import { localisedMonthlyCsv, shiftMonth } from '../../../county/console/pages/monthly.js';
import { PUSH_ROWS_SHOWN, shownRows } from '../../../county/console/pages/push.js';
import { PUSH_ANSWER_TIMEOUT_MS, pushCounts, shownStatus, summaryCounts } from '../../../county/console/push-status.js';
import { argsLine, scheduleWords, whenWords } from '../../../county/console/schedule-words.js';
import type { PushRow } from '../../../county/store.js';
import { lastRuns } from '../../../county/console/pages/station.js';
import { ageParts, localMonth, localTime, zoneWords } from '../../../county/console/time.js';
import { DEFAULT_VISIT_RULES } from '../../../county/visits.js';
import { openItems } from '../../helpers/visit-items.js';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

function row(id: string, over: Partial<FleetRow> = {}): FleetRow {
  return {
    station_id: id,
    name: null,
    town: '城关镇',
    county: null,
    level: 'village',
    timezone: 'Asia/Shanghai',
    online: true,
    boot: 1,
    status_ts: ago(3600),
    heartbeat_ts: ago(30),
    heartbeat_at: ago(30),
    outbox_depth: 0,
    watermark: 10,
    max_seq: 10,
    acked_seq: 10,
    quarantined: 0,
    ledger: '01TESTLEDGER000000000000AA',
    ledger_base: 0,
    ledger_changed_at: null,
    agent_version: '0.1.0',
    faults: [],
    lamp_warnings: [],
    status_at: ago(3600),
    status_reason: null,
    opening_hours: null,
    failed_classes: [],
    active_devices: [],
    ...over,
  };
}

describe('fleet judgement', () => {
  it('tells online, in class, shut down, offline, silent and never-seen stations apart, and lists the open items most urgent first', () => {
    const rows = [
      row('ok'),
      row('off', { online: false, status_at: ago(2 * 86_400), heartbeat_at: ago(2 * 86_400) }),
      row('shut', { online: false, status_reason: 'agent_stop', status_at: ago(2 * 86_400), heartbeat_at: ago(2 * 86_400) }),
      row('class', { active_devices: [{ device_id: 'proj', kind: 'projector' }] }),
      row('silent', { heartbeat_at: ago(20 * 60) }),
      row('never', { online: null, heartbeat_at: null, heartbeat_ts: null }),
      row('fault', { faults: [{ station_id: 'fault', device_id: 'proj', kind: 'projector', driver: 'pjlink', online: true, power: 'off', errors: [{ code: 'lamp', severity: 'error', text: 'lamp failure' }], lamp_hours: 10, ts: null, received_at: ago(5) }] }),
      row('lamp', { lamp_warnings: [{ device: 'proj', lamp_hours: 2950 }] }),
      row('backlog', { outbox_depth: 150 }),
    ];
    const items = openItems(rows, NOW);
    const views = rows.map((r) => judge(r, NOW, DEFAULT_VISIT_RULES, 'Asia/Shanghai', items));
    expect(views.map((v) => v.judgement.state)).toEqual(['online', 'offline', 'shutdown', 'in_class', 'silent', 'unknown', 'online', 'online', 'online']);
    expect(views.map((v) => v.visits.map((x) => x.kind))).toEqual([[], ['offline'], [], [], ['silent'], ['never'], ['fault'], ['lamp'], ['outbox']]);
    expect(visitList(views).map((v) => v.row.station_id)).toEqual(['off', 'never', 'silent', 'fault', 'lamp', 'backlog']);
    // An acknowledged station goes below those nobody has taken yet.
    const acked = views.map((v) => (v.row.station_id === 'off' ? { ...v, visits: v.visits.map((x) => ({ ...x, acked_at: ago(10), acked_by: 'wangli' })) } : v));
    expect(visitList(acked).map((v) => v.row.station_id)).toEqual(['never', 'silent', 'fault', 'lamp', 'backlog', 'off']);
    const { towns, total } = summarise(views);
    expect(total).toEqual({ town: null, stations: 9, online: 5, in_class: 1, shutdown: 1, offline: 3, faults: 1, lamps: 1 });
    expect(towns).toHaveLength(1);
  });
});

describe('rendering helpers', () => {
  it('escapes what stations report and keeps JSON blocks from closing their script element', () => {
    const name = '<img src=x onerror=alert(1)>"村"';
    expect(html`<td>${name}</td>`.text).toBe('<td>&lt;img src=x onerror=alert(1)&gt;&quot;村&quot;</td>');
    const block = jsonBlock('c1', { title: '</script><script>alert(1)</script>' }).text;
    expect(block).not.toContain('</script><script>');
    expect(JSON.parse(block.replace(/^<script[^>]*>/, '').replace(/<\/script>$/, ''))).toEqual({ title: '</script><script>alert(1)</script>' });
  });

  it('shows times in the station’s zone, never raw UTC', () => {
    expect(localTime('2026-10-31T16:30:00.000Z', 'Asia/Shanghai')).toBe('2026-11-01 00:30');
    expect(localTime('2026-10-31T16:30:05.000Z', 'Asia/Urumqi', true)).toBe('2026-10-31 22:30:05');
    expect(localTime(null, 'Asia/Shanghai')).toBe('');
    expect(localMonth(Date.parse('2026-10-31T16:30:00.000Z'), 'Asia/Shanghai')).toBe('2026-11');
    expect(ageParts(59)).toEqual({ n: 59, unit: 's' });
    expect(ageParts(3 * 3600 + 5)).toEqual({ n: 3, unit: 'h' });
  });

  it('reads the last run of each schedule from schedule_run events (newest first)', () => {
    const events = [
      { type: 'schedule_run', ts: ago(10), severity: 'warning', message: 'schedule a end: 1/2 steps ok', data: { schedule_id: 'a', phase: 'end', ok: false, steps: [{ status: 'ok' }, { status: 'timeout' }] } },
      { type: 'schedule_run', ts: ago(100), severity: 'info', message: 'schedule a start: 2/2 steps ok', data: { schedule_id: 'a', phase: 'start', ok: true, steps: [] } },
      { type: 'schedule_run', ts: ago(200), severity: 'info', message: 'schedule b start: 3/3 steps ok' },
    ];
    expect(lastRuns(events)).toEqual([
      { schedule: 'a', ts: ago(10), phase: 'end', ok: false, steps: { ok: 1, total: 2 }, event: events[0] },
      { schedule: 'b', ts: ago(200), phase: null, ok: true, steps: null, event: events[2] },
    ]);
  });

  it('lists a big push’s failures and unanswered stations first, up to the page’s limit', () => {
    const row = (i: number, status: PushRow['status']): PushRow => ({ push_id: 'p', transaction: `t${i}`, station_id: `st-${String(i).padStart(5, '0')}`, action: 'schedule.set', args: '{}', sent_at: ago(60), sent_by: 'a', status, response: null, responded_at: null });
    const rows = Array.from({ length: 3000 }, (_, i) => row(i, i % 100 === 7 ? 'error' : i % 10 === 3 ? 'sent' : 'ok'));
    const waiting = { nowMs: NOW, timeoutMs: PUSH_ANSWER_TIMEOUT_MS };
    const shown = shownRows(rows, waiting);
    expect(shown).toHaveLength(PUSH_ROWS_SHOWN);
    expect(shown.slice(0, 30).every((r) => r.status === 'error')).toBe(true);
    expect(shown.slice(30, 330).every((r) => r.status === 'sent')).toBe(true);
    expect(shown[330]!.status).toBe('ok');
    expect(shownRows(rows.slice(0, 10), waiting).map((r) => r.station_id)).toEqual(rows.slice(0, 10).map((r) => r.station_id));
    expect(pushCounts(rows, waiting)).toEqual({ ok: 2670, error: 30, pending: 300, silent: 0 });
    // Past the wait, the unanswered are silent: "no answer", never "waiting" for ever.
    const over = { nowMs: NOW, timeoutMs: 60_000 };
    expect(pushCounts(rows, over)).toEqual({ ok: 2670, error: 30, pending: 0, silent: 300 });
    expect(shownStatus(rows[3]!, over)).toBe('no_answer');
    expect(shownStatus(rows[7]!, over)).toBe('error');
    expect(summaryCounts({ sent_at: ago(60), stations: 10, ok: 6, error: 1 }, waiting)).toEqual({ ok: 6, error: 1, pending: 3, silent: 0 });
    expect(summaryCounts({ sent_at: ago(60), stations: 10, ok: 6, error: 1 }, over)).toEqual({ ok: 6, error: 1, pending: 0, silent: 3 });
    expect(PUSH_ANSWER_TIMEOUT_MS).toBe(10 * 60_000);
  });

  it('describes a pushed schedule in words, with the devices by their names and the zone in words', () => {
    const zh = consoleTranslator('zh');
    const w = { t: zh, device: (id: string) => ({ projector: '活动室投影机', amp: '功放' })[id] ?? id, input: (_d: string, code: string) => (code === '31' ? { code, kind: 'hdmi' as const, n: 1 } : undefined) };
    const s = { id: 'c', name: '冬训', cron: '30 19 * * 4,2', duration_min: 90, enabled: false, steps: [
      { device: 'projector', action: 'power', value: 'on', wait_for: 'on' },
      { device: 'projector', action: 'input', value: '31' },
      { device: 'projector', action: 'input', value: 'A6' },
      { device: 'amp', action: 'power', value: 'on' },
      { device: 'amp', action: 'volume', value: 40 },
      { device: 'projector', action: 'mute', value: false },
    ] };
    expect(scheduleWords(w, s, zoneWords('北京时间', 'zh', 'Asia/Shanghai'))).toEqual({
      title: '“冬训”（编号 c）',
      when: '时间：每周二、周四 19:30（北京时间）',
      duration: '时长：90 分钟',
      steps: ['活动室投影机：开机，等开机完成', '活动室投影机：切换到HDMI 1', '活动室投影机：切换到输入源 A6', '功放：开机', '功放：音量调到 40', '活动室投影机：取消静音'],
      end: '结束时：按相反顺序关闭功放、活动室投影机',
      disabled: '暂不启用：只保存到站点，启用后才按时执行',
    });
    expect(argsLine(w, JSON.stringify({ schedule: s }))).toBe('新增或替换“冬训”（编号 c）：每周二、周四 19:30，90 分钟');
    expect(argsLine({ t: consoleTranslator('en'), device: (x) => x }, JSON.stringify({ delete: 'c' }))).toBe('Delete schedule c');
    expect(whenWords(zh, '0 8 * * *')).toBe('每天 08:00');
    expect(whenWords(zh, '0 8 * * 0,1,2,3,4,5,6')).toBe('每天 08:00');
    expect(whenWords(zh, '0 20 1-7 * 2')).toBe('按站点设定的时间规则（0 20 1-7 * 2）');
    expect(zoneWords('北京时间', 'zh', 'Asia/Urumqi')).toBe('乌鲁木齐时间');
    expect(zoneWords('Beijing time', 'en', 'Asia/Chongqing')).toBe('Beijing time');
  });
});

describe('monthly CSV in Chinese', () => {
  it('steps months across year ends', () => {
    expect(shiftMonth('2026-12', 1)).toBe('2027-01');
    expect(shiftMonth('2026-01', -1)).toBe('2025-12');
    expect(shiftMonth('2026-06', -1)).toBe('2026-05');
  });

  it('is the CLI report’s CSV with Chinese headers and row kinds, numbers untouched', () => {
    const report: MonthlyReport = assembleReport(
      '2026-11',
      [{ station_id: 'a', name: '张家庄村, 东', town: '城关镇', timezone: null }],
      new Map([['a', { sessions: 2, duration_s: 5400, signal_s: 3600, short_sessions: 1, short_duration_s: 60 }]]),
    );
    const zh = localisedMonthlyCsv(report, consoleTranslator('zh'), 'zh');
    expect(zh.startsWith('\uFEFF月份,行类型,乡镇,站点编号,站点名称,使用次数,使用时长（小时）,')).toBe(true);
    const cli = monthlyCsv(report).split('\n');
    const ours = zh.slice(1).split('\n');
    expect(ours).toHaveLength(cli.length);
    // The month in words Excel keeps as text (a bare 2026-11 becomes a date), in both languages.
    expect(ours[1]).toBe(cli[1]!.replace('2026-11,station,', '2026年11月份,站点,'));
    expect(ours[1]).toContain('"张家庄村, 东"');
    expect(ours[2]).toBe(cli[2]!.replace('2026-11,town,', '2026年11月份,乡镇,'));
    expect(ours[3]).toBe(cli[3]!.replace('2026-11,total,', '2026年11月份,合计,'));
    const en = localisedMonthlyCsv(report, consoleTranslator('en'), 'en');
    expect(en.startsWith('\uFEFFmonth,row,')).toBe(true);
    expect(en.slice(1).split('\n').slice(1)).toEqual(cli.slice(1).map((l) => l.replace(/^2026-11,/, '2026-11 (month),')));
  });
});

describe('console catalogues', () => {
  it('have the same keys and placeholders in zh and en, none empty', () => {
    expect(Object.keys(CONSOLE_CATALOGUES.zh).sort()).toEqual(Object.keys(CONSOLE_CATALOGUES.en).sort());
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(CONSOLE_CATALOGUES.en) as Array<keyof typeof CONSOLE_CATALOGUES.en>) {
      expect(CONSOLE_CATALOGUES.zh[key].trim(), key).not.toBe('');
      expect(names(CONSOLE_CATALOGUES.zh[key]), key).toEqual(names(CONSOLE_CATALOGUES.en[key]));
    }
  });

  it('leaves no English word untranslated in Chinese (codes, units and command-line options aside)', () => {
    // Product names a technician knows by these letters (CEC, MediaMTX, the sockets of a projector) and the
    // values a schedule step takes as typed (on, off, toggle: each is followed by its Chinese meaning) stay
    // as they are; so does Excel, the name every clerk knows the spreadsheet by (下载 Excel, as 下载 CSV).
    // Never `cron`, nor a zone's IANA name (北京时间 instead).
    const allowed = /^(LED|CPU|MB|CSV|Excel|CEC|MediaMTX|HDMI|DVI|DP|HDBaseT|SDI|USB|on|off|toggle|English|id|csv)$/;
    for (const [k, v] of Object.entries(CONSOLE_CATALOGUES.zh)) {
      const words = v.replace(/\{\w+\}/g, '').replace(/--[a-z-]+/g, '').match(/[A-Za-z]{2,}/g) ?? [];
      expect(words.filter((w) => !allowed.test(w)), k).toEqual([]);
    }
  });
});

describe('English counts', () => {
  it('puts a count of one in the singular, and nothing else', () => {
    const en = consoleTranslator('en');
    expect(en('push.title', { action: 'schedule.set', n: 1 })).toBe('Sent schedule.set to 1 station');
    expect(en('push.title', { action: 'schedule.set', n: 11 })).toBe('Sent schedule.set to 11 stations');
    expect(en('push.title', { action: 'schedule.set', n: 21 })).toBe('Sent schedule.set to 21 stations');
    expect(en('age.d', { n: 1 })).toBe('1 day ago');
    expect(en('fleet.summary', { stations: 1, online: 1, offline: 0, faults: 0, lamps: 0 })).toMatch(/^1 station: 1 online/);
    expect(singularOne('0.1 days, 2.1 days, 1 rows')).toBe('0.1 days, 2.1 days, 1 row');
    expect(consoleTranslator('zh')('push.title', { action: 'x', n: 1 })).not.toMatch(/station/);
  });
});
