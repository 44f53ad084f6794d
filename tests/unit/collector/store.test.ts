/**
 * The CollectorStore contract, run against every implementation (today SQLite in memory: the store's
 * logic without touching the disk; the PostgreSQL one joins this list). Writes go through apply(), the
 * one write path the collector uses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteCollectorStore } from '../../../scripts/county/sqlite-store.js';
import type { CollectorStore, CollectorWrite, WriteOutcome } from '../../../scripts/county/store.js';
import { fleetTable } from '../../../scripts/county/report.js';
import { DEFAULT_SHAPE, durableRecord, stationIdentity } from '../../../scripts/fleet/generate.js';
import type { EventRecord } from '../../../agent/events.js';
import type { UsageRecord } from '../../../agent/sessions/record.js';

const IMPLEMENTATIONS: Array<{ name: string; open: () => Promise<CollectorStore> }> = [{ name: 'sqlite', open: async () => openSqliteCollectorStore(':memory:') }];

describe.each(IMPLEMENTATIONS)('CollectorStore ($name)', ({ open }) => {
  let store: CollectorStore;
  afterEach(async () => {
    await store?.close();
  });

  const station = stationIdentity(DEFAULT_SHAPE, 0);
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
    store = await open();
    for (const seq of [1, 2, 4, 5, 7]) expect(await put(seq)).toBe('stored');
    expect([(await row()).watermark, (await row()).max_seq]).toEqual([2, 7]);
    expect(await store.gaps()).toEqual([{ station_id: station.id, watermark: 2, max_seq: 7, from_seq: 3, to_seq: 3 }]);
    expect(await put(3)).toBe('stored');
    expect((await row()).watermark).toBe(5);
    expect(await store.gaps()).toEqual([{ station_id: station.id, watermark: 5, max_seq: 7, from_seq: 6, to_seq: 6 }]);
    expect(await put(6)).toBe('stored');
    expect((await row()).watermark).toBe(7);
    expect(await store.gaps()).toEqual([]);
  });

  it('a duplicate is a no-op; the same seq with another id is a conflict and the first record stays', async () => {
    store = await open();
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
    store = await open();
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
    store = await open();
    await put(1);
    await put(2);
    await put(4);
    expect(await store.claimAcks()).toEqual([{ station_id: station.id, watermark: 2 }]);
    expect(await store.claimAcks()).toEqual([]);
    expect((await row()).acked_seq).toBe(2);
    expect(await store.ackedStations()).toEqual([{ station_id: station.id, acked_seq: 2 }]);
    await put(3);
    expect(await store.claimAcks()).toEqual([{ station_id: station.id, watermark: 4 }]);
  });

  it('lost seqs let the watermark step over them, and never over what is above max_seq', async () => {
    store = await open();
    await put(1);
    await put(4);
    expect(await one({ kind: 'lost', station: station.id, from_seq: 2, to_seq: 10 })).toEqual({ kind: 'lost', count: 2 });
    expect((await row()).watermark).toBe(4);
    expect(await store.lost()).toEqual([
      { station_id: station.id, seq: 2 },
      { station_id: station.id, seq: 3 },
    ]);
    expect(await one({ kind: 'lost', station: 'nobody', from_seq: 1, to_seq: 3 })).toEqual({ kind: 'lost', count: 0 });
  });

  it('drops a late Last Will of an older MQTT session', async () => {
    store = await open();
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
    store = await open();
    const ev = async (seq: number, type: EventRecord['type'], device: string): Promise<void> => {
      const e: EventRecord = {
        v: 1,
        seq,
        id: `01JAAAAAAAAAAAAAAAAAAAAA${String(seq).padStart(2, '0')}`,
        station_id: 's',
        ts: '2026-11-01T00:00:00.000Z',
        clock: 'synced',
        type,
        severity: 'warning',
        device,
        message: 'lamp',
        boot: 1,
      };
      await one({ kind: 'record', station: 's', stream: 'events', record: e, raw: JSON.stringify(e), receivedAt: 'now' });
    };
    await ev(2, 'lamp_warning_cleared', 'projector-1');
    await ev(1, 'lamp_warning', 'projector-1');
    await ev(3, 'lamp_warning', 'projector-2');
    expect((await fleetTable(store))[0]!.lamp_warnings).toEqual(['projector-2']);
    await ev(4, 'lamp_warning', 'projector-1');
    expect((await fleetTable(store))[0]!.lamp_warnings).toEqual(['projector-1', 'projector-2']);
  });

  it('lists stations by town, stations without a town last', async () => {
    store = await open();
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
});
