import { describe, expect, test } from 'vitest';
import type { DeviceKind, DeviceState, PowerState } from '../../../drivers/types.js';
import type { ClockObservation } from '../../../agent/clock.js';
import { SessionEngine, type SessionDraft, type SessionEffect, type TrackedDevice } from '../../../agent/sessions/engine.js';

const RULES = { min_s: 300, merge_gap_s: 120, idle_cutoff_s: 1800 };
const T0 = Date.parse('2024-03-05T12:00:00.000Z');
const S = 1000;
const MIN = 60 * S;

const DEVICES: TrackedDevice[] = [
  { id: 'proj', kind: 'projector', usage: true },
  { id: 'amp', kind: 'amplifier', usage: true },
  { id: 'led', kind: 'led_display', usage: true },
  { id: 'stb', kind: 'settopbox', usage: false },
];

/** Fake time: mono counts from 0, wall = T0 + mono + offset (the offset simulates clock jumps). */
class Harness {
  mono = 0;
  wallOffset = 0;
  synced = true;
  effects: SessionEffect[] = [];
  private n = 0;
  readonly engine: SessionEngine;
  constructor(devices = DEVICES, rules = RULES) {
    this.engine = new SessionEngine(rules, devices, { newId: () => `s${++this.n}`, boot: () => 4 });
  }
  obs(): ClockObservation {
    return { wallMs: T0 + this.mono + this.wallOffset, monoMs: this.mono, synced: this.synced };
  }
  set(id: string, power: PowerState, extra: Partial<DeviceState> = {}): void {
    const kind = DEVICES.find((d) => d.id === id)!.kind as DeviceKind;
    const state: DeviceState = { id, kind, driver: 'x', online: true, power, last_seen: null, errors: [], ...extra };
    this.effects.push(...this.engine.update(state, this.obs()));
  }
  /** Advances time, ticking at every deadline like the tracker's timer does. */
  advance(ms: number, stepMs = 10 * S): void {
    const end = this.mono + ms;
    while (this.mono < end) {
      const d = this.engine.nextDeadline();
      const next = Math.min(end, this.mono + stepMs, d !== null && d > this.mono ? d : Infinity);
      this.mono = next;
      this.effects.push(...this.engine.tick(this.obs()));
    }
  }
  closed(): SessionDraft[] {
    return this.effects.filter((e) => e.type === 'close').map((e) => e.draft);
  }
  opened(): number {
    return this.effects.filter((e) => e.type === 'open').length;
  }
}

describe('SessionEngine', () => {
  test('a 90-minute class with a 60-second projector restart in the middle is one session', () => {
    const h = new Harness([{ id: 'proj', kind: 'projector', usage: true }]);
    h.set('proj', 'warming', { signal: false, input: '31' });
    h.advance(1 * MIN);
    h.set('proj', 'on', { signal: true, input: '31' });
    h.advance(44 * MIN);
    h.set('proj', 'cooling', { signal: false, input: '31' });
    h.advance(20 * S);
    h.set('proj', 'off', { signal: null, input: '31' });
    h.advance(40 * S);
    h.set('proj', 'warming', { signal: false, input: '31' });
    h.advance(30 * S);
    h.set('proj', 'on', { signal: true, input: '31' });
    h.advance(44 * MIN);
    h.set('proj', 'off', { signal: null });
    h.advance(5 * MIN);
    expect(h.opened()).toBe(1);
    const [r] = h.closed();
    expect(h.closed()).toHaveLength(1);
    expect(r!.end_reason).toBe('devices_off');
    expect(r!.duration_s).toBe(90 * 60 + 30);
    expect(r!.start).toBe('2024-03-05T12:00:00.000Z');
    expect(r!.end).toBe(new Date(T0 + (90 * 60 + 30) * S).toISOString());
    expect(r!.devices).toEqual([{ id: 'proj', kind: 'projector', on_s: 90 * 60 + 30 - 60 }]);
    expect(r!.signal_s).toBe(88 * 60);
    expect(r!.short).toBe(false);
    expect(r!.trigger).toBe('unknown');
    expect(r!.boot).toBe(4);
    expect(r!.clock).toBe('synced');
  });

  test('an off-period longer than the merge gap splits into two sessions; the first ends when the devices went off', () => {
    const h = new Harness();
    h.set('proj', 'on', { signal: true });
    h.advance(10 * MIN);
    h.set('proj', 'off');
    h.advance(3 * MIN);
    h.set('proj', 'on', { signal: true });
    h.advance(10 * MIN);
    expect(h.closed()).toHaveLength(1);
    expect(h.closed()[0]!.duration_s).toBe(600);
    expect(h.opened()).toBe(2);
    expect(h.engine.openSessionId()).toBe('s2');
  });

  test('several devices: the session lasts while any usage device is on; a non-usage device alone opens nothing', () => {
    const h = new Harness();
    h.set('stb', 'on', { playing: true });
    h.advance(5 * MIN);
    expect(h.opened()).toBe(0);
    h.set('amp', 'on');
    h.advance(1 * MIN);
    h.set('proj', 'on', { input: 'HDMI1', signal: true });
    h.advance(20 * MIN);
    h.set('proj', 'on', { input: 'VGA', signal: true });
    h.advance(10 * MIN);
    h.set('proj', 'off');
    h.advance(5 * MIN);
    h.set('amp', 'off');
    h.advance(5 * MIN);
    const [r] = h.closed();
    expect(r!.duration_s).toBe(36 * 60);
    expect(r!.devices).toEqual([
      { id: 'proj', kind: 'projector', on_s: 30 * 60 },
      { id: 'amp', kind: 'amplifier', on_s: 36 * 60 },
    ]);
    expect(r!.inputs).toEqual([
      { device: 'proj', input: 'HDMI1', s: 20 * 60 },
      { device: 'proj', input: 'VGA', s: 10 * 60 },
    ]);
    // The set-top box was playing throughout: the whole session had a stream.
    expect(r!.signal_s).toBe(36 * 60);
  });

  test('a projector left on overnight without signal ends as idle at the cut-off, and does not reopen', () => {
    const h = new Harness();
    h.set('proj', 'on', { signal: true });
    h.advance(40 * MIN);
    h.set('proj', 'on', { signal: false });
    h.advance(10 * 60 * MIN, 60 * S);
    const closed = h.closed();
    expect(closed).toHaveLength(1);
    expect(closed[0]!.end_reason).toBe('idle');
    expect(closed[0]!.duration_s).toBe(40 * 60 + 1800);
    expect(closed[0]!.signal_s).toBe(40 * 60);
    expect(h.engine.openSessionId()).toBeNull();
    // A picture the next morning is a new session.
    h.set('proj', 'on', { signal: true });
    expect(h.opened()).toBe(2);
  });

  test('idle-ended devices that go off and on again open a new session', () => {
    const h = new Harness();
    h.set('proj', 'on', { signal: false });
    h.advance(40 * MIN);
    expect(h.closed()[0]!.end_reason).toBe('idle');
    h.set('proj', 'off');
    h.set('proj', 'warming', { signal: false });
    expect(h.opened()).toBe(2);
  });

  test('unknown signal (no device can tell) never counts as idle', () => {
    const h = new Harness();
    h.set('amp', 'on');
    h.advance(3 * 60 * MIN, 60 * S);
    expect(h.closed()).toHaveLength(0);
    h.set('amp', 'off');
    h.advance(3 * MIN);
    expect(h.closed()[0]!.signal_s).toBe(0);
    expect(h.closed()[0]!.end_reason).toBe('devices_off');
  });

  test('a 2-minute test power-on is short', () => {
    const h = new Harness();
    h.set('proj', 'warming');
    h.advance(2 * MIN);
    h.set('proj', 'off');
    h.advance(3 * MIN);
    expect(h.closed()[0]).toMatchObject({ short: true, duration_s: 120, end_reason: 'devices_off' });
  });

  test('a usage device going offline ends the session as device_offline unless it comes back within the gap', () => {
    const h = new Harness();
    h.set('proj', 'on', { signal: true });
    h.advance(10 * MIN);
    h.set('proj', 'on', { online: false });
    h.advance(1 * MIN);
    h.set('proj', 'on', { signal: true });
    h.advance(10 * MIN);
    expect(h.closed()).toHaveLength(0);
    h.set('proj', 'on', { online: false });
    h.advance(5 * MIN);
    expect(h.closed()[0]).toMatchObject({ end_reason: 'device_offline', duration_s: 21 * 60 });
  });

  test('trigger: a noted command is credited to the session it opens, then forgotten', () => {
    const h = new Harness();
    h.engine.noteTrigger('schedule:tue', h.obs());
    h.advance(30 * S);
    h.set('proj', 'warming');
    h.advance(10 * MIN);
    h.set('proj', 'off');
    h.advance(3 * MIN);
    h.set('proj', 'on');
    h.advance(10 * MIN);
    h.set('proj', 'off');
    h.advance(3 * MIN);
    expect(h.closed().map((r) => r.trigger)).toEqual(['schedule:tue', 'unknown']);
  });

  test('a stale trigger note (older than the window) is not credited', () => {
    const h = new Harness();
    h.engine.noteTrigger('county', h.obs());
    h.advance(10 * MIN);
    h.set('proj', 'on');
    h.advance(10 * MIN);
    expect(h.engine.stop(h.obs())[0]!).toMatchObject({ type: 'close', draft: { trigger: 'unknown', end_reason: 'agent_stop' } });
  });

  test('stop during a merge gap ends the session when the devices went off', () => {
    const h = new Harness();
    h.set('proj', 'on');
    h.advance(10 * MIN);
    h.set('proj', 'off');
    h.advance(30 * S);
    const eff = h.engine.stop(h.obs());
    expect(eff).toHaveLength(1);
    expect(eff[0]).toMatchObject({ type: 'close', draft: { end_reason: 'devices_off', duration_s: 600 } });
  });

  test('entering a gap asks for a checkpoint carrying the known end', () => {
    const h = new Harness();
    h.set('proj', 'on');
    h.advance(10 * MIN);
    h.set('proj', 'off');
    const cp = h.effects.find((e) => e.type === 'checkpoint');
    expect(cp).toMatchObject({ draft: { end_reason: 'devices_off', duration_s: 600 } });
    h.advance(30 * S);
    expect(h.engine.snapshot(h.obs())).toMatchObject({ end_reason: 'devices_off', duration_s: 600 });
  });

  test('snapshot of a running session is the power-loss record up to now', () => {
    const h = new Harness();
    h.set('proj', 'on', { signal: true });
    h.advance(7 * MIN);
    expect(h.engine.snapshot(h.obs())).toMatchObject({ end_reason: 'power_loss', duration_s: 420, signal_s: 420, short: false });
  });

  test('a clock jump of -8 years mid-session: durations from monotonic time, flagged corrected, end never before start', () => {
    const h = new Harness();
    h.set('proj', 'on', { signal: true });
    h.advance(30 * MIN);
    h.wallOffset = -8 * 365 * 24 * 60 * MIN;
    h.synced = false;
    h.advance(30 * MIN);
    h.set('proj', 'off');
    h.advance(3 * MIN);
    const jumps = h.effects.filter((e) => e.type === 'clock_jump');
    expect(jumps).toHaveLength(1);
    expect(jumps[0]).toMatchObject({ session_id: 's1' });
    const [r] = h.closed();
    expect(r!.clock).toBe('corrected');
    expect(r!.duration_s).toBe(3600);
    // The start was observed on a synchronised clock: it stays the anchor.
    expect(r!.start).toBe('2024-03-05T12:00:00.000Z');
    expect(Date.parse(r!.end) - Date.parse(r!.start)).toBe(3600 * S);
  });

  test('a clock that boots 8 years behind and is then synchronised: the record moves to the synchronised time', () => {
    const h = new Harness();
    h.wallOffset = -8 * 365 * 24 * 60 * MIN;
    h.synced = false;
    h.set('proj', 'on', { signal: true });
    h.advance(20 * MIN);
    h.wallOffset = 0;
    h.synced = true;
    h.advance(20 * MIN);
    h.set('proj', 'off');
    h.advance(3 * MIN);
    const [r] = h.closed();
    expect(r!.clock).toBe('corrected');
    expect(r!.start).toBe('2024-03-05T12:00:00.000Z');
    expect(r!.duration_s).toBe(2400);
  });

  test('a clock without sync and without jumps is reported unsynced', () => {
    const h = new Harness();
    h.synced = false;
    h.set('proj', 'on');
    h.advance(10 * MIN);
    h.set('proj', 'off');
    h.advance(3 * MIN);
    expect(h.closed()[0]!.clock).toBe('unsynced');
  });

  test('the record stored when a session opens already names the devices that are on (a power cut before the first checkpoint)', () => {
    const h = new Harness();
    h.set('proj', 'warming', { signal: false });
    const open = h.effects.find((e) => e.type === 'open');
    expect(open).toMatchObject({ draft: { end_reason: 'power_loss', duration_s: 0, devices: [{ id: 'proj', kind: 'projector', on_s: 0 }] } });
  });

  test('a usage device switched on during a session is named by a checkpoint at once; a non-usage one is not', () => {
    const h = new Harness();
    h.set('proj', 'on', { signal: true });
    h.advance(20 * S);
    h.effects.length = 0;
    h.set('stb', 'on', { playing: true });
    expect(h.effects.filter((e) => e.type === 'checkpoint')).toEqual([]);
    h.set('amp', 'on');
    const cps = h.effects.filter((e) => e.type === 'checkpoint');
    expect(cps).toHaveLength(1);
    expect(cps[0]).toMatchObject({ draft: { end_reason: 'power_loss', duration_s: 20 } });
    expect((cps[0] as { draft: SessionDraft }).draft.devices.map((d) => d.id)).toEqual(['proj', 'amp']);
    // Already named: switching it off and on again asks for nothing more.
    h.set('amp', 'off');
    h.set('amp', 'on');
    expect(h.effects.filter((e) => e.type === 'checkpoint')).toHaveLength(1);
  });

  test('a warm-up longer than the idle cut-off never ends the session, whatever stale signal the devices report', () => {
    // The shortest idle cut-off the config allows (60 s) against an Epson's third ignition attempt (100 s).
    const h = new Harness(DEVICES, { ...RULES, idle_cutoff_s: 60 });
    // The projector's `signal` is left over from standby; the set-top box's stream is not up yet.
    h.set('stb', 'on', { playing: false });
    h.set('proj', 'warming', { signal: false, input: '31' });
    h.advance(100 * S);
    expect(h.closed()).toEqual([]);
    expect(h.engine.openSessionId()).toBe('s1');
    h.set('proj', 'on', { signal: true, input: '31' });
    h.advance(10 * MIN);
    h.set('proj', 'off');
    h.advance(3 * MIN);
    expect(h.opened()).toBe(1);
    expect(h.closed()).toHaveLength(1);
    expect(h.closed()[0]).toMatchObject({ end_reason: 'devices_off', duration_s: 100 + 600, devices: [{ id: 'proj', kind: 'projector', on_s: 700 }] });
  });

  test('once on, the idle clock runs from the end of the warm-up, not from its start', () => {
    const h = new Harness(DEVICES, { ...RULES, idle_cutoff_s: 60 });
    h.set('proj', 'warming', { signal: false });
    h.advance(50 * S);
    h.set('proj', 'on', { signal: false });
    h.advance(50 * S);
    expect(h.closed()).toEqual([]);
    h.advance(20 * S);
    expect(h.closed()).toEqual([expect.objectContaining({ end_reason: 'idle', duration_s: 110 })]);
  });

  test('on_s, inputs and signal_s never exceed the duration', () => {
    const h = new Harness();
    h.set('proj', 'on', { signal: true, input: 'A' });
    h.set('amp', 'on');
    h.advance(2 * MIN + 700);
    const eff = h.engine.stop(h.obs());
    const r = (eff.find((e) => e.type === 'close') as { draft: SessionDraft }).draft;
    expect(r.duration_s).toBe(120);
    for (const d of r.devices) expect(d.on_s).toBeLessThanOrEqual(r.duration_s);
    for (const i of r.inputs) expect(i.s).toBeLessThanOrEqual(r.duration_s);
    expect(r.signal_s).toBeLessThanOrEqual(r.duration_s);
  });
});
