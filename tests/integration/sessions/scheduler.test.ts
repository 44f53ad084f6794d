import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { ScheduleConfig } from '../../../protocol/schedule.js';
import { silentLogger } from '../../../agent/log.js';
import { CommandRegistry } from '../../../agent/commands.js';
import { Scheduler, type SchedulerDeps } from '../../../agent/scheduler/scheduler.js';
import { validateCron } from '../../../protocol/cron.js';
import { registerScheduleCommands } from '../../../agent/scheduler/commands.js';
import { tempDir, removeDir } from '../../../scripts/lib/kit/index.js';
import { FakeDevices } from '../../unit/scheduler/fake-devices.js';
import { DEVICES, Station, TestClock } from './harness.js';

const MIN = 60_000;
// Tuesday 2024-03-05 19:59:00 in Asia/Shanghai.
const BEFORE_CLASS = Date.parse('2024-03-05T11:59:00.000Z');

const TUESDAY_CLASS: ScheduleConfig = {
  id: 'tuesday-class',
  cron: '0 20 * * 2',
  duration_min: 90,
  enabled: true,
  steps: [
    { device: 'proj', action: 'power', value: 'on', wait_for: 'on', timeout_s: 120 },
    { device: 'proj', action: 'input', value: '31', timeout_s: 30 },
    { device: 'amp', action: 'power', value: 'on', timeout_s: 30 },
    { device: 'led', action: 'power', value: 'on', timeout_s: 30 },
  ],
};

let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(() => {
  vi.useFakeTimers({ now: BEFORE_CLASS });
  dir = tempDir('sched-');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.useRealTimers();
  removeDir(dir);
});

function setup(schedules: ScheduleConfig[] = [TUESDAY_CLASS], extra: Partial<SchedulerDeps> = {}) {
  const st = new Station(dir, new TestClock());
  const devices = new FakeDevices(DEVICES, (s, prev) => st.bus.emit('device.state', s, prev));
  const scheduler = new Scheduler({
    store: st.store,
    events: st.events,
    control: devices,
    clock: st.clock,
    log: silentLogger,
    timezone: 'Asia/Shanghai',
    schedules,
    deviceIds: DEVICES.map((d) => d.id),
    noteTrigger: (t) => st.tracker.noteTrigger(t),
    ...extra,
  });
  st.tracker.start();
  scheduler.start();
  cleanups.push(() => st.close());
  cleanups.push(() => st.tracker.stop());
  cleanups.push(() => scheduler.stop());
  return { st, devices, scheduler };
}

describe('Scheduler with the session tracker on a real database', () => {
  test('a scheduled class powers everything on in order, off at the end, and its session carries the schedule trigger', async () => {
    const { st, devices, scheduler } = setup();
    expect(scheduler.list()[0]!.next_runs[0]).toBe('2024-03-05T12:00:00.000Z');
    await vi.advanceTimersByTimeAsync(MIN + 31_000); // 20:00:31, the projector warmed up at 20:00:30
    const on = devices.calls.map((c) => `${new Date(c.at).toISOString().slice(11, 19)} ${c.device} ${c.command.action} ${String(c.command.value)}`);
    expect(on).toEqual(['12:00:00 proj power on', '12:00:30 proj input 31', '12:00:30 amp power on', '12:00:30 led power on']);
    const [startEv] = st.eventsOf('schedule_run');
    expect(startEv).toMatchObject({ severity: 'info', data: { schedule_id: 'tuesday-class', phase: 'start', ok: true } });
    expect((startEv!.data as { steps: unknown[] }).steps).toHaveLength(4);
    expect(scheduler.list()[0]).toMatchObject({ running: true, last_run: { finished_at: null } });

    await vi.advanceTimersByTimeAsync(90 * MIN);
    const off = devices.calls.slice(4).map((c) => `${new Date(c.at).toISOString().slice(11, 19)} ${c.device} ${c.command.action} ${String(c.command.value)}`);
    expect(off).toEqual(['13:30:00 led power off', '13:30:00 amp power off', '13:30:00 proj power off']);
    await vi.advanceTimersByTimeAsync(5 * MIN);
    const events = st.eventsOf('schedule_run');
    expect(events.map((e) => (e.data as { phase: string }).phase)).toEqual(['start', 'end']);
    expect(scheduler.list()[0]).toMatchObject({ running: false, last_run: { outcome: { start: { ok: true }, end: { ok: true } } } });
    expect(scheduler.list()[0]!.last_run!.finished_at).not.toBeNull();

    const usage = st.usage();
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ trigger: 'schedule:tuesday-class', start: '2024-03-05T12:00:00.000Z', end_reason: 'devices_off', short: false });
    // A cooling projector is no longer in use: the session ends at 13:30:00 sharp.
    expect(usage[0]!.duration_s).toBe(90 * 60);
    expect(usage[0]!.inputs).toEqual([{ device: 'proj', input: '31', s: 90 * 60 - 30 }]);
  });

  test('a run missed while the agent was down is not replayed late', async () => {
    vi.setSystemTime(Date.parse('2024-03-05T12:20:00.000Z')); // the agent starts at 20:20
    const { st, devices } = setup();
    await vi.advanceTimersByTimeAsync(2 * 60 * MIN);
    expect(devices.calls).toEqual([]);
    expect(st.eventsOf('schedule_run')).toEqual([]);
  });

  test('a failing step is reported in the schedule_run event with its error', async () => {
    const { st, devices } = setup();
    devices.broken.add('amp');
    await vi.advanceTimersByTimeAsync(2 * MIN);
    const [ev] = st.eventsOf('schedule_run');
    expect(ev).toMatchObject({ severity: 'warning', data: { ok: false } });
    const steps = (ev!.data as { steps: Array<{ device: string; status: string; error?: { code: string } }> }).steps;
    expect(steps.map((s) => `${s.device}:${s.status}`)).toEqual(['proj:ok', 'proj:ok', 'amp:failed', 'led:ok']);
    expect(steps[2]!.error!.code).toBe('disconnected');
  });

  test('an agent restart in the middle of a class still runs the end steps at the planned time', async () => {
    const first = setup();
    await vi.advanceTimersByTimeAsync(30 * MIN);
    await first.scheduler.stop();
    first.st.tracker.stop();
    first.st.close();
    cleanups.length = 0;

    const second = setup();
    second.devices.states.forEach((s, id) => second.devices.states.set(id, { ...s, power: 'on' }));
    await vi.advanceTimersByTimeAsync(59 * MIN);
    expect(second.devices.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(2 * MIN);
    expect(second.devices.calls.map((c) => `${c.device} ${String(c.command.value)}`)).toEqual(['led off', 'amp off', 'proj off']);
    expect(second.st.eventsOf('schedule_run').map((e) => (e.data as { phase: string }).phase)).toEqual(['start', 'end']);
  });

  test('schedule.set: the county adds, replaces and deletes schedules; bad ones are refused with a clear error', async () => {
    const { st, devices, scheduler } = setup([]);
    const registry = new CommandRegistry();
    registerScheduleCommands(registry, scheduler);
    const county = { ...TUESDAY_CLASS, id: 'county-news', cron: '5 20 * * *', duration_min: 30 };
    expect(await registry.invoke('schedule.set', { schedule: county }, { source: 'county' })).toMatchObject({ status: 'ok' });
    const listed = await registry.invoke('schedule.list', {}, { source: 'socket' });
    expect(listed).toMatchObject({ status: 'ok', data: [{ id: 'county-news', source: 'county', next_runs: ['2024-03-05T12:05:00.000Z', expect.any(String), expect.any(String)] }] });

    const bad = [
      { schedule: { ...county, cron: '61 20 * * *' } },
      { schedule: { ...county, steps: [{ device: 'nope', action: 'power', value: 'on' }] } },
      { schedule: { ...county, extra: 1 } },
      { delete: 'missing' },
    ];
    const codes = [];
    for (const args of bad) codes.push(((await registry.invoke('schedule.set', args, { source: 'county' })) as { error: { code: string } }).error.code);
    expect(codes).toEqual(['invalid_args', 'invalid_args', 'invalid_args', 'not_found']);

    // It persisted: a new scheduler on the same database arms it.
    await vi.advanceTimersByTimeAsync(6 * MIN + 31_000);
    expect(devices.calls.length).toBeGreaterThan(0);
    expect(st.store.schedules.county()).toHaveLength(1);

    expect(await registry.invoke('schedule.set', { replace: [{ ...county, id: 'other' }] }, { source: 'county' })).toMatchObject({
      status: 'ok',
      data: { ids: ['county-news', 'other'] },
    });
    expect(scheduler.list().map((s) => s.id)).toEqual(['other']);
    expect(await registry.invoke('schedule.set', { delete: 'other' }, { source: 'county' })).toMatchObject({ status: 'ok' });
    expect(scheduler.list()).toEqual([]);
  });

  test('schedule.set refuses a step its device cannot take, says what changed, and lists what is installed', () => {
    let changed = 0;
    const actions: Record<string, string[]> = { proj: ['power', 'input', 'mute'], amp: ['power'], led: ['brightness', 'blank'] };
    const { scheduler } = setup([TUESDAY_CLASS], { deviceActions: (id) => actions[id], changed: () => changed++ });
    const county = { id: 'county-news', cron: '5 20 * * *', duration_min: 30, enabled: true, steps: [{ device: 'amp', action: 'volume' as const, value: 40, timeout_s: 30 }] };
    expect(() => scheduler.set({ schedule: county })).toThrow('schedule county-news: device amp cannot take volume (it takes power)');
    expect(() => scheduler.set({ replace: [{ ...county, steps: [{ device: 'led', action: 'power', value: 'on', timeout_s: 30 }] }] })).toThrow(/device led cannot take power \(it takes brightness, blank\)/);
    expect(changed).toBe(0);
    scheduler.set({ schedule: { ...county, steps: [{ device: 'proj', action: 'input', value: '31', timeout_s: 30 }] } });
    expect(changed).toBe(1);
    expect(scheduler.installed()).toEqual({
      list: [
        { id: 'tuesday-class', name: null, source: 'config', cron: '0 20 * * 2', duration_min: TUESDAY_CLASS.duration_min, enabled: true, steps: TUESDAY_CLASS.steps.map(({ device, action, value, wait_for }) => ({ device, action, value, ...(wait_for ? { wait_for } : {}) })) },
        { id: 'county-news', name: null, source: 'county', cron: '5 20 * * *', duration_min: 30, enabled: true, steps: [{ device: 'proj', action: 'input', value: '31' }] },
      ],
      more: 0,
    });
    scheduler.set({ delete: 'county-news' });
    expect(changed).toBe(2);
  });

  test('a config schedule cannot be overridden by the county; cron patterns are validated', () => {
    const { scheduler } = setup();
    expect(() => scheduler.set({ schedule: TUESDAY_CLASS })).toThrow(/station config/);
    expect(() => validateCron('0 20 * * 2', 'Asia/Shanghai')).not.toThrow();
    expect(() => validateCron('0 0 20 * * 2', 'Asia/Shanghai')).toThrow(/cron/);
    expect(() => validateCron('every tuesday', 'Asia/Shanghai')).toThrow(/cron/);
  });
});
