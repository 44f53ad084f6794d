import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { ScheduleStep } from '../../../protocol/schedule.js';
import { defaultEndSteps, runSteps, stepCommand } from '../../../agent/scheduler/steps.js';
import { FakeDevices } from './fake-devices.js';

const step = (device: string, action: ScheduleStep['action'], value: ScheduleStep['value'], extra: Partial<ScheduleStep> = {}): ScheduleStep => ({
  device,
  action,
  value,
  timeout_s: 120,
  ...extra,
});

const CLASS: ScheduleStep[] = [
  step('proj', 'power', 'on', { wait_for: 'on' }),
  step('proj', 'input', '31'),
  step('amp', 'power', 'on'),
  step('amp', 'volume', 40),
  step('led', 'power', 'on'),
];

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function devices() {
  return new FakeDevices([
    { id: 'proj', kind: 'projector' },
    { id: 'amp', kind: 'amplifier' },
    { id: 'led', kind: 'led_display' },
  ]);
}

describe('runSteps', () => {
  test('runs in order, waiting for the projector to be on before selecting the input', async () => {
    const dev = devices();
    let triggers = 0;
    const p = runSteps(CLASS, { control: dev, monotonicMs: () => Date.now(), beforePowerOn: () => triggers++ });
    await vi.advanceTimersByTimeAsync(60_000);
    const out = await p;
    expect(out.map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(out[0]!.ms).toBe(30_000);
    expect(dev.calls.map((c) => `${c.at / 1000}s ${c.device} ${c.command.action}`)).toEqual([
      '0s proj power',
      '30s proj input',
      '30s amp power',
      '30s amp volume',
      '30s led power',
    ]);
    expect(dev.calls.every((c) => c.source === 'schedule')).toBe(true);
    expect(triggers).toBe(3);
    expect(dev.state('proj')).toMatchObject({ power: 'on', input: '31' });
  });

  test('waits for warm-up before an input step even without wait_for', async () => {
    const dev = devices();
    const p = runSteps([step('proj', 'power', 'on'), step('proj', 'input', 'HDMI1')], { control: dev, monotonicMs: () => Date.now() });
    await vi.advanceTimersByTimeAsync(40_000);
    expect((await p).map((o) => o.status)).toEqual(['ok', 'ok']);
    expect(dev.state('proj')!.input).toBe('HDMI1');
  });

  test('a projector that never comes on times out; its later steps are skipped, other devices still come on', async () => {
    const dev = devices();
    dev.warmMs = 10 * 60_000;
    const steps = [step('proj', 'power', 'on', { wait_for: 'on', timeout_s: 90 }), ...CLASS.slice(1)];
    const p = runSteps(steps, { control: dev, monotonicMs: () => Date.now() });
    await vi.advanceTimersByTimeAsync(120_000);
    const out = await p;
    expect(out.map((o) => o.status)).toEqual(['timeout', 'skipped', 'ok', 'ok', 'ok']);
    expect(out[0]!.ms).toBe(90_000);
    expect(out[0]!.error!.code).toBe('timeout');
  });

  test('a device that does not answer fails its step with the error code', async () => {
    const dev = devices();
    dev.broken.add('amp');
    const p = runSteps(CLASS, { control: dev, monotonicMs: () => Date.now() });
    await vi.advanceTimersByTimeAsync(60_000);
    const out = await p;
    expect(out.map((o) => o.status)).toEqual(['ok', 'ok', 'failed', 'skipped', 'ok']);
    expect(out[2]!.error).toEqual({ code: 'disconnected', message: 'amp does not answer' });
  });

  test('an abort skips the remaining steps', async () => {
    const dev = devices();
    const ac = new AbortController();
    const p = runSteps(CLASS, { control: dev, monotonicMs: () => Date.now(), signal: ac.signal });
    await vi.advanceTimersByTimeAsync(5_000);
    ac.abort();
    const out = await p;
    expect(out.map((o) => o.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
  });
});

describe('step helpers', () => {
  test('default end steps power off what was powered on, in reverse order', () => {
    expect(defaultEndSteps(CLASS).map((s) => `${s.device} ${s.action} ${String(s.value)}`)).toEqual(['led power off', 'amp power off', 'proj power off']);
  });

  test('step values are checked against the action', () => {
    expect(stepCommand(step('amp', 'power', true))).toEqual({ action: 'power', value: 'on' });
    expect(stepCommand(step('amp', 'mute', 'off'))).toEqual({ action: 'mute', value: false });
    expect(stepCommand(step('amp', 'volume', '35'))).toEqual({ action: 'volume', value: 35 });
    expect(() => stepCommand(step('amp', 'volume', 140))).toThrow(/0-100/);
    expect(() => stepCommand(step('amp', 'power', 'maybe'))).toThrow(/on, off or toggle/);
    expect(() => stepCommand(step('proj', 'input', true))).toThrow(/input code/);
  });
});
