/**
 * Records for checking a migration's backfill of the roll-ups (usage totals per UTC month, latest lamp
 * event per device) and the documents moved out of the station row against what the write path keeps:
 * starts on month boundaries, one millisecond before them, before 1970 and in the year 50; lamp warnings
 * cleared, re-warned and without a device. The same data as store writes (`rollupWrites()`, for a
 * database written by today's collector) and as the rows an older schema held (`legacyRows()`, inserted
 * by the test into a database at the older version); `snapshot()` reads what both must then answer alike.
 */
import type { CollectorWrite, UsageWindow } from '../../../county/store.js';
import { DEFAULT_TIMEZONE } from '../../../county/report.js';
import type { StoreUnderTest } from '../../contract/collector-store.contract.js';
import { DEFAULT_SHAPE, durableRecord, stationIdentity } from '../../../scripts/fleet/generate.js';
import type { UsageRecord } from '../../../protocol/usage-record.js';
import type { EventRecord } from '../../../protocol/event-record.js';
import { eventWrite, TEST_LEDGER } from '../../contract/event-writes.js';

const STARTS = [
  '2026-10-01T00:00:00.000Z',
  '2026-09-30T23:59:59.999Z',
  '2026-10-31T15:59:59.999Z',
  '2026-10-31T16:00:00.000Z',
  '2026-11-15T12:34:56.789Z',
  '2026-12-31T23:59:59.999Z',
  '2027-01-01T00:00:00.000Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00.000Z',
  '0050-06-15T00:00:00.000Z',
];

const template: UsageRecord = (() => {
  const st = stationIdentity(DEFAULT_SHAPE, 0);
  for (let seq = 1; ; seq++) {
    const r = durableRecord(DEFAULT_SHAPE, st, seq, 1);
    if (r.stream === 'usage') return r.payload;
  }
})();

export const INVENTORY = { station: { id: 'ra', name: 'ra', town: 't', county: 'k', level: 'village', timezone: 'Asia/Shanghai' }, agent: { version: '0.1.0' } };

export function rollupWrites(): CollectorWrite[] {
  const out: CollectorWrite[] = [{ kind: 'inventory', station: 'ra', inventory: INVENTORY, receivedAt: '2026-11-01T00:00:00.000Z' } as unknown as CollectorWrite];
  for (const station of ['ra', 'rb']) {
    STARTS.forEach((start, i) => {
      const record: UsageRecord = { ...template, id: `01ROLLUP-${station}-${i}`, seq: i + 1, ledger: TEST_LEDGER, station_id: station, start, end: start, duration_s: 100 * (i + 1), signal_s: 10 * i, short: i % 3 === 0 };
      out.push({ kind: 'record', station, stream: 'usage', record, raw: JSON.stringify(record), receivedAt: start });
    });
    const lamps: Array<[EventRecord['type'], string | undefined]> = [
      ['lamp_warning', 'p1'],
      ['lamp_warning_cleared', 'p1'],
      ['lamp_warning', 'p2'],
      ['lamp_warning', undefined],
      ['lamp_warning', ''],
      ['lamp_warning_cleared', ''],
      [station === 'ra' ? 'lamp_warning' : 'device_fault', 'p1'],
    ];
    lamps.forEach(([type, device], i) => {
      const seq = STARTS.length + 1 + i;
      out.push(eventWrite(station, seq, type, device, { id: `01ROLLUP-EV-${station}-${seq}` }));
    });
  }
  return out;
}

/** The same records as the rows of the usage, events, records and stations tables (columns as in every schema version). */
export function legacyRows(): {
  stations: Array<{ station_id: string; inventory: string | null; max_seq: number }>;
  records: Array<[string, number, string, string, string]>;
  usage: Array<[string, number, string, number, number, number, number, boolean, string, string]>;
  events: Array<[string, number, string, string, string, string | null]>;
} {
  const writes = rollupWrites().filter((w): w is Extract<CollectorWrite, { kind: 'record' }> => w.kind === 'record');
  const stations = [...new Set(writes.map((w) => w.station))].map((station_id) => ({
    station_id,
    inventory: station_id === 'ra' ? JSON.stringify(INVENTORY) : null,
    max_seq: Math.max(...writes.filter((w) => w.station === station_id).map((w) => w.record.seq)),
  }));
  const records = writes.map((w): [string, number, string, string, string] => [w.station, w.record.seq, w.stream, w.record.id, w.raw]);
  const usage = writes
    .filter((w) => w.stream === 'usage')
    .map((w): [string, number, string, number, number, number, number, boolean, string, string] => {
      const u = w.record as UsageRecord;
      return [w.station, u.seq, u.id, Date.parse(u.start), Date.parse(u.end), u.duration_s, u.signal_s, u.short, u.trigger, u.end_reason];
    });
  const events = writes
    .filter((w) => w.stream === 'events')
    .map((w): [string, number, string, string, string, string | null] => {
      const e = w.record as EventRecord;
      return [w.station, e.seq, e.ts, e.type, e.severity, e.device ?? null];
    });
  return { stations, records, usage, events };
}

const WINDOWS: Array<[string, string]> = [
  ['2026-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z'],
  ['2026-10-31T16:00:00.000Z', '2026-11-30T16:00:00.000Z'],
  ['2026-09-30T16:00:00.000Z', '2026-10-31T16:00:00.000Z'],
  ['2026-12-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z'],
  ['1969-12-01T00:00:00.000Z', '1970-01-01T00:00:00.000Z'],
  ['1969-12-15T00:00:00.000Z', '1970-01-15T00:00:00.000Z'],
  ['0050-06-01T00:00:00.000Z', '0050-07-01T00:00:00.000Z'],
  ['0001-01-01T00:00:00.000Z', '9999-01-01T00:00:00.000Z'],
];

/** Everything the roll-ups answer (totals of several windows, the active lamp warnings), the inventory and the seq state. */
export async function snapshot(store: StoreUnderTest): Promise<unknown> {
  const totals: unknown[] = [];
  for (const [a, b] of WINDOWS) {
    const w: UsageWindow = { startMs: Date.parse(a), endMs: Date.parse(b), timezone: DEFAULT_TIMEZONE, defaultTimezone: DEFAULT_TIMEZONE };
    totals.push([a, b, [...(await store.usageTotals(w))].sort((x, y) => x.station_id.localeCompare(y.station_id))]);
  }
  const lamps = (await store.lampWarnings()).map((l) => `${l.station_id} ${l.device === null ? '(none)' : JSON.stringify(l.device)}`).sort();
  const stations = (await store.stations()).map((r) => [r.station_id, r.town, r.timezone, r.watermark, r.max_seq]);
  return { totals, lamps, inventory: await store.inventory('ra'), stations };
}
