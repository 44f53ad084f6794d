/**
 * Pages render at most so many items of one station, in both languages, whatever its rows hold: faults
 * per device, faulty devices per station, devices on the station page, texts; and a station whose
 * stored zone is unknown is shown in the county's, said so.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceRow, FleetRow } from '../../../county/store.js';
import { consoleTranslator, type Lang } from '../../../county/console/i18n.js';
import type { PageContext } from '../../../county/console/layout.js';
import { renderFleet } from '../../../county/console/pages/fleet.js';
import { renderStation } from '../../../county/console/pages/station.js';
import { MAX_ITEMS } from '../../../county/console/station-words.js';
import { PAYLOAD_CAPS } from '../../../protocol/payloads.js';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const at = new Date(NOW).toISOString();
const ctxOf = (lang: Lang): PageContext => ({ t: consoleTranslator(lang), lang, path: '/', signIn: undefined, tz: 'Asia/Shanghai' });

const device = (i: number, faults: number, unread = 0): DeviceRow => ({
  station_id: 'h',
  device_id: `p-${i}`,
  kind: 'projector',
  driver: 'pjlink',
  online: true,
  power: 'on',
  errors: Array.from({ length: faults }, (_, k) => ({ code: `x${k}`, severity: 'error', text: `part ${k}` })),
  ...(unread ? { errors_more: unread } : {}),
  lamp_hours: null,
  ts: at,
  received_at: at,
});

const row = (devices: DeviceRow[], timezone = 'Asia/Shanghai', name = 'h'): FleetRow => ({
  station_id: 'h', name, town: 't', county: null, level: 'village', timezone, online: true, boot: 1, status_ts: at,
  heartbeat_ts: at, heartbeat_at: at, outbox_depth: 0, watermark: 0, max_seq: 0, acked_seq: 0, quarantined: 0, ledger: null, ledger_base: 0, ledger_changed_at: null,
  agent_version: '1', faults: devices, lamp_warnings: [], status_at: at, status_reason: null, opening_hours: null, failed_classes: [], active_devices: [],
});

describe('pages bound what one station shows', () => {
  const devices = Array.from({ length: 300 }, (_, i) => device(i, 40, i === 0 ? 3_960 : 0));

  it.each([
    ['zh', '另有 290 项', '另有 3990 项', '另有 30 项'],
    ['en', '+290 more', '+3990 more', '+30 more'],
  ] as const)('fleet (%s): 10 faulty devices, 10 faults each, the rest counted (with those the store did not read)', (lang, moreDevices, moreFaultsUnread, moreFaults) => {
    const page = renderFleet(ctxOf(lang), [row(devices)], { town: '', state: 'all', q: '', page: '' }, NOW);
    expect(page).toContain(moreDevices);
    expect(page).toContain(moreFaultsUnread); // device 0: 40 read + 3,960 unread, 10 shown
    expect(page).toContain(moreFaults);
    expect(page.match(/x39|x10\b/g)).toBeNull(); // no fault beyond the first 10 is drawn
    expect(page.length).toBeLessThan(100_000);
  });

  it(`station page: at most ${PAYLOAD_CAPS.devices} devices, each with ${MAX_ITEMS} faults, and long texts clipped`, () => {
    const page = renderStation(ctxOf('zh'), { row: row(devices, 'Asia/Shanghai', '站'.repeat(100_000)), devices, usage: [], events: [], scheduleRuns: [], heartbeats: [], historyDays: 3 }, NOW);
    expect(page.match(/<tr data-device=/g)).toHaveLength(PAYLOAD_CAPS.devices);
    expect(page).toContain(`另有 ${300 - PAYLOAD_CAPS.devices} 项`);
    expect(page.length).toBeLessThan(200_000);
  });

  it('station page: an unknown stored zone is shown in the county zone, and said so in both languages', () => {
    const data = { row: row([], 'Mars/Olympus'), devices: [], usage: [], events: [], scheduleRuns: [], heartbeats: [], historyDays: 3, inventory: null };
    expect(renderStation(ctxOf('zh'), data, NOW)).toContain('站点报的时区“Mars/Olympus”无法识别，按县时区 北京时间 统计');
    expect(renderStation(ctxOf('en'), data, NOW)).toContain('the station&#39;s time zone &quot;Mars/Olympus&quot; is unknown');
  });
});
