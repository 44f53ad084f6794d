import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Mosquitto, waitFor } from '../../../scripts/lib/kit/index.js';
import { startCollector, type Collector } from '../../../county/collector.js';
import { MONTHLY_CSV_HEADER, hoursText, hundredthsOfHour } from '../../../county/report.js';
import { startFleet, type Fleet, type FleetOptions } from '../../../scripts/fleet-sim.js';

let broker: Mosquitto;
let dir: string;
const running: Array<{ stop(): Promise<void> }> = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker.dispose();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  // Fleets first, so collectors are still there for their last words; then collectors.
  for (const r of running.splice(0).reverse()) await r.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function tmp(): string {
  dir = mkdtempSync(join(tmpdir(), 'collector-'));
  return dir;
}

let prefixN = 0;
/** Each test gets its own topic prefix: retained messages of an earlier test must not leak in. */
const freshPrefix = (): string => `t${++prefixN}-${process.pid}/stations`;

async function collector(db: string, prefix: string, extra: Partial<Parameters<typeof startCollector>[0]> = {}): Promise<Collector> {
  const c = await startCollector({ url: broker.url, db, prefix, gapGraceMs: 300, resendRetryMs: 1_000, ackIntervalMs: 50, ...extra });
  running.push(c);
  return c;
}

async function fleet(prefix: string, opts: Partial<FleetOptions>): Promise<Fleet> {
  const f = await startFleet({
    url: broker.url,
    prefix,
    stations: 20,
    recordsPerStation: 30,
    seed: 'itest',
    intervals: { recordMs: 25, heartbeatMs: 200, stateMs: 150 },
    connectSpreadMs: 100,
    ...opts,
  });
  running.splice(0, 0, f); // stopped before the collectors (afterEach stops in reverse)
  return f;
}

const recordCount = (c: Collector): Promise<number> => c.store.countRecords();

function parseCsv(csv: string): Array<Record<string, string>> {
  const [head, ...lines] = csv.trimEnd().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

describe('county collector fed by the fleet simulator (real mosquitto)', () => {
  it('stores every record once, acks contiguously over an injected gap, and reports the expected monthly totals', async () => {
    const prefix = freshPrefix();
    const c = await collector(join(tmp(), 'county.db'), prefix);

    // An independent observer of the gap station: every ack and every delivery of the withheld seq.
    const spy = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    clients.push(spy);
    const seen: Array<{ kind: 'ack'; seq: number } | { kind: 'gap_record'; historical: boolean }> = [];
    spy.on('message', (topic, payload) => {
      const m = JSON.parse(payload.toString()) as { seq: number; historical?: boolean };
      if (topic.endsWith('/ack')) seen.push({ kind: 'ack', seq: m.seq });
      else if (m.seq === 5) seen.push({ kind: 'gap_record', historical: m.historical === true });
    });
    await spy.subscribeAsync([`${prefix}/st-0003/ack`, `${prefix}/st-0003/usage`, `${prefix}/st-0003/events`], { qos: 1 });

    const f = await fleet(prefix, { gaps: [{ station: 2, seq: 5 }], duplicateEvery: 7 });
    await f.allAllocated();
    const total = f.stats().allocated;
    expect(total).toBe(600);
    await waitFor(() => f.stats().acked === total, 15_000);
    await c.flush();

    // Exactly once: every (station, seq) stored, nothing more, duplicates counted and dropped.
    expect(await recordCount(c)).toBe(total);
    const st = c.stats();
    expect(st.stored).toBe(total);
    expect(st.duplicates).toBeGreaterThanOrEqual(f.stats().duplicates_sent);
    expect(st.duplicates).toBeGreaterThan(0);
    expect(st.conflicts).toBe(0);
    expect(st.malformed).toBe(0);
    for (let i = 0; i < 20; i++) {
      const row = (await c.store.station(f.station(i).id))!;
      expect([row.watermark, row.max_seq, row.acked_seq]).toEqual([30, 30, 30]);
      expect(f.station(i).outbox).toBe(0);
    }

    // The gap was asked for and recovered; no ack ever covered it before it was stored.
    expect(st.resends_requested).toBeGreaterThanOrEqual(1);
    expect(f.stats().resends_answered).toBeGreaterThanOrEqual(1);
    await waitFor(() => seen.some((e) => e.kind === 'ack' && e.seq === 30), 5_000);
    const firstDelivery = seen.findIndex((e) => e.kind === 'gap_record');
    expect(firstDelivery).toBeGreaterThan(0);
    expect(seen[firstDelivery]).toEqual({ kind: 'gap_record', historical: true });
    const acksBefore = seen.slice(0, firstDelivery).filter((e) => e.kind === 'ack') as Array<{ seq: number }>;
    expect(acksBefore.length).toBeGreaterThan(0);
    expect(Math.max(...acksBefore.map((a) => a.seq))).toBe(4);
    const acks = seen.filter((e) => e.kind === 'ack') as Array<{ seq: number }>;
    expect(acks.map((a) => a.seq)).toEqual([...acks.map((a) => a.seq)].sort((a, b) => a - b));

    // Monthly totals: the collector's CSV against the simulator's own arithmetic, in both months the
    // timeline spans; some sessions start on 1 November in Beijing but still in October in UTC.
    for (const month of ['2026-10', '2026-11']) {
      const expected = f.expectedMonthly(month);
      expect(expected.boundary_sessions).toBeGreaterThan(0);
      const report = await c.monthlyReport(month);
      for (const e of expected.stations) {
        const got = report.stations.find((s) => s.station_id === e.station_id)!;
        const printed = { hours_100: hundredthsOfHour(e.duration_s), signal_hours_100: hundredthsOfHour(e.signal_s), short_hours_100: hundredthsOfHour(e.short_duration_s) };
        expect({ ...got, name: undefined, no_activity: undefined }).toEqual({ ...e, ...printed, name: undefined, no_activity: undefined });
      }
      const rows = parseCsv(await c.monthlyCsv(month));
      expect(Object.keys(rows[0]!)).toEqual([...MONTHLY_CSV_HEADER]);
      const totalRow = rows.find((r) => r['row'] === 'total')!;
      expect(totalRow).toMatchObject({
        month,
        sessions: String(expected.total.sessions),
        // The county's rule: each station rounded to 0.01 h, the total the sum of the stations' figures.
        hours: hoursText(expected.stations.reduce((n, s) => n + hundredthsOfHour(s.duration_s), 0)),
        signal_hours: hoursText(expected.stations.reduce((n, s) => n + hundredthsOfHour(s.signal_s), 0)),
        short_sessions: String(expected.total.short_sessions),
        stations: '20',
      });
      expect(rows.filter((r) => r['row'] === 'station')).toHaveLength(20);
      const townRows = rows.filter((r) => r['row'] === 'town');
      expect(townRows).toHaveLength(17);
      expect(townRows.reduce((n, r) => n + Number(r['sessions']), 0)).toBe(expected.total.sessions);
    }
    expect(f.expectedMonthly('2026-10').total.sessions).toBeGreaterThan(0);
    expect(f.expectedMonthly('2026-11').total.sessions).toBeGreaterThan(0);
    // A month with nothing: every station listed as without activity.
    const empty = await c.monthlyReport('2027-01');
    expect(empty.total).toMatchObject({ sessions: 0, stations: 20, stations_no_activity: 20 });

    // The fleet table: online, heartbeats, the simulator's faulty projectors, outbox depth.
    await waitFor(async () => (await c.fleetTable()).every((r) => r.outbox_depth === 0), 5_000);
    const table = await c.fleetTable();
    expect(table).toHaveLength(20);
    expect(table.every((r) => r.online === true && r.last_heartbeat !== null && r.missing === 0)).toBe(true);
    expect(table.filter((r) => r.devices_with_faults.includes('projector-1')).map((r) => r.station_id).sort()).toEqual(['st-0004', 'st-0011', 'st-0018']);
    expect(table.find((r) => r.station_id === 'st-0001')!.town).toBe('town-01');
  });

  it('a malformed payload is logged and counted, never a crash, and never stored', async () => {
    const prefix = freshPrefix();
    const c = await collector(join(tmp(), 'county.db'), prefix);
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    clients.push(pub);
    const good = {
      v: 1,
      seq: 1,
      id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
      station_id: 'st-x',
      ts: '2026-11-02T01:00:00.000Z',
      clock: 'synced',
      type: 'agent_start',
      severity: 'info',
      message: 'started',
      boot: 1,
    };
    await pub.publishAsync(`${prefix}/st-x/usage`, 'not json {', { qos: 1 });
    await pub.publishAsync(`${prefix}/st-x/usage`, JSON.stringify({ v: 1, seq: 'one' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/st-x/events`, JSON.stringify({ ...good, station_id: 'st-other' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/st-x/heartbeat`, JSON.stringify({ v: 2 }), { qos: 1 });
    await pub.publishAsync(`${prefix}/st-x/status`, Buffer.alloc(300 * 1024, 0x20), { qos: 1 });
    await pub.publishAsync(`${prefix}/st-x/events`, JSON.stringify(good), { qos: 1 });
    await waitFor(() => c.stats().stored === 1, 5_000);
    expect(c.stats()).toMatchObject({
      malformed: 5,
      malformed_by_reason: { not_json: 1, invalid_usage: 1, station_mismatch: 1, invalid_heartbeat: 1, too_large: 1 },
    });
    expect(await recordCount(c)).toBe(1);
    await waitFor(async () => (await c.store.station('st-x'))?.acked_seq === 1, 5_000);
  });

  it('a record the station no longer holds is recorded as lost, so the watermark and the acks move on', async () => {
    const prefix = freshPrefix();
    const c = await collector(join(tmp(), 'county.db'), prefix);
    const f = await fleet(prefix, { stations: 3, recordsPerStation: 12, gaps: [{ station: 1, seq: 4, lost: true }] });
    await f.allAllocated();
    await waitFor(() => f.station(1).acked === 12, 10_000);
    await c.flush();
    expect(c.stats().lost_marked).toBe(1);
    expect((await c.store.lost()).map((r) => [r.station_id, r.from_seq, r.to_seq])).toEqual([['st-0002', 4, 4]]);
    expect(await recordCount(c)).toBe(35);
    const expected = f.expectedMonthly('2026-10');
    expect((await c.monthlyReport('2026-10')).total.sessions).toBe(expected.total.sessions);
  });

  it('two collectors in one share group split the load and together store everything once', async () => {
    const prefix = freshPrefix();
    const db = join(tmp(), 'county.db');
    const a = await collector(db, prefix, { group: 'g1' });
    const b = await collector(db, prefix, { group: 'g1' });
    const f = await fleet(prefix, { gaps: [{ station: 7, seq: 9 }] });
    await f.allAllocated();
    await waitFor(() => f.stats().acked === 600, 15_000);
    await a.flush();
    await b.flush();
    const sa = a.stats();
    const sb = b.stats();
    expect(sa.stored).toBeGreaterThan(50);
    expect(sb.stored).toBeGreaterThan(50);
    expect(sa.stored + sb.stored).toBe(600);
    expect(await recordCount(a)).toBe(600);
    expect(sa.conflicts + sb.conflicts).toBe(0);
    const ws = (await a.store.stations()).map((s) => s.watermark);
    expect(ws).toHaveLength(20);
    expect({ lo: Math.min(...ws), hi: Math.max(...ws) }).toEqual({ lo: 30, hi: 30 });
  });

  it("a station that drops its connection: the Will marks it offline, it reconnects, and the replay's duplicates are harmless", async () => {
    const prefix = freshPrefix();
    const c = await collector(join(tmp(), 'county.db'), prefix, { ackIntervalMs: 2_000 });
    const f = await fleet(prefix, { stations: 2, recordsPerStation: 10 });
    await f.allAllocated();
    // The first ack pass is 2 s after the collector started: the station still holds all its records when it drops.
    expect(f.station(0).outbox).toBe(10);
    const st1 = () => c.store.station('st-0001');
    await waitFor(async () => (await st1())?.max_seq === 10, 5_000);
    f.dropConnection(0);
    await waitFor(async () => (await st1())?.online === false, 5_000);
    await waitFor(async () => {
      const s = await st1();
      return s?.online === true && s.boot === 2;
    }, 10_000);
    await waitFor(() => f.station(0).acked === 10 && f.station(1).acked === 10, 10_000);
    await c.flush();
    expect(await recordCount(c)).toBe(20);
    expect(c.stats().duplicates).toBeGreaterThan(0);
    expect(c.stats().stale_status).toBe(0);
  });
});
