/**
 * The county door's caps (PAYLOAD_CAPS) and time-zone check, on decode() alone, and the monthly report's
 * tolerance of a zone stored before the door checked (a pure function over a stub store).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonArrayHead } from '../../../county/store-rows.js';
import { decode, MalformedError } from '../../../county/ingest.js';
import { countingZone, DEFAULT_TIMEZONE, monthlyReport } from '../../../county/report.js';
import type { CollectorStore, StationRow, UsageWindow } from '../../../county/store.js';
import { PAYLOAD_CAPS } from '../../../protocol/payloads.js';
import { FleetTopics } from '../../../protocol/topics.js';
import { deviceState, heartbeat, inventory, SIM_DEVICES, stationIdentity, DEFAULT_SHAPE } from '../../../scripts/fleet/generate.js';

const fleet = new FleetTopics('stations');
const st = stationIdentity(DEFAULT_SHAPE, 0);
const now = Date.parse('2026-11-03T12:00:00.000Z');
const at = new Date(now).toISOString();
const topic = fleet.station(st.id);

const decodeJson = (t: string, value: unknown) => decode(fleet.parse(t), Buffer.from(JSON.stringify(value)), at);
const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof MalformedError) return err.reason;
    throw err;
  }
  return 'accepted';
};

describe('the county door: time zones', () => {
  it('keeps a zone the runtime knows', () => {
    const d = decodeJson(topic.inventory, inventory(st, 1, now, now));
    expect(d.kind === 'write' && d.warning).toBeFalsy();
    expect(d.kind === 'write' && d.write.kind === 'inventory' && d.write.inventory.station.timezone).toBe('Asia/Shanghai');
  });

  it.each(['Mars/Olympus', '', 'Asia/上海', 'UTC+25', '../../etc/passwd'])('replaces %j by the county zone, keeps the claim and warns', (tz) => {
    const inv = inventory(st, 1, now, now);
    const d = decodeJson(topic.inventory, { ...inv, station: { ...inv.station, timezone: tz } });
    expect(d.kind).toBe('write');
    if (d.kind !== 'write' || d.write.kind !== 'inventory') return;
    expect(d.write.inventory.station).toMatchObject({ timezone: DEFAULT_TIMEZONE, timezone_claimed: tz });
    expect(d.warning?.reason).toBe('unknown_timezone');
  });

  it('refuses a zone name longer than any IANA name', () => {
    const inv = inventory(st, 1, now, now);
    expect(reason(() => decodeJson(topic.inventory, { ...inv, station: { ...inv.station, timezone: 'A'.repeat(PAYLOAD_CAPS.timezone + 1) } }))).toBe('invalid_inventory');
  });
});

describe('the county door: caps', () => {
  const state = (errors: number) => ({
    ...deviceState(st, SIM_DEVICES[0], true, now),
    errors: Array.from({ length: errors }, (_, i) => ({ code: `c${i}`, severity: 'error' as const, text: 'x' })),
  });
  const stateTopic = topic.deviceState(SIM_DEVICES[0].id);

  it(`takes ${PAYLOAD_CAPS.faults} faults in a device state and refuses one more`, () => {
    expect(reason(() => decodeJson(stateTopic, state(PAYLOAD_CAPS.faults)))).toBe('accepted');
    expect(reason(() => decodeJson(stateTopic, state(PAYLOAD_CAPS.faults + 1)))).toBe('invalid_device_state');
  });

  it('refuses over-long texts and ids', () => {
    const s = state(1);
    expect(reason(() => decodeJson(stateTopic, { ...s, model: 'm'.repeat(PAYLOAD_CAPS.text) }))).toBe('accepted');
    expect(reason(() => decodeJson(stateTopic, { ...s, model: 'm'.repeat(PAYLOAD_CAPS.text + 1) }))).toBe('invalid_device_state');
    expect(reason(() => decodeJson(stateTopic, { ...s, errors: [{ code: 'c', severity: 'error', text: '故'.repeat(PAYLOAD_CAPS.fault_text + 1) }] }))).toBe('invalid_device_state');
    expect(reason(() => decodeJson(stateTopic, { ...s, ts: `${at}${' '.repeat(100)}` }))).toBe('invalid_device_state');
    const inv = inventory(st, 1, now, now);
    expect(reason(() => decodeJson(topic.inventory, { ...inv, station: { ...inv.station, name: '村'.repeat(PAYLOAD_CAPS.text + 1) } }))).toBe('invalid_inventory');
  });

  it(`takes ${PAYLOAD_CAPS.devices} devices in an inventory and a heartbeat, refuses one more`, () => {
    const inv = inventory(st, 1, now, now);
    const devs = (n: number) => Array.from({ length: n }, (_, i) => ({ ...inv.devices[0]!, id: `d${i}` }));
    expect(reason(() => decodeJson(topic.inventory, { ...inv, devices: devs(PAYLOAD_CAPS.devices) }))).toBe('accepted');
    expect(reason(() => decodeJson(topic.inventory, { ...inv, devices: devs(PAYLOAD_CAPS.devices + 1) }))).toBe('invalid_inventory');
    const hb = heartbeat(1, 60, { depth: 0, first_seq: null, last_seq: 0 }, 0, 0, now);
    const list = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `d${i}`, online: true, power: 'off' as const }));
    expect(reason(() => decodeJson(topic.heartbeat, { ...hb, devices: { ...hb.devices, list: list(PAYLOAD_CAPS.devices) } }))).toBe('accepted');
    expect(reason(() => decodeJson(topic.heartbeat, { ...hb, devices: { ...hb.devices, list: list(PAYLOAD_CAPS.devices + 1) } }))).toBe('invalid_heartbeat');
  });

  it('refuses host lists beyond the cap', () => {
    const inv = inventory(st, 1, now, now);
    const fs = Array.from({ length: PAYLOAD_CAPS.host_list + 1 }, (_, i) => ({ mount: `/m${i}`, type: 'ext4', size_gb: 1 }));
    expect(reason(() => decodeJson(topic.inventory, { ...inv, host: { ...inv.host, filesystems: fs } }))).toBe('invalid_inventory');
  });
});

describe('the monthly report and a zone stored before the door checked', () => {
  const row = (id: string, timezone: string | null): StationRow => ({
    station_id: id, name: id, town: 'town', county: null, level: 'village', timezone, online: true, boot: 1, status_ts: null,
    heartbeat_ts: null, heartbeat_at: null, outbox_depth: null, watermark: 0, max_seq: 0, acked_seq: 0, quarantined: 0, ledger: null, ledger_base: 0, ledger_changed_at: null,
    status_at: null, status_reason: null, opening_hours: null,
  });
  /** Only what monthlyReport reads: the stations and their usage totals per zone. */
  function stub(rows: StationRow[]): { store: CollectorStore; windows: UsageWindow[] } {
    const windows: UsageWindow[] = [];
    const store = {
      stations: async () => rows,
      usageTotals: async (w: UsageWindow) => {
        windows.push(w);
        return rows
          .filter((r) => (r.timezone ?? w.defaultTimezone) === w.timezone)
          .map((r) => ({ station_id: r.station_id, sessions: 1, duration_s: 3600, signal_s: 0, short_sessions: 0, short_duration_s: 0 }));
      },
    } as Partial<CollectorStore> as CollectorStore;
    return { store, windows };
  }

  it('counts the station in the county zone, still selected by its stored zone, and marks its row', async () => {
    const { store, windows } = stub([row('good', 'Asia/Shanghai'), row('mars', 'Mars/Olympus'), row('none', null)]);
    const report = await monthlyReport(store, '2026-11');
    expect(report.stations.map((s) => [s.station_id, s.sessions, s.unknown_timezone])).toEqual([
      ['good', 1, undefined],
      ['mars', 1, 'Mars/Olympus'],
      ['none', 1, undefined],
    ]);
    const mars = windows.find((w) => w.timezone === 'Mars/Olympus')!;
    const beijing = windows.find((w) => w.timezone === 'Asia/Shanghai')!;
    expect([mars.startMs, mars.endMs]).toEqual([beijing.startMs, beijing.endMs]);
  });

  it('countingZone: known zones kept, unknown, null and absurdly long ones replaced', () => {
    expect(countingZone('Europe/Berlin')).toBe('Europe/Berlin');
    for (const bad of [null, 'Mars/Olympus', 'x'.repeat(100_000)]) expect(countingZone(bad)).toBe(DEFAULT_TIMEZONE);
  });
});

describe('jsonArrayHead: reading only the first faults of a row stored before the caps', () => {
  it('equals parsing the whole array and slicing it, whatever the texts hold (quotes, backslashes, brackets, commas)', () => {
    const nasty = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', 'a', '故', ' ', '\n') });
    const fault = fc.record({ code: nasty, severity: fc.constantFrom('warning', 'error'), text: nasty });
    fc.assert(
      fc.property(fc.array(fault, { maxLength: 60 }), fc.integer({ min: 1, max: 40 }), (faults, max) => {
        expect(jsonArrayHead(JSON.stringify(faults), max)).toEqual({ head: faults.slice(0, max), more: Math.max(0, faults.length - max) });
      }),
      { numRuns: 500 },
    );
  });

  it('reads a prefix cut anywhere (as the stores return it) into whole leading faults, and counts the rest from the given length', () => {
    const nasty = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', 'a', '故', ' ') });
    const fault = fc.record({ code: nasty, severity: fc.constantFrom('warning', 'error'), text: nasty });
    fc.assert(
      fc.property(fc.array(fault, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), (faults, max, at) => {
        const text = JSON.stringify(faults);
        const { head, more } = jsonArrayHead(text.slice(0, Math.floor(text.length * at)), max, faults.length);
        expect(head.length).toBeLessThanOrEqual(max);
        expect(head).toEqual(faults.slice(0, head.length));
        expect(more).toBe(faults.length - head.length);
      }),
      { numRuns: 500 },
    );
  });
});
