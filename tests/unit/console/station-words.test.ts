/**
 * What stations send, in the clerk's language: fault codes and events put in the agent's own words (the
 * ones stationctl shows), in zh and en; what the catalogue does not know shown as the station's own
 * text, marked; and whole pages in Chinese with no English sentence left but names.
 */
import { describe, it, expect } from 'vitest';
import { eventWords } from '../../../protocol/words/events.js';
import { faultWords } from '../../../protocol/words/faults.js';
import { translator } from '../../../agent/i18n/index.js';
import type { DeviceRow, FleetRow, PushRow } from '../../../county/store.js';
import { consoleTranslator, label, type Lang } from '../../../county/console/i18n.js';
import type { PageContext } from '../../../county/console/layout.js';
import { renderFleet } from '../../../county/console/pages/fleet.js';
import { answerWords } from '../../../county/console/pages/push.js';
import { renderStation } from '../../../county/console/pages/station.js';
import { eventHtml, faultHtml, tHtml } from '../../../county/console/station-words.js';
import { html } from '../../../county/console/html.js';
import { DEFAULT_VISIT_RULES } from '../../../county/visits.js';
import { openItems } from '../../helpers/visit-items.js';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const zh = translator('zh');
const en = translator('en');
const ctxOf = (lang: Lang): PageContext => ({ t: consoleTranslator(lang), lang, path: '/', signIn: undefined, tz: 'Asia/Shanghai' });

/** What a reader sees: the text of the page, without tags, attributes (tooltips) or the page's frame. */
function visibleText(page: string): string {
  return page
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<\/?(span|q|a|b)\b[^>]*>/g, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

describe('device faults in words', () => {
  it('name a known code in the catalogue’s words, in zh and en, whatever the station wrote', () => {
    // PJLink ERST position 2 = error (drivers/pjlink/protocol.ts writes "lamp error").
    expect(faultWords(zh, { code: 'lamp', severity: 'error', text: 'lamp error' })).toEqual({ own: false, text: '灯泡故障' });
    expect(faultWords(en, { code: 'lamp', severity: 'error', text: 'lamp error' })).toEqual({ own: false, text: 'lamp failure' });
    // A lamp warning is not a lamp failure.
    expect(faultWords(zh, { code: 'lamp', severity: 'warning', text: 'lamp warning' }).text).toBe('灯泡寿命将尽');
    // The supervisor's codes: a silent Modbus unit is unreachable to the agent.
    expect(faultWords(zh, { code: 'unreachable', severity: 'error', text: 'unit 1 did not answer read coils within 500 ms' }).text).toBe('无法连接');
    expect(faultWords(en, { code: 'fan', severity: 'error', text: 'fan error' }).text).toBe('fan failure');
    expect(faultWords(zh, { code: 'temperature', severity: 'error', text: 'x' }).text).toBe('机内温度过高');
  });

  it('fall back to the station’s text for a code the catalogue does not know, or to the code when there is no text', () => {
    expect(faultWords(zh, { code: 'laser_module', severity: 'error', text: 'laser module worn' })).toEqual({ own: true, text: 'laser module worn', code: 'laser_module' });
    expect(faultWords(en, { code: 'laser_module', severity: 'error', text: '' })).toEqual({ own: true, text: 'laser_module', code: 'laser_module' });
  });

  it('render ours plainly with the station’s text on hover, and the station’s own words marked and escaped', () => {
    const known = faultHtml(ctxOf('zh'), { code: 'lamp', severity: 'error', text: 'lamp error' }).text;
    expect(known).toBe('<span title="lamp error">灯泡故障</span>');
    const own = faultHtml(ctxOf('zh'), { code: 'x1', severity: 'error', text: '<b>board on fire</b>' }).text;
    expect(own).toContain('<span class="own-tag">站点原文</span>');
    expect(own).toContain('<q>&lt;b&gt;board on fire&lt;/b&gt;</q>');
    expect(faultHtml(ctxOf('en'), { code: 'x1', severity: 'error', text: 'board on fire' }).text).toContain('station’s words');
    // Untrusted and unbounded: a station's text is clipped.
    expect(faultHtml(ctxOf('zh'), { code: 'x1', severity: 'error', text: 'a'.repeat(5000) }).text.length).toBeLessThan(600);
  });
});

describe('events in words', () => {
  const ev = (type: string, severity: string, message: string, data?: Record<string, unknown>) => ({ type, severity, message, data, boot: 2 });

  it('rebuild a real agent’s events from their data in Chinese, and show its message in English, as stationctl does', () => {
    const run = ev('schedule_run', 'warning', 'schedule tuesday-class start: 2/3 steps ok', { schedule_id: 'tuesday-class', phase: 'start', ok: false, steps: [{ status: 'ok' }, { status: 'ok' }, { status: 'timeout' }] });
    expect(eventWords(zh, 'zh', run, 'Asia/Shanghai')).toEqual({ own: false, text: 'tuesday-class 开始：2/3 步成功' });
    expect(eventWords(en, 'en', run, 'Asia/Shanghai')).toEqual({ own: false, text: 'schedule tuesday-class start: 2/3 steps ok' });
    const fault = ev('device_fault', 'error', 'projector: lamp error', { code: 'lamp', text: 'lamp error', fault_severity: 'error' });
    expect(eventWords(zh, 'zh', fault, 'Asia/Shanghai').text).toBe('灯泡故障');
    expect(eventWords(zh, 'zh', ev('device_fault_cleared', 'info', 'projector: fault lamp cleared', { code: 'lamp' }), 'Asia/Shanghai').text).toBe('灯泡故障');
    expect(eventWords(zh, 'zh', ev('lamp_warning_cleared', 'info', 'projector-1: lamp at 12 h, below 3000 h again', { lamp_hours: 12, lamp_warn_hours: 3000 }), 'UTC').text).toBe('12 小时（提醒阈值 3000 小时）');
    expect(eventWords(zh, 'zh', ev('device_online', 'info', 'amp is back online'), 'UTC')).toEqual({ own: false, text: '' });
    // The one English line holding a UTC time is rebuilt in the station's zone.
    const loss = ev('power_loss_recovered', 'warning', 'usage session 01HY closed at its last checkpoint (2026-11-28T12:34:00.000Z)', { seq: 12, end: '2026-11-28T12:34:00.000Z' });
    expect(eventWords(en, 'en', loss, 'Asia/Urumqi').text).toBe('usage record #12 closed at its last checkpoint 2026-11-28 18:34');
  });

  it('give the station’s own message, marked, for an unknown type, an unknown fault code or missing data', () => {
    expect(eventWords(zh, 'zh', ev('firmware_update', 'info', 'firmware 2.1 installed'), 'UTC')).toEqual({ own: true, text: 'firmware 2.1 installed' });
    // The fleet simulator's events carry no data.
    expect(eventWords(zh, 'zh', ev('device_fault', 'error', 'relay does not answer'), 'UTC')).toEqual({ own: true, text: 'relay does not answer' });
    expect(eventWords(zh, 'zh', ev('lamp_warning', 'warning', 'lamp hours above the warning threshold', { lamp_hours: '3010' }), 'UTC').own).toBe(true);
    expect(eventWords(en, 'en', ev('device_fault', 'error', 'proj: laser worn', { code: 'laser', text: 'laser worn' }), 'UTC')).toEqual({ own: true, text: 'laser worn', code: 'laser' });
    const h = eventHtml(ctxOf('zh'), { type: 'device_fault', severity: 'error', message: 'relay does not answer' }, 'Not/AZone').text;
    expect(h).toContain('站点原文');
    expect(h).toContain('<q>relay does not answer</q>');
  });
});

describe('station-sent names and answers', () => {
  it('take event types, severities, kinds and triggers from the agent’s catalogue (stationctl’s words)', () => {
    const t = consoleTranslator('zh');
    expect(label(t, 'event', 'device_fault')).toBe(zh('event.device_fault'));
    expect(label(t, 'severity', 'warning')).toBe(zh('severity.warning'));
    expect(label(t, 'kind', 'amplifier')).toBe(zh('kind.amplifier'));
    expect(t('trigger.manual')).toBe(zh('trigger.manual'));
    expect(label(consoleTranslator('en'), 'event', 'schedule_run')).toBe(en('event.schedule_run'));
    expect(label(t, 'event', 'firmware_update')).toBe('firmware_update');
  });

  it('fill a catalogue text with markup without letting a parameter become markup', () => {
    const t = consoleTranslator('zh');
    expect(tHtml(t, 'visit.fault', { device: '<i>p</i>', text: html`<b>灯</b>` }).text).toBe('&lt;i&gt;p&lt;/i&gt;：<b>灯</b>');
  });

  it('put a push answer’s error code in words, an unknown code as the station’s own words', () => {
    const row = (response: unknown): PushRow => ({ push_id: 'p', transaction: 't', station_id: 's', action: 'schedule.set', args: '{}', sent_at: ago(9), sent_by: 'a', status: 'error', response: JSON.stringify(response), responded_at: ago(8) });
    const t = consoleTranslator('zh');
    expect(answerWords(t, row({ status: 'error', error: { code: 'not_allowed', message: 'action schedule.set is not in county.allowed_commands' } }))).toEqual({
      text: '站点配置不允许县级下发此命令',
      own: false,
      title: 'action schedule.set is not in county.allowed_commands',
    });
    expect(answerWords(t, row({ status: 'error', error: { code: 'quota', message: 'too many schedules' } }))).toEqual({ text: 'quota: too many schedules', own: true, title: '' });
    expect(answerWords(t, row({ status: 'ok', data: { ids: ['a', 'b'] } })).text).toBe(t('answer.ok', { ids: `a${t('list.sep')}b` }));
    expect(answerWords(consoleTranslator('en'), row({ status: 'error', error: { code: 'stale', message: 'ts …' } })).text).toMatch(/clock/);
  });
});

describe('pages in Chinese', () => {
  const lampFault: DeviceRow = { station_id: 'v1', device_id: 'projector', kind: 'projector', driver: 'pjlink', online: true, power: 'off', errors: [{ code: 'lamp', severity: 'error', text: 'lamp error' }], lamp_hours: 3010, ts: ago(5), received_at: ago(5) };
  const silentRelay: DeviceRow = { ...lampFault, device_id: 'amp', kind: 'amplifier', driver: 'modbus_relay', online: false, power: 'unknown', lamp_hours: null, errors: [{ code: 'unreachable', severity: 'error', text: 'unit 1 did not answer read coils within 500 ms on /dev/ttyUSB0' }] };
  const row: FleetRow = {
    station_id: 'v1', name: '张家庄村', town: '城关镇', county: '示范县', level: 'village', timezone: 'Asia/Shanghai', online: true, boot: 1, status_ts: ago(3600), heartbeat_ts: ago(30), heartbeat_at: ago(30),
    outbox_depth: 0, watermark: 10, max_seq: 10, acked_seq: 10, quarantined: 0, ledger: '', ledger_base: 0, ledger_changed_at: null, agent_version: '0.1.0', faults: [lampFault, silentRelay], lamp_warnings: [{ device: 'projector', lamp_hours: 3010 }],
    status_at: ago(3600), status_reason: null, opening_hours: null, failed_classes: [], active_devices: [],
  };
  const events = [
    { seq: 9, ts: ago(60), type: 'device_fault', severity: 'error', device: 'projector', message: 'projector: lamp error', data: { code: 'lamp', text: 'lamp error', fault_severity: 'error' }, boot: 1 },
    { seq: 8, ts: ago(120), type: 'device_offline', severity: 'warning', device: 'amp', message: 'amp has been offline for more than 10 min', data: { offline_warn_min: 10 }, boot: 1 },
    { seq: 7, ts: ago(180), type: 'lamp_warning', severity: 'warning', device: 'projector', message: 'projector: lamp at 3010 h (warning from 3000 h)', data: { lamp_hours: 3010, lamp_warn_hours: 3000 }, boot: 1 },
    { seq: 6, ts: ago(240), type: 'schedule_run', severity: 'warning', message: 'schedule tuesday-class start: 2/3 steps ok', data: { schedule_id: 'tuesday-class', phase: 'start', ok: false, steps: [{ status: 'ok' }, { status: 'ok' }, { status: 'timeout' }] }, boot: 1 },
    { seq: 5, ts: ago(300), type: 'agent_start', severity: 'info', message: 'agent 0.1.0 started (start 1)', data: { version: '0.1.0' }, boot: 1 },
  ];
  // Names a clerk sees as they are: device ids, station ids, driver names, versions, the time zone.
  const NAMES = /\b(projector|amp|v1|pjlink|modbus_relay|tuesday-class|Asia|Shanghai|CPU|MB|English|LED)\b/g;

  it('show a station page without an English word but names, and English in English', () => {
    const data = { row, devices: [lampFault, silentRelay], usage: [], events, scheduleRuns: events.filter((e) => e.type === 'schedule_run'), heartbeats: [], historyDays: 3 };
    const page = renderStation(ctxOf('zh'), data, NOW);
    const text = visibleText(page);
    expect(text).toContain('灯泡故障');
    expect(text).toContain('无法连接');
    expect(text).toContain('tuesday-class 开始：2/3 步成功');
    expect(text).toContain('有步骤失败（2/3 步成功）');
    expect(text).toContain('离线超过 10 分钟');
    expect(text.replace(NAMES, '').match(/[A-Za-z]{2,}/g)).toBeNull();
    // The station's texts are still there, on hover.
    expect(page).toContain('title="lamp error"');
    const english = visibleText(renderStation(ctxOf('en'), data, NOW));
    expect(english).toContain('lamp failure');
    expect(english).toContain('projector: lamp at 3010 h (warning from 3000 h)');
    expect(english).toContain('steps failed (2/3 steps ok)');
  });

  it('show the fleet page’s visit list and fault column in Chinese, an unknown fault as the station’s words', () => {
    const odd: DeviceRow = { ...lampFault, device_id: 'screen', errors: [{ code: 'pixel_rows', severity: 'error', text: 'pixel rows dark' }] };
    const rows = [row, { ...row, station_id: 'v2', faults: [odd], lamp_warnings: [] }];
    const page = renderFleet(ctxOf('zh'), rows, { town: '', state: 'all', q: '', page: '' }, NOW, DEFAULT_VISIT_RULES, openItems(rows, NOW));
    const visit = visibleText(/<section class="visit"[\s\S]*?<\/section>/.exec(page)![0]);
    expect(visit).toContain('projector：灯泡故障');
    expect(visit).toContain('amp：无法连接');
    expect(visit).toContain('projector：灯泡 3010 小时，接近寿命');
    expect(visit).toContain('screen：站点原文 pixel rows dark');
    const table = visibleText(/<table class="stations"[\s\S]*?<\/table>/.exec(page)![0]);
    expect(table).toContain('projector：灯泡故障、amp：无法连接');
    expect(table).toContain('projector 3010 小时');
    const rest = visibleText(page).replaceAll('pixel rows dark', '').replace(NAMES, '').replace(/\bv2\b|screen/g, '');
    expect(rest.match(/[A-Za-z]{2,}/g)).toBeNull();
  });

  it('show a station whose database was replaced, with when, on the fleet and station pages (and nothing for one that was not)', () => {
    const replaced = { ...row, ledger: '01NEWLEDGER0000000000000BB', ledger_base: 12, ledger_changed_at: '2026-11-30T02:05:00.000Z' };
    const data = { row: replaced, devices: [], usage: [], events: [], scheduleRuns: [], heartbeats: [], historyDays: 3 };
    const facts = (p: string) => visibleText(/<dl class="facts"[\s\S]*?<\/dl>/.exec(p)![0]);
    expect(facts(renderStation(ctxOf('zh'), data, NOW))).toContain('站点数据库已更换（2026-11-30 10:05）');
    expect(facts(renderStation(ctxOf('en'), data, NOW))).toContain('ledger replaced (2026-11-30 10:05)');
    expect(facts(renderStation(ctxOf('zh'), { ...data, row }, NOW))).not.toContain('站点数据库已更换');
    const fleet = renderFleet(ctxOf('zh'), [replaced, { ...row, station_id: 'v2' }], { town: '', state: 'all', q: '', page: '' }, NOW);
    const table = /<table class="stations"[\s\S]*?<\/table>/.exec(fleet)![0];
    expect(visibleText(/<tr data-station="v1"[\s\S]*?<\/tr>/.exec(table)![0])).toContain('站点数据库已更换（2026-11-30 10:05）');
    expect(visibleText(/<tr data-station="v2"[\s\S]*?<\/tr>/.exec(table)![0])).not.toContain('站点数据库已更换');
    expect(visibleText(renderFleet(ctxOf('en'), [replaced], { town: '', state: 'all', q: '', page: '' }, NOW))).toContain('ledger replaced (2026-11-30 10:05)');
  });
});
