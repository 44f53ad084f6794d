/**
 * The collector store's part in visits (county/visit-store.ts), run against every implementation by
 * collector-store.test.ts: the status's reason (a clean stop vs a Last Will), the declared opening hours
 * of the inventory, the latest run of each schedule from `schedule_run` events (phases merged in any
 * order, a later run replacing an earlier one), the devices in use, and the visit items' lifecycle with
 * its guards (one open item per cause, even from two stores at once; nothing reopened after a hand clear
 * until rearmed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CollectorWrite } from '../../county/store.js';
import { DEFAULT_SHAPE, deviceState, inventory, SIM_DEVICES, stationIdentity } from '../../scripts/fleet/generate.js';
import type { StoreUnderTest } from './collector-store.contract.js';
import { eventWrite, type RecordWrite } from './event-writes.js';

type Open = () => Promise<{ store: StoreUnderTest; another(): Promise<StoreUnderTest>; dispose(): Promise<void> }>;

const ST = stationIdentity(DEFAULT_SHAPE, 3);
const S = ST.id;
const AT = '2026-11-30T12:00:00.000Z';

const status = (online: boolean, boot: number, reason?: 'agent_stop'): CollectorWrite => ({
  kind: 'status',
  station: S,
  receivedAt: AT,
  status: online
    ? { v: 1, online: true, station_id: S, boot, agent_boot: 1, agent_version: '1', started_at: AT, ts: AT, clock: 'synced' }
    : { v: 1, online: false, station_id: S, boot, ...(reason ? { reason } : {}) },
});

/** A schedule_run event as the agent reports it (agent/scheduler/scheduler.ts). */
function run(seq: number, schedule: string, runId: string | undefined, phase: 'start' | 'end', ok: boolean, stepsOk = ok ? 2 : 0): RecordWrite {
  const w = eventWrite(S, seq, 'schedule_run', undefined, { ts: `2026-11-30T12:00:${String(seq).padStart(2, '0')}.000Z` });
  const steps = [0, 1].map((i) => (i < stepsOk ? { device: 'proj', action: 'power', value: 'on', status: 'ok', ms: 5 } : { device: 'proj', action: 'power', value: 'on', status: 'timeout', ms: 5, error: { code: 'timeout', message: 'timed out' } }));
  const record = { ...w.record, severity: ok ? 'info' : 'warning', data: { schedule_id: schedule, ...(runId ? { run_id: runId } : {}), phase, ok, steps } } as RecordWrite['record'];
  return { ...w, record, raw: JSON.stringify(record) } as RecordWrite;
}

export function visitsContract(name: string, open: Open): void {
  describe(`collector store contract, visits: ${name}`, () => {
    let store: StoreUnderTest;
    let another: () => Promise<StoreUnderTest>;
    const made: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const d of made.splice(0)) await d();
    });
    const fresh = async (): Promise<void> => {
      const u = await open();
      made.push(() => u.dispose());
      store = u.store;
      another = u.another;
    };
    const failed = async () => (await store.failedClasses(S)).map((c) => `${c.schedule_id} ${c.run_id} start=${c.start_ok} end=${c.end_ok}`);

    it('keeps why a station went offline: a clean stop says so, a Last Will does not, a late Will changes nothing', async () => {
      await fresh();
      await store.apply([status(true, 4)]);
      expect(await store.station(S)).toMatchObject({ online: true, status_reason: null, status_at: AT });
      await store.apply([status(false, 4, 'agent_stop')]);
      expect(await store.station(S)).toMatchObject({ online: false, status_reason: 'agent_stop' });
      await store.apply([status(false, 3)]);
      expect((await store.station(S))!.status_reason).toBe('agent_stop');
      await store.apply([status(true, 5), status(false, 5)]);
      expect(await store.station(S)).toMatchObject({ online: false, status_reason: null });
      expect((await store.fleet()).find((r) => r.station_id === S)).toMatchObject({ online: false, status_reason: null, status_at: AT });
    });

    it('keeps the opening hours of the latest inventory, and none when it declares none', async () => {
      await fresh();
      const hours = [{ days: ['mon', 'tue'] as Array<'mon' | 'tue'>, from: '08:00', to: '12:00' }, { days: ['sat'] as Array<'sat'>, from: '19:00', to: '02:00' }];
      const inv = inventory(ST, 1, Date.parse(AT), Date.parse(AT));
      await store.apply([{ kind: 'inventory', station: S, receivedAt: AT, inventory: { ...inv, station: { ...inv.station, opening_hours: hours } } }]);
      expect((await store.station(S))!.opening_hours).toEqual(hours);
      expect((await store.fleet())[0]!.opening_hours).toEqual(hours);
      await store.apply([{ kind: 'inventory', station: S, receivedAt: AT, inventory: inv }]);
      expect((await store.station(S))!.opening_hours).toBeNull();
    });

    it('tells a schedule whose latest run failed, merging a run’s phases in any order; a later run replaces it, an older one does not', async () => {
      await fresh();
      await store.apply([run(1, 'evening', 'r1', 'start', false), run(2, 'evening', 'r1', 'end', true), run(3, 'morning', 'm1', 'start', true)]);
      expect(await failed()).toEqual(['evening r1 start=false end=true']);
      expect((await store.failedClasses(S))[0]).toMatchObject({ start_done: 0, start_total: 2, end_done: 2, end_total: 2, seq: 2 });
      // The next run of evening starts well: the failure is over. morning's end arrives before its start's replay.
      await store.apply([run(5, 'evening', 'r2', 'start', true), run(6, 'morning', 'm2', 'end', false, 1), run(4, 'morning', 'm2', 'start', true)]);
      expect(await failed()).toEqual(['morning m2 start=true end=false']);
      // A duplicate changes nothing, nor does an older run arriving after a later one (a replay).
      await store.apply([run(1, 'evening', 'r1', 'start', false)]);
      await store.apply([run(10, 'evening', 'r4', 'start', true)]);
      await store.apply([run(9, 'evening', 'r3', 'start', false)]);
      // An event without a run id is a run of its own.
      await store.apply([run(7, 'other', undefined, 'start', false)]);
      expect(await failed()).toEqual(['morning m2 start=true end=false', 'other seq-7 start=false end=null']);
      const fleet = (await store.fleet()).find((r) => r.station_id === S)!;
      expect(fleet.failed_classes.map((c) => c.schedule_id)).toEqual(['morning', 'other']);
      expect((await store.failedClasses()).map((c) => c.station_id)).toEqual([S, S]);
    });

    it('lists the projectors, LED displays and amplifiers switched on as in use', async () => {
      await fresh();
      const now = Date.parse(AT);
      await store.apply(SIM_DEVICES.map((d) => ({ kind: 'device_state' as const, station: S, device: d.id, receivedAt: AT, state: deviceState(ST, d, d.kind !== 'led_display', now) })));
      expect((await store.fleet()).find((r) => r.station_id === S)!.active_devices).toEqual([
        { device_id: 'amp-1', kind: 'amplifier' },
        { device_id: 'projector-1', kind: 'projector' },
      ]);
    });

    it('keeps one open item per cause, acknowledged and cleared by name, with its history', async () => {
      await fresh();
      const item = { station_id: S, cause: 'link', kind: 'offline', detail: '{"kind":"offline"}' };
      await store.applyVisitPlan({ open: [item, { ...item, cause: 'fault:proj', kind: 'fault' }], clear: [], rearm: [] }, '2026-11-30T12:00:00.000Z');
      const second = await another();
      await Promise.all([store.applyVisitPlan({ open: [item], clear: [], rearm: [] }, AT), second.applyVisitPlan({ open: [item], clear: [], rearm: [] }, AT)]);
      const live = await store.liveVisits(S);
      expect(live.map((v) => v.cause)).toEqual(['link', 'fault:proj']);
      const [link, fault] = live;
      expect(link).toMatchObject({ kind: 'offline', opened_at: AT, acked_at: null, cleared_at: null, rearmed: false });
      expect(await store.acknowledgeVisit(S, link!.id, 'wangli', '周二去', '2026-11-30T12:05:00.000Z')).toBe(true);
      expect(await store.acknowledgeVisit('another-station', fault!.id, 'wangli', null, AT)).toBe(false);
      expect(await store.clearVisit(S, fault!.id, 'wangli', '2026-11-30T12:06:00.000Z')).toBe(true);
      expect(await store.clearVisit(S, fault!.id, 'wangli', AT)).toBe(false);
      expect(await store.acknowledgeVisit(S, fault!.id, 'wangli', null, AT)).toBe(false);
      await store.applyVisitPlan({ open: [], clear: [link!.id], rearm: [] }, '2026-11-30T12:10:00.000Z');
      const history = await store.visitHistory(S, 10);
      expect(history.map((v) => [v.cause, v.acked_by, v.note, v.cleared_at, v.cleared_by])).toEqual([
        ['fault:proj', null, null, '2026-11-30T12:06:00.000Z', 'wangli'],
        ['link', 'wangli', '周二去', '2026-11-30T12:10:00.000Z', null],
      ]);
      // The hand-cleared fault is still live (held): no new item for it until rearmed.
      expect((await store.liveVisits()).map((v) => [v.cause, v.rearmed])).toEqual([['fault:proj', false]]);
      await store.applyVisitPlan({ open: [{ ...item, cause: 'fault:proj', kind: 'fault' }], clear: [], rearm: [] }, AT);
      expect((await store.liveVisits(S)).filter((v) => v.cleared_at === null)).toEqual([]);
      await store.applyVisitPlan({ open: [], clear: [], rearm: [fault!.id] }, AT);
      expect(await store.liveVisits(S)).toEqual([]);
      await store.applyVisitPlan({ open: [{ ...item, cause: 'fault:proj', kind: 'fault' }], clear: [], rearm: [] }, AT);
      expect((await store.liveVisits(S)).map((v) => v.cause)).toEqual(['fault:proj']);
      // Pruning takes the old cleared items that hold nothing back.
      expect(await store.pruneVisits('2026-11-30T12:07:00.000Z')).toBe(1);
      expect(await store.pruneVisits('2026-12-01T00:00:00.000Z')).toBe(1);
      expect((await store.visitHistory(S, 10)).map((v) => v.cause)).toEqual(['fault:proj']);
    });
  });
}
