/**
 * The collector store's conformance suite (county/store.ts: CollectorStore and ConsoleStore),
 * run against every implementation by collector-store.test.ts: SQLite on a real file and PostgreSQL 15
 * on a real server. Writes go through apply(), the one write path the collector uses; everything is
 * asserted through the interfaces only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CollectorStore, CollectorWrite, ConsoleStore, PushRow, WriteOutcome } from '../../county/store.js';
import { HEARTBEAT_HISTORY_DAYS, HEARTBEAT_HISTORY_STEP_MS, QUARANTINE_KEEP, SEQ_WINDOW } from '../../county/store.js';
import { fleetTable } from '../../county/report.js';
import { DEFAULT_SHAPE, deviceState, durableRecord, fleetLedger, heartbeat, inventory, SIM_DEVICES, stationIdentity } from '../../scripts/fleet/generate.js';
import type { EventRecord } from '../../protocol/event-record.js';
import { eventWrite } from './event-writes.js';
import type { UsageRecord } from '../../protocol/usage-record.js';

export type StoreUnderTest = CollectorStore & ConsoleStore;

/** Opens a fresh, empty store; dispose() closes it and removes whatever it made (file, schema). */
export type OpenStore = () => Promise<{ store: StoreUnderTest; dispose(): Promise<void> }>;

export function collectorStoreContract(name: string, open: OpenStore): void {
  describe(`collector store contract: ${name}`, () => {
    let store: StoreUnderTest;
    const made: Array<() => Promise<void>> = [];
    const fresh = async (): Promise<StoreUnderTest> => {
      const u = await open();
      made.push(() => u.dispose());
      return u.store;
    };
    afterEach(async () => {
      for (const d of made.splice(0)) await d();
    });

    const station = stationIdentity(DEFAULT_SHAPE, 0);
    /** The station's one ledger, at base 0 (ledgers: collector-store-ledgers.contract.ts). */
    const L = { ledger: fleetLedger(DEFAULT_SHAPE, station), ledger_base: 0 };
    const recordWrite = (seq: number, id?: string): CollectorWrite => {
      const rec = durableRecord(DEFAULT_SHAPE, station, seq, 1);
      const payload = id ? { ...rec.payload, id } : rec.payload;
      const raw = JSON.stringify(payload);
      return rec.stream === 'usage'
        ? { kind: 'record', station: station.id, stream: 'usage', record: payload as UsageRecord, raw, receivedAt: '2026-11-01T00:00:00.000Z' }
        : { kind: 'record', station: station.id, stream: 'events', record: payload as EventRecord, raw, receivedAt: '2026-11-01T00:00:00.000Z' };
    };
    const one = async (w: CollectorWrite): Promise<WriteOutcome> => (await store.apply([w]))[0]!;
    const put = async (seq: number, id?: string) => {
      const o = await one(recordWrite(seq, id));
      return o.kind === 'record' ? o.outcome : o;
    };
    const row = async () => (await store.station(station.id))!;

    it('advances the watermark only over contiguous seqs, whatever the arrival order', async () => {
      store = await fresh();
      for (const seq of [1, 2, 4, 5, 7]) expect(await put(seq)).toBe('stored');
      expect([(await row()).watermark, (await row()).max_seq]).toEqual([2, 7]);
      expect(await store.gaps()).toEqual([{ station_id: station.id, ...L, watermark: 2, max_seq: 7, from_seq: 3, to_seq: 3 }]);
      expect(await put(3)).toBe('stored');
      expect((await row()).watermark).toBe(5);
      expect(await store.gaps()).toEqual([{ station_id: station.id, ...L, watermark: 5, max_seq: 7, from_seq: 6, to_seq: 6 }]);
      expect(await put(6)).toBe('stored');
      expect((await row()).watermark).toBe(7);
      expect(await store.gaps()).toEqual([]);
    });

    it('a duplicate is a no-op; the same seq with another id is a conflict and the first record stays', async () => {
      store = await fresh();
      expect(await put(1)).toBe('stored');
      expect(await put(1)).toBe('duplicate');
      expect(await put(1, 'ZZZZZZZZZZZZZZZZZZZZZZZZZZ')).toBe('conflict');
      expect(await store.countRecords()).toBe(1);
      const kept = (await store.record(station.id, 1))!;
      expect(kept.id).not.toBe('ZZZZZZZZZZZZZZZZZZZZZZZZZZ');
      expect(kept.id).toBe((recordWrite(1) as { record: { id: string } }).record.id);
      expect(JSON.parse(kept.payload)).toMatchObject({ seq: 1, station_id: station.id });
    });

    it('a batch is all or nothing, with one outcome per write in order', async () => {
      store = await fresh();
      expect(await store.apply([recordWrite(1), recordWrite(2), recordWrite(1)])).toEqual([
        { kind: 'record', outcome: 'stored' },
        { kind: 'record', outcome: 'stored' },
        { kind: 'record', outcome: 'duplicate' },
      ]);
      // A usage record whose start is not a date breaks the usage insert (NOT NULL start_ms): the whole batch rolls back.
      const bad = recordWrite(4);
      const broken = { ...bad, stream: 'usage', record: { ...(bad as { record: object }).record, start: 'not a date', end: 'not a date' } } as CollectorWrite;
      await expect(store.apply([recordWrite(3), broken])).rejects.toThrow();
      expect(await store.countRecords()).toBe(2);
      expect((await row()).watermark).toBe(2);
      // The store stays usable after a rollback.
      expect(await put(3)).toBe('stored');
      expect((await row()).watermark).toBe(3);
    });

    it('acks each new watermark once: a claimed watermark is not claimed again', async () => {
      store = await fresh();
      await put(1);
      await put(2);
      await put(4);
      expect(await store.claimAcks()).toEqual([{ station_id: station.id, watermark: 2, ...L }]);
      expect(await store.claimAcks()).toEqual([]);
      expect((await row()).acked_seq).toBe(2);
      expect(await store.ackedStations()).toEqual([{ station_id: station.id, acked_seq: 2, ...L }]);
      await put(3);
      expect(await store.claimAcks()).toEqual([{ station_id: station.id, watermark: 4, ...L }]);
    });

    it('publishAcks hands the new watermarks to publish and keeps them claimed once it is done', async () => {
      store = await fresh();
      await put(1);
      await put(2);
      const handed: unknown[] = [];
      expect(await store.publishAcks(async (claims) => void handed.push(...claims))).toEqual([{ station_id: station.id, watermark: 2, ...L }]);
      expect(handed).toEqual([{ station_id: station.id, watermark: 2, ...L }]);
      expect(await store.claimAcks()).toEqual([]);
      expect((await row()).acked_seq).toBe(2);
      // Nothing new: publish is not called.
      expect(await store.publishAcks(async () => void handed.push('called'))).toEqual([]);
      expect(handed).toHaveLength(1);
    });

    it('lost seqs let the watermark step over them, and never over what is above max_seq', async () => {
      store = await fresh();
      await put(1);
      await put(4);
      expect(await one({ kind: 'lost', station: station.id, from_seq: 2, to_seq: 10 })).toEqual({ kind: 'lost', count: 2 });
      expect((await row()).watermark).toBe(4);
      expect((await store.lost()).map(({ noted_at: _, ...r }) => r)).toEqual([{ station_id: station.id, from_seq: 2, to_seq: 3 }]);
      expect(await one({ kind: 'lost', station: 'nobody', from_seq: 1, to_seq: 3 })).toEqual({ kind: 'lost', count: 0 });
      // Again: nothing new (already lost, or at or below the watermark).
      expect(await one({ kind: 'lost', station: station.id, from_seq: 1, to_seq: 4 })).toEqual({ kind: 'lost', count: 0 });
    });

    it('marks a loss of any size as ranges around the stored records, in one batch, and the watermark steps over it', async () => {
      store = await fresh();
      await store.apply([1, 5, 6, 9, 20_000].map((seq) => recordWrite(seq)));
      expect((await row()).watermark).toBe(1);
      // The station answers "none of them" for everything up to 2^53 − 1: only the holes below max_seq count.
      expect(await one({ kind: 'lost', station: station.id, from_seq: 2, to_seq: Number.MAX_SAFE_INTEGER })).toEqual({ kind: 'lost', count: 3 + 2 + 19_990 });
      expect((await store.lost()).map((r) => [r.from_seq, r.to_seq])).toEqual([
        [2, 4],
        [7, 8],
        [10, 19_999],
      ]);
      expect((await row()).watermark).toBe(20_000);
      expect(await store.gaps()).toEqual([]);
      expect(await store.missing()).toEqual([]);
    });

    it('counts missing seqs with lost ranges above the watermark, and the first gap stops at a lost range', async () => {
      store = await fresh();
      await store.apply([1, 10].map((seq) => recordWrite(seq)));
      // A loss that does not start at the watermark (seqs 2..4 may still come).
      expect(await one({ kind: 'lost', station: station.id, from_seq: 5, to_seq: 7 })).toEqual({ kind: 'lost', count: 3 });
      expect((await row()).watermark).toBe(1);
      expect(await store.missing()).toEqual([{ station_id: station.id, missing: 8 - 3 }]);
      expect(await store.gaps()).toEqual([{ station_id: station.id, ...L, watermark: 1, max_seq: 10, from_seq: 2, to_seq: 4 }]);
      await store.apply([2, 3, 4].map((seq) => recordWrite(seq)));
      expect((await row()).watermark).toBe(7);
      expect(await store.gaps()).toEqual([{ station_id: station.id, ...L, watermark: 7, max_seq: 10, from_seq: 8, to_seq: 9 }]);
      await store.apply([8, 9].map((seq) => recordWrite(seq)));
      expect((await row()).watermark).toBe(10);
      expect(await store.missing()).toEqual([]);
    });

    it('quarantines a seq far above the watermark: not stored, no gap, counted, at most QUARANTINE_KEEP kept', async () => {
      store = await fresh();
      await put(1);
      const far = (seq: number): CollectorWrite => {
        const w = recordWrite(1) as Extract<CollectorWrite, { kind: 'record' }>;
        const record = { ...w.record, seq };
        return { ...w, record, raw: JSON.stringify(record) } as CollectorWrite;
      };
      const huge = Number.MAX_SAFE_INTEGER - 1;
      expect(await store.apply([far(1 + SEQ_WINDOW), far(2 + SEQ_WINDOW), far(huge)])).toEqual([
        { kind: 'record', outcome: 'stored' },
        { kind: 'record', outcome: 'quarantined' },
        { kind: 'record', outcome: 'quarantined' },
      ]);
      expect(await row()).toMatchObject({ watermark: 1, max_seq: 1 + SEQ_WINDOW, quarantined: 2 });
      const q = await store.quarantined(station.id);
      expect(q.map((r) => [r.seq, r.watermark])).toEqual([
        [2 + SEQ_WINDOW, 1],
        [huge, 1],
      ]);
      expect(JSON.parse(q[1]!.payload)).toMatchObject({ seq: huge, station_id: station.id });
      expect(await store.record(station.id, huge)).toBeUndefined();
      expect(await store.countRecords()).toBe(2);
      expect(await store.quarantined('nobody')).toEqual([]);
      // A flood of them: every one counted, the kept rows bounded.
      await store.apply(Array.from({ length: QUARANTINE_KEEP + 50 }, (_, i) => far(huge - 2 - i)));
      expect((await row()).quarantined).toBe(QUARANTINE_KEEP + 52);
      expect(await store.quarantined()).toHaveLength(QUARANTINE_KEEP);
    });

    it('drops a late Last Will of an older MQTT session', async () => {
      store = await fresh();
      const online = (boot: number) =>
        ({ v: 1, online: true, station_id: 's', boot, agent_boot: 1, agent_version: 'x', started_at: 't', ts: 't', clock: 'synced' }) as const;
      const status = async (s: object) => one({ kind: 'status', station: 's', status: s as never, receivedAt: 'now' });
      expect(await status(online(3))).toEqual({ kind: 'status', applied: true });
      expect(await status({ v: 1, online: false, station_id: 's', boot: 2 })).toEqual({ kind: 'status', applied: false });
      expect((await store.station('s'))!.online).toBe(true);
      expect(await status({ v: 1, online: false, station_id: 's', boot: 3 })).toEqual({ kind: 'status', applied: true });
      expect((await store.station('s'))!.online).toBe(false);
    });

    it('a lamp warning shows in the fleet table until a later (by seq) clear, whatever the arrival order', async () => {
      store = await fresh();
      const ev = async (seq: number, type: EventRecord['type'], device: string): Promise<void> => {
        await one(eventWrite('s', seq, type, device, { id: `01JAAAAAAAAAAAAAAAAAAAAA${String(seq).padStart(2, '0')}`, receivedAt: 'now' }));
      };
      await ev(2, 'lamp_warning_cleared', 'projector-1');
      await ev(1, 'lamp_warning', 'projector-1');
      await ev(3, 'lamp_warning', 'projector-2');
      expect((await fleetTable(store))[0]!.lamp_warnings).toEqual(['projector-2']);
      await ev(4, 'lamp_warning', 'projector-1');
      expect((await fleetTable(store))[0]!.lamp_warnings).toEqual(['projector-1', 'projector-2']);
    });

    it('lists stations by town, stations without a town last', async () => {
      store = await fresh();
      const seen = (id: string) => ({ kind: 'status', station: id, status: { v: 1, online: false, station_id: id, boot: 1 }, receivedAt: 'now' }) as CollectorWrite;
      await store.apply([seen('b'), seen('a'), seen('c')]);
      const inv = (id: string, town: string) =>
        ({ kind: 'inventory', station: id, inventory: { station: { id, name: id, town, county: 'k', level: 'village', timezone: 'Asia/Shanghai' } }, receivedAt: 'now' }) as unknown as CollectorWrite;
      await store.apply([inv('c', 'town-1'), inv('b', 'town-2')]);
      expect((await store.stations()).map((s) => [s.station_id, s.town])).toEqual([
        ['c', 'town-1'],
        ['b', 'town-2'],
        ['a', null],
      ]);
    });

    // ------------------------------------------------------------------ ConsoleStore

    const at = (ms: number): string => new Date(ms).toISOString();
    const statusWrite = (id: string, version: string): CollectorWrite => ({
      kind: 'status',
      station: id,
      status: { v: 1, online: true, station_id: id, boot: 1, agent_boot: 1, agent_version: version, started_at: at(0), ts: at(0), clock: 'synced' },
      receivedAt: at(0),
    });
    const stateWrite = (index: number, device: (typeof SIM_DEVICES)[number], nowMs: number): CollectorWrite => {
      const id = stationIdentity(DEFAULT_SHAPE, index);
      return { kind: 'device_state', station: id.id, device: device.id, state: deviceState(id, device, true, nowMs), receivedAt: at(nowMs) };
    };
    const lampEvent = (stationId: string, seq: number, type: 'lamp_warning' | 'lamp_warning_cleared', device: string): CollectorWrite =>
      eventWrite(stationId, seq, type, device, { id: `01JAAAAAAAAAAAAAAAAAAAAA${String(seq).padStart(2, '0')}`, ts: at(seq * 1000) });

    it('fleet rows carry the agent version, the faulty devices and the active lamp warnings with lamp hours', async () => {
      store = await fresh();
      // Station index 3 has the simulator's faulty projector (hasFault); index 0 has none.
      const faulty = stationIdentity(DEFAULT_SHAPE, 3);
      const now = Date.parse('2026-11-02T08:00:00.000Z');
      await store.apply([
        statusWrite(station.id, '0.1.0'),
        statusWrite(faulty.id, '0.2.0'),
        ...SIM_DEVICES.map((d) => stateWrite(0, d, now)),
        ...SIM_DEVICES.map((d) => stateWrite(3, d, now)),
        lampEvent(faulty.id, 1, 'lamp_warning', 'projector-1'),
      ]);
      const rows = await store.fleet();
      expect(rows.map((r) => r.station_id)).toEqual((await store.stations()).map((s) => s.station_id));
      const ok = rows.find((r) => r.station_id === station.id)!;
      const bad = rows.find((r) => r.station_id === faulty.id)!;
      expect([ok.agent_version, bad.agent_version]).toEqual(['0.1.0', '0.2.0']);
      expect(ok.faults).toEqual([]);
      expect(ok.lamp_warnings).toEqual([]);
      expect(bad.faults).toEqual([
        {
          station_id: faulty.id,
          device_id: 'projector-1',
          kind: 'projector',
          driver: 'pjlink',
          online: true,
          power: 'on',
          errors: [{ code: 'lamp', severity: 'error', text: 'lamp failure' }],
          lamp_hours: 1003,
          ts: at(now),
          received_at: at(now),
        },
      ]);
      expect(bad.lamp_warnings).toEqual([{ device: 'projector-1', lamp_hours: 1003 }]);
      expect(bad.online).toBe(true);
      await store.apply([lampEvent(faulty.id, 2, 'lamp_warning_cleared', 'projector-1')]);
      expect((await store.fleet()).find((r) => r.station_id === faulty.id)!.lamp_warnings).toEqual([]);
    });

    it('reads a station: inventory, devices, usage records and events newest first, events by type', async () => {
      store = await fresh();
      expect(await store.inventory(station.id)).toBeNull();
      const inv = inventory(station, 1, 0, Date.parse('2026-11-01T00:00:00.000Z'));
      const writes: CollectorWrite[] = [{ kind: 'inventory', station: station.id, inventory: inv, receivedAt: at(0) }];
      for (let seq = 1; seq <= 12; seq++) writes.push(recordWrite(seq));
      writes.push(...SIM_DEVICES.map((d) => stateWrite(0, d, 5_000)));
      await store.apply(writes);
      expect(await store.inventory(station.id)).toEqual(JSON.parse(JSON.stringify(inv)));
      // Only the devices of the listed stations' documents; a station without an inventory is left out.
      expect(await store.inventoryDevices([station.id, 'nobody'])).toEqual([{ station_id: station.id, devices: JSON.parse(JSON.stringify(inv.devices)) }]);
      expect(await store.inventoryDevices([])).toEqual([]);
      expect((await store.devices(station.id)).map((d) => d.device_id)).toEqual(SIM_DEVICES.map((d) => d.id).sort());
      expect(await store.devices('nobody')).toEqual([]);

      const written = writes.filter((w): w is Extract<CollectorWrite, { kind: 'record' }> => w.kind === 'record');
      const usageSeqs = written.filter((w) => w.stream === 'usage').map((w) => w.record.seq);
      const eventSeqs = written.filter((w) => w.stream === 'events').map((w) => w.record.seq);
      expect(usageSeqs.length).toBeGreaterThan(2);
      expect(eventSeqs.length).toBeGreaterThan(2);
      const usage = await store.usageRecords(station.id, 2);
      expect(usage.map((u) => u['seq'])).toEqual(usageSeqs.slice(-2).reverse());
      expect(usage[0]).toEqual(JSON.parse(written.find((w) => w.record.seq === usageSeqs.at(-1))!.raw));
      expect((await store.events(station.id, 100)).map((e) => e['seq'])).toEqual([...eventSeqs].reverse());
      const types = [...new Set(written.filter((w) => w.stream === 'events').map((w) => (w.record as EventRecord).type))];
      const one = types[0]!;
      const ofType = written.filter((w) => w.stream === 'events' && (w.record as EventRecord).type === one).map((w) => w.record.seq);
      expect((await store.events(station.id, 100, [one])).map((e) => e['seq'])).toEqual([...ofType].reverse());
      expect(await store.events(station.id, 100, ['no_such_type'])).toEqual([]);
    });

    it('keeps at most one heartbeat per station and step, oldest first, and none older than the retention', async () => {
      store = await fresh();
      const step = HEARTBEAT_HISTORY_STEP_MS;
      const base = Math.floor(Date.now() / step) * step - 10 * step;
      const hb = (ms: number, depth: number): CollectorWrite => ({
        kind: 'heartbeat',
        station: station.id,
        heartbeat: heartbeat(1, 60, { depth, first_seq: null, last_seq: 0 }, 1, 0, ms),
        receivedAt: at(ms),
      });
      const old = base - (HEARTBEAT_HISTORY_DAYS + 1) * 86_400_000;
      await store.apply([hb(old, 9), hb(base + 1_000, 1), hb(base + 2_000, 2)]);
      await store.apply([hb(base + step + 5, 3), hb(base + 3 * step, 4)]);
      const points = await store.heartbeatHistory(station.id, base - 30 * 86_400_000);
      expect(points.map((p) => [p.ts, p.outbox_depth])).toEqual([
        [at(base + 1_000), 1],
        [at(base + step + 5), 3],
        [at(base + 3 * step), 4],
      ]);
      expect(points[0]).toEqual({ ts: at(base + 1_000), cpu_pct: 3, mem_pct: 40, disk_free_mb: 30000, agent_rss_mb: null, outbox_depth: 1, online_devices: SIM_DEVICES.length });
      expect((await store.heartbeatHistory(station.id, base + step)).map((p) => p.outbox_depth)).toEqual([3, 4]);
      expect(await store.heartbeatHistory('nobody', 0)).toEqual([]);
      // The station row still shows the latest heartbeat, whatever the history keeps.
      expect((await row()).outbox_depth).toBe(4);
    });

    it('records pushes and the first answer of each station; unknown transactions are refused', async () => {
      store = await fresh();
      const push = (pushId: string, stationId: string, sentAt: string): PushRow => ({
        push_id: pushId,
        transaction: `tx-${pushId}-${stationId}`,
        station_id: stationId,
        action: 'schedule.set',
        args: JSON.stringify({ id: 'class-1' }),
        sent_at: sentAt,
        sent_by: 'clerk',
        status: 'sent',
        response: null,
        responded_at: null,
        target: pushId === 'p1' ? '{"kind":"town","town":"东山乡"}' : null,
      });
      await store.addPushes([push('p1', 'b', '2026-11-01T01:00:00.000Z'), push('p1', 'a', '2026-11-01T01:00:00.000Z'), push('p1', 'c', '2026-11-01T01:00:00.000Z')]);
      await store.addPushes([push('p2', 'a', '2026-11-02T01:00:00.000Z')]);
      expect(await store.recordPushResponse('a', 'tx-p1-a', 'ok', '{"status":"ok"}', '2026-11-01T01:00:05.000Z')).toBe(true);
      expect(await store.recordPushResponse('b', 'tx-p1-b', 'error', '{"status":"error"}', '2026-11-01T01:00:06.000Z')).toBe(true);
      // A redelivered or forged second answer changes nothing; a transaction never sent is refused.
      expect(await store.recordPushResponse('a', 'tx-p1-a', 'error', '{"forged":true}', '2026-11-01T01:00:07.000Z')).toBe(true);
      expect(await store.recordPushResponse('a', 'tx-never', 'ok', '{}', '2026-11-01T01:00:07.000Z')).toBe(false);
      expect(await store.recordPushResponse('c', 'tx-p1-a', 'ok', '{}', '2026-11-01T01:00:07.000Z')).toBe(false);
      const rows = await store.push('p1');
      expect(rows.map((r) => [r.station_id, r.status, r.response, r.responded_at])).toEqual([
        ['a', 'ok', '{"status":"ok"}', '2026-11-01T01:00:05.000Z'],
        ['b', 'error', '{"status":"error"}', '2026-11-01T01:00:06.000Z'],
        ['c', 'sent', null, null],
      ]);
      expect(rows[0]).toEqual({ ...push('p1', 'a', '2026-11-01T01:00:00.000Z'), status: 'ok', response: '{"status":"ok"}', responded_at: '2026-11-01T01:00:05.000Z' });
      expect(await store.push('nope')).toEqual([]);
      expect(await store.recentPushes(10)).toEqual([
        { push_id: 'p2', action: 'schedule.set', args: '{"id":"class-1"}', target: null, sent_at: '2026-11-02T01:00:00.000Z', sent_by: 'clerk', stations: 1, ok: 0, error: 0 },
        { push_id: 'p1', action: 'schedule.set', args: '{"id":"class-1"}', target: '{"kind":"town","town":"东山乡"}', sent_at: '2026-11-01T01:00:00.000Z', sent_by: 'clerk', stations: 3, ok: 1, error: 1 },
      ]);
      expect((await store.recentPushes(1)).map((p) => p.push_id)).toEqual(['p2']);
    });
  });
}
