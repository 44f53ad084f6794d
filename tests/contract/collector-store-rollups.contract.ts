/**
 * The conformance cases of what a store keeps up to date as records arrive instead of recomputing it
 * on every read: the usage totals behind the monthly report (usageTotals) and the active lamp warnings of
 * the fleet page (lampWarnings, fleet()). Each is checked against an oracle computed here from the
 * records that must be stored (the first of each `(station_id, seq)`), through duplicates, conflicts,
 * out-of-order seqs, quarantined seqs, rolled-back batches and two collectors writing one database.
 * Run against every implementation by collector-store.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CollectorWrite, UsageTotals, UsageWindow } from '../../county/store.js';
import { DEFAULT_TIMEZONE, monthBounds } from '../../county/report.js';
import { DEFAULT_SHAPE, durableRecord, stationIdentity } from '../../scripts/fleet/generate.js';
import type { EventRecord } from '../../protocol/event-record.js';
import type { UsageRecord } from '../../protocol/usage-record.js';
import type { StoreUnderTest } from './collector-store.contract.js';
import { eventWrite, TEST_LEDGER, type RecordWrite } from './event-writes.js';

/** Opens a fresh, empty store; another() opens a second store (a second collector) on the same database. */
export type OpenStorePair = () => Promise<{ store: StoreUnderTest; another(): Promise<StoreUnderTest>; dispose(): Promise<void> }>;

const at = (ms: number): string => new Date(ms).toISOString();

const usageTemplate: UsageRecord = (() => {
  const st = stationIdentity(DEFAULT_SHAPE, 0);
  for (let seq = 1; ; seq++) {
    const r = durableRecord(DEFAULT_SHAPE, st, seq, 1);
    if (r.stream === 'usage') return r.payload;
  }
})();

function usage(station: string, seq: number, startIso: string, o: { short?: boolean; duration?: number; id?: string } = {}): RecordWrite {
  const duration = o.duration ?? (o.short ? 60 + seq : 1_800 + seq);
  const record: UsageRecord = {
    ...usageTemplate,
    id: o.id ?? `01USAGE-${station}-${String(seq).padStart(6, '0')}`,
    seq,
    ledger: TEST_LEDGER,
    station_id: station,
    start: startIso,
    end: at(Date.parse(startIso) + duration * 1000),
    duration_s: duration,
    signal_s: Math.floor(duration / 3),
    short: o.short ?? false,
  };
  return { kind: 'record', station, stream: 'usage', record, raw: JSON.stringify(record), receivedAt: at(0) };
}

function lamp(station: string, seq: number, type: EventRecord['type'], device: string | undefined, id?: string): RecordWrite {
  return eventWrite(station, seq, type, device, { ...(id !== undefined ? { id } : {}), ts: at(Date.parse('2026-11-01T00:00:00.000Z') + seq * 1000), receivedAt: at(0) });
}

function inventoryWrite(station: string, timezone: string): CollectorWrite {
  return {
    kind: 'inventory',
    station,
    inventory: { station: { id: station, name: station, town: 't', county: 'k', level: 'village', timezone } },
    receivedAt: at(0),
  } as unknown as CollectorWrite;
}

/** A usage record whose start is not a date: its insert fails, and the whole batch with it. */
function broken(station: string, seq: number): CollectorWrite {
  const w = usage(station, seq, '2026-11-02T00:00:00.000Z');
  return { ...w, record: { ...w.record, start: 'not a date', end: 'not a date' } } as CollectorWrite;
}

/** The records a store must keep: the first write of each (station, seq) that is not quarantined. */
class Kept {
  readonly records = new Map<string, RecordWrite>();
  add(ws: readonly CollectorWrite[]): void {
    for (const w of ws) {
      if (w.kind !== 'record') continue;
      const k = `${w.station}\u0000${w.record.seq}`;
      if (!this.records.has(k)) this.records.set(k, w);
    }
  }
  /** What usageTotals must answer for `w`, by station id. */
  totals(w: UsageWindow, zoneOf: (station: string) => string | undefined): UsageTotals[] {
    const out = new Map<string, UsageTotals>();
    for (const r of this.records.values()) {
      if (r.stream !== 'usage') continue;
      const u = r.record as UsageRecord;
      const start = Date.parse(u.start);
      if (start < w.startMs || start >= w.endMs || (zoneOf(r.station) ?? w.defaultTimezone) !== w.timezone) continue;
      let t = out.get(r.station);
      if (!t) out.set(r.station, (t = { station_id: r.station, sessions: 0, duration_s: 0, signal_s: 0, short_sessions: 0, short_duration_s: 0 }));
      if (u.short) {
        t.short_sessions++;
        t.short_duration_s += u.duration_s;
      } else {
        t.sessions++;
        t.duration_s += u.duration_s;
        t.signal_s += u.signal_s;
      }
    }
    return [...out.values()].sort((a, b) => a.station_id.localeCompare(b.station_id));
  }
  /** Active lamp warnings: devices whose latest lamp event by seq is a warning, as "station device" strings. */
  lamps(): string[] {
    const latest = new Map<string, EventRecord>();
    for (const r of this.records.values()) {
      const e = r.record as EventRecord;
      if (r.stream !== 'events' || (e.type !== 'lamp_warning' && e.type !== 'lamp_warning_cleared')) continue;
      const k = `${r.station} ${e.device === undefined ? '(none)' : JSON.stringify(e.device)}`;
      if ((latest.get(k)?.seq ?? -1) < e.seq) latest.set(k, e);
    }
    return [...latest].filter(([, e]) => e.type === 'lamp_warning').map(([k]) => k).sort();
  }
}

const sortTotals = (xs: UsageTotals[]): UsageTotals[] => [...xs].sort((a, b) => a.station_id.localeCompare(b.station_id));

async function activeLamps(store: StoreUnderTest): Promise<string[]> {
  const viaReport = (await store.lampWarnings()).map((l) => `${l.station_id} ${l.device === null ? '(none)' : JSON.stringify(l.device)}`).sort();
  const viaFleet = (await store.fleet()).flatMap((f) => f.lamp_warnings.map((l) => `${f.station_id} ${l.device === null ? '(none)' : JSON.stringify(l.device)}`)).sort();
  expect(viaFleet).toEqual(viaReport);
  return viaReport;
}

/** Windows around the month boundaries the records straddle (UTC, Beijing, Berlin, Los Angeles months, and odd ones). */
function windows(zones: readonly string[]): UsageWindow[] {
  const out: UsageWindow[] = [];
  for (const timezone of zones) {
    for (const month of ['2026-09', '2026-10', '2026-11', '2026-12']) out.push({ ...monthBounds(month, timezone), timezone, defaultTimezone: DEFAULT_TIMEZONE });
    for (const [a, b] of [
      ['2026-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z'], // exactly a UTC month
      ['2026-10-10T00:00:00.000Z', '2026-10-20T00:00:00.000Z'], // less than half a month: rows only
      ['2026-10-01T00:00:00.001Z', '2026-10-31T23:59:59.999Z'], // a UTC month but its first and last ms
      ['2026-09-25T00:00:00.000Z', '2026-12-05T00:00:00.000Z'], // three months and their edges
      ['2026-10-16T12:00:00.000Z', '2026-11-16T12:00:00.000Z'], // half of two months each
      ['2026-11-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z'], // empty
    ] as const) {
      out.push({ startMs: Date.parse(a), endMs: Date.parse(b), timezone, defaultTimezone: DEFAULT_TIMEZONE });
    }
  }
  return out;
}

/** Session starts on and around month boundaries in several zones, then spread over three months. */
function starts(n: number, offsetH: number): string[] {
  const edges = [
    '2026-10-01T00:00:00.000Z',
    '2026-09-30T23:59:59.999Z',
    '2026-10-31T16:00:00.000Z', // Beijing November begins
    '2026-10-31T15:59:59.999Z',
    '2026-10-31T23:00:00.000Z', // Berlin November begins
    '2026-11-01T07:00:00.000Z', // Los Angeles November begins
    '2026-11-30T23:59:59.999Z',
    '2026-12-01T00:00:00.000Z',
  ];
  const spread = Array.from({ length: n }, (_, i) => at(Date.parse('2026-09-20T03:00:00.000Z') + (i * 37 + offsetH) * 3_600_000 + i * 7_919));
  return [...edges, ...spread];
}

/** A deterministic shuffle (the same order on every run and store). */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export function rollupContract(name: string, open: OpenStorePair): void {
  describe(`collector store contract, totals kept as records arrive: ${name}`, () => {
    const made: Array<() => Promise<void>> = [];
    const fresh = async (): Promise<{ store: StoreUnderTest; another(): Promise<StoreUnderTest> }> => {
      const u = await open();
      made.push(() => u.dispose());
      return u;
    };
    afterEach(async () => {
      for (const d of made.splice(0)) await d();
    });

    const zones: Record<string, string | undefined> = { ua: 'Asia/Shanghai', ub: undefined, uc: 'Europe/Berlin', ud: 'America/Los_Angeles' };
    const zoneOf = (s: string): string | undefined => zones[s];
    const allZones = ['Asia/Shanghai', 'Europe/Berlin', 'America/Los_Angeles'];
    /** Every station's usage records, seqs 1…n, some short. */
    const usageOf = (station: string, offsetH: number): RecordWrite[] => starts(40, offsetH).map((s, i) => usage(station, i + 1, s, { short: i % 4 === 3 }));

    async function expectTotals(store: StoreUnderTest, kept: Kept): Promise<void> {
      for (const w of windows(allZones)) {
        expect(sortTotals(await store.usageTotals(w)), `${w.timezone} ${at(w.startMs)} – ${at(w.endMs)}`).toEqual(kept.totals(w, zoneOf));
      }
    }

    it('usage totals of any window are the sums of the stored records in it: out of order, duplicated, conflicting, quarantined or rolled back', async () => {
      const { store } = await fresh();
      const kept = new Kept();
      const apply = async (ws: CollectorWrite[]): Promise<void> => {
        await store.apply(ws);
        kept.add(ws);
      };
      await apply(Object.entries(zones).flatMap(([s, tz]) => (tz === undefined ? [] : [inventoryWrite(s, tz)])));
      const all = Object.keys(zones).flatMap((s, i) => usageOf(s, i * 5));
      // A batch that holds the same record twice, then everything out of seq order, in batches of 7.
      expect(await store.apply([all[3]!, all[3]!, all[40]!])).toEqual([
        { kind: 'record', outcome: 'stored' },
        { kind: 'record', outcome: 'duplicate' },
        { kind: 'record', outcome: 'stored' },
      ]);
      kept.add([all[3]!, all[40]!]);
      for (const b of chunks(shuffled(all, 7), 7)) await apply(b);
      // Every record again (a station replaying its outbox, a QoS 1 redelivery): nothing counts twice.
      for (const b of chunks(shuffled(all, 11), 13)) expect((await store.apply(b)).every((o) => o.kind === 'record' && o.outcome === 'duplicate')).toBe(true);
      // The same seq with another record (another start, another length): a conflict, the first one counts.
      const other = usage('ua', 5, '2026-11-15T00:00:00.000Z', { duration: 9_999, id: '01OTHER-ua-000005' });
      expect(await store.apply([other])).toEqual([{ kind: 'record', outcome: 'conflict' }]);
      // A seq far above the watermark is quarantined and counts nothing.
      expect(await store.apply([usage('ub', 10_000_000, '2026-11-15T00:00:00.000Z')])).toEqual([{ kind: 'record', outcome: 'quarantined' }]);
      // A batch that fails counts nothing of what it held.
      await expect(store.apply([usage('uc', 49, '2026-11-15T00:00:00.000Z'), broken('uc', 50)])).rejects.toThrow();
      await expectTotals(store, kept);

      // The oracle itself, by hand for one station: Beijing's November for `ua`.
      const nov = { ...monthBounds('2026-11', 'Asia/Shanghai'), timezone: 'Asia/Shanghai', defaultTimezone: DEFAULT_TIMEZONE };
      const ua = all.filter((w) => w.station === 'ua' && Date.parse((w.record as UsageRecord).start) >= nov.startMs && Date.parse((w.record as UsageRecord).start) < nov.endMs);
      expect(ua.length).toBeGreaterThan(10);
      const mine = (await store.usageTotals(nov)).find((t) => t.station_id === 'ua')!;
      expect(mine.sessions + mine.short_sessions).toBe(ua.length);
      expect(mine.duration_s + mine.short_duration_s).toBe(ua.reduce((n, w) => n + (w.record as UsageRecord).duration_s, 0));
      // The record that failed with its batch is stored later, once, and counts from then on.
      await apply([usage('uc', 49, '2026-11-15T00:00:00.000Z')]);
      await expectTotals(store, kept);
    });

    it('a lamp warning stays active until a later clear by seq: reverse order, duplicates, conflicts, rolled-back batches, no device', async () => {
      const { store } = await fresh();
      const kept = new Kept();
      const apply = async (ws: CollectorWrite[]): Promise<void> => {
        await store.apply(ws);
        kept.add(ws);
      };
      const check = async (expected: string[]): Promise<void> => {
        expect(kept.lamps()).toEqual(expected);
        expect(await activeLamps(store)).toEqual(expected);
      };
      // A warning and its clear in one batch, the clear first: cleared.
      await apply([lamp('la', 5, 'lamp_warning_cleared', 'projector-1'), lamp('la', 3, 'lamp_warning', 'projector-1')]);
      await check([]);
      // The old warning again (a redelivery after the clear): still cleared.
      expect(await store.apply([lamp('la', 3, 'lamp_warning', 'projector-1')])).toEqual([{ kind: 'record', outcome: 'duplicate' }]);
      await check([]);
      // A warning whose clear has a lower seq (arrived late from an older boot): active.
      await apply([lamp('la', 7, 'lamp_warning', 'projector-2')]);
      await apply([lamp('la', 6, 'lamp_warning_cleared', 'projector-2')]);
      await check(['la "projector-2"']);
      // A different warning with the clear's seq: a conflict, the clear stays.
      expect(await store.apply([lamp('la', 5, 'lamp_warning', 'projector-1', '01EVENT-other-000005')])).toEqual([{ kind: 'record', outcome: 'conflict' }]);
      // A warning in a batch that fails: not stored, not active.
      await expect(store.apply([lamp('la', 9, 'lamp_warning', 'projector-1'), broken('la', 10)])).rejects.toThrow();
      await check(['la "projector-2"']);
      // Other events of the device do not touch its lamp; the same device id of another station is another lamp.
      await apply([{ ...lamp('la', 11, 'device_fault', 'projector-2') }, lamp('lb', 2, 'lamp_warning', 'projector-1')]);
      await check(['la "projector-2"', 'lb "projector-1"']);
      // A lamp event without a device and one with an empty device id are two lamps.
      await apply([lamp('la', 12, 'lamp_warning', undefined), lamp('la', 13, 'lamp_warning', '')]);
      await apply([lamp('la', 14, 'lamp_warning_cleared', '')]);
      await check(['la "projector-2"', 'la (none)', 'lb "projector-1"']);
      // Cleared, then warned again with a higher seq.
      await apply([lamp('la', 15, 'lamp_warning_cleared', 'projector-2'), lamp('la', 16, 'lamp_warning_cleared', undefined)]);
      await check(['lb "projector-1"']);
      await apply([lamp('la', 17, 'lamp_warning', 'projector-1')]);
      await check(['la "projector-1"', 'lb "projector-1"']);
    });

    it('two collectors writing the same records into one database count each usage record and lamp event once', async () => {
      const { store: a, another } = await fresh();
      const b = await another();
      const kept = new Kept();
      const setup = Object.entries(zones).flatMap(([s, tz]) => (tz === undefined ? [] : [inventoryWrite(s, tz)]));
      await a.apply(setup);
      const records: RecordWrite[] = [
        ...Object.keys(zones).flatMap((s, i) => usageOf(s, i * 3)),
        // Lamp events of the same devices, warnings and clears interleaved by seq.
        ...Array.from({ length: 24 }, (_, i) => lamp('ua', 100 + i, i % 3 === 2 ? 'lamp_warning_cleared' : 'lamp_warning', `projector-${i % 2}`)),
        ...Array.from({ length: 9 }, (_, i) => lamp('ub', 100 + i, i % 2 === 0 ? 'lamp_warning' : 'lamp_warning_cleared', 'projector-1')),
      ];
      kept.add(records);
      // Each collector gets most of the records, in its own order and batches (a shared subscription
      // splits them, a station replays them): the two write concurrently, often the same rows.
      const shareA = shuffled(records, 3).slice(0, Math.ceil(records.length * 0.8));
      const shareB = shuffled(records, 5).slice(0, Math.ceil(records.length * 0.8));
      const run = async (s: StoreUnderTest, ws: RecordWrite[]): Promise<void> => {
        for (const batch of chunks(ws, 9)) await s.apply(batch);
      };
      await Promise.all([run(a, shareA), run(b, shareB)]);
      // What neither got comes through one of them later (a resend).
      await b.apply(records);
      expect(await a.countRecords()).toBe(records.length);
      await expectTotals(a, kept);
      await expectTotals(b, kept);
      expect(await activeLamps(a)).toEqual(kept.lamps());
      expect(kept.lamps()).toEqual(['ua "projector-0"', 'ub "projector-1"']);
    });
  });
}
