import { afterEach, describe, expect, it } from 'vitest';
import { CollectorStore, openCollectorDb } from '../../../scripts/county/store.js';
import { fleetTable } from '../../../scripts/county/report.js';
import { DEFAULT_SHAPE, durableRecord, stationIdentity } from '../../../scripts/fleet/generate.js';
import type { EventRecord } from '../../../agent/events.js';

// In-memory SQLite: the store's logic without touching the disk.
let store: CollectorStore;
afterEach(() => store?.close());

const station = stationIdentity(DEFAULT_SHAPE, 0);
const put = (seq: number, id?: string) => {
  const rec = durableRecord(DEFAULT_SHAPE, station, seq, 1);
  const payload = id ? { ...rec.payload, id } : rec.payload;
  return store.putRecord(station.id, rec.stream, payload, JSON.stringify(payload), '2026-11-01T00:00:00.000Z');
};
const row = () => store.station(station.id)!;

describe('CollectorStore', () => {
  it('advances the watermark only over contiguous seqs, whatever the arrival order', () => {
    store = new CollectorStore(openCollectorDb(':memory:'));
    for (const seq of [1, 2, 4, 5, 7]) expect(put(seq)).toBe('stored');
    expect([row().watermark, row().max_seq]).toEqual([2, 7]);
    expect(store.gaps()).toEqual([{ station_id: station.id, watermark: 2, max_seq: 7, from_seq: 3, to_seq: 3 }]);
    expect(put(3)).toBe('stored');
    expect(row().watermark).toBe(5);
    expect(store.gaps()).toEqual([{ station_id: station.id, watermark: 5, max_seq: 7, from_seq: 6, to_seq: 6 }]);
    expect(put(6)).toBe('stored');
    expect(row().watermark).toBe(7);
    expect(store.gaps()).toEqual([]);
  });

  it('a duplicate is a no-op; the same seq with another id is a conflict and the first record stays', () => {
    store = new CollectorStore(openCollectorDb(':memory:'));
    expect(put(1)).toBe('stored');
    expect(put(1)).toBe('duplicate');
    expect(put(1, 'ZZZZZZZZZZZZZZZZZZZZZZZZZZ')).toBe('conflict');
    const ids = store.db.prepare('SELECT id FROM records').all() as Array<{ id: string }>;
    expect(ids).toHaveLength(1);
    expect(ids[0]!.id).not.toBe('ZZZZZZZZZZZZZZZZZZZZZZZZZZ');
  });

  it('acks each new watermark once', () => {
    store = new CollectorStore(openCollectorDb(':memory:'));
    put(1);
    put(2);
    put(4);
    expect(store.pendingAcks()).toEqual([{ station_id: station.id, watermark: 2 }]);
    expect(store.markAcked(station.id, 2)).toBe(true);
    expect(store.markAcked(station.id, 2)).toBe(false);
    expect(store.pendingAcks()).toEqual([]);
  });

  it('lost seqs let the watermark step over them, and never over what is above max_seq', () => {
    store = new CollectorStore(openCollectorDb(':memory:'));
    put(1);
    put(4);
    expect(store.markLost(station.id, 2, 10)).toBe(2);
    expect(row().watermark).toBe(4);
    expect(store.db.prepare('SELECT seq FROM lost ORDER BY seq').all()).toEqual([{ seq: 2 }, { seq: 3 }]);
  });

  it('drops a late Last Will of an older MQTT session', () => {
    store = new CollectorStore(openCollectorDb(':memory:'));
    const online = (boot: number) =>
      ({ v: 1, online: true, station_id: 's', boot, agent_boot: 1, agent_version: 'x', started_at: 't', ts: 't', clock: 'synced' }) as const;
    expect(store.putStatus('s', online(3), 'now')).toBe(true);
    expect(store.putStatus('s', { v: 1, online: false, station_id: 's', boot: 2 }, 'now')).toBe(false);
    expect(store.station('s')!.online).toBe(1);
    expect(store.putStatus('s', { v: 1, online: false, station_id: 's', boot: 3 }, 'now')).toBe(true);
    expect(store.station('s')!.online).toBe(0);
  });

  it('a lamp warning shows in the fleet table until a later (by seq) clear, whatever the arrival order', () => {
    store = new CollectorStore(openCollectorDb(':memory:'));
    const ev = (seq: number, type: EventRecord['type'], device: string): void => {
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
      store.putRecord('s', 'events', e, JSON.stringify(e), 'now');
    };
    ev(2, 'lamp_warning_cleared', 'projector-1');
    ev(1, 'lamp_warning', 'projector-1');
    ev(3, 'lamp_warning', 'projector-2');
    expect(fleetTable(store.db)[0]!.lamp_warnings).toEqual(['projector-2']);
    ev(4, 'lamp_warning', 'projector-1');
    expect(fleetTable(store.db)[0]!.lamp_warnings).toEqual(['projector-1', 'projector-2']);
  });
});
