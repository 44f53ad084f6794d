import { describe, expect, test, vi } from 'vitest';
import { ClockJumpDetector, systemClock, wallJumpMs, type Clock } from '../../../agent/clock.js';

describe('clock jump detection', () => {
  test('wall deltas that monotonic time explains are not jumps; steps of 2 s or more are', () => {
    const a = { wallMs: 1_000_000, monoMs: 50, synced: true };
    expect(wallJumpMs(a, { wallMs: 1_060_500, monoMs: 60_050, synced: true })).toBe(0);
    expect(wallJumpMs(a, { wallMs: 1_000_000 - 8 * 365 * 86_400_000 + 60_000, monoMs: 60_050, synced: false })).toBe(-8 * 365 * 86_400_000);
    expect(wallJumpMs(a, { wallMs: 1_005_000, monoMs: 2_050, synced: true })).toBe(3000);
  });

  test('the detector compares each observation with the previous one', () => {
    let wall = 1_700_000_000_000;
    let mono = 0;
    const clock: Clock = { now: () => new Date(wall), monotonicMs: () => mono, quality: () => 'synced' };
    const d = new ClockJumpDetector(clock);
    expect(d.check().jump_ms).toBe(0);
    wall += 10_000;
    mono += 10_000;
    expect(d.check().jump_ms).toBe(0);
    wall += 3_600_000;
    expect(d.check().jump_ms).toBe(3_600_000);
    expect(d.check().jump_ms).toBe(0);
  });
});

describe('systemClock', () => {
  test('answers from a cached probe, never probing per call', async () => {
    const probe = vi.fn(async () => true);
    const clock = systemClock({ syncFlagFile: '/nonexistent/station-agent-test-flag', probe, refreshMs: 60_000 });
    expect(clock.quality()).toBe('unsynced'); // not known yet
    await vi.waitFor(() => expect(clock.quality()).toBe('synced'));
    for (let i = 0; i < 100; i++) clock.quality();
    expect(probe).toHaveBeenCalledTimes(1);
    expect(Math.abs(clock.now().getTime() - Date.now())).toBeLessThan(1000);
    const m = clock.monotonicMs();
    expect(clock.monotonicMs()).toBeGreaterThanOrEqual(m);
  });

  test('a failing or unknown probe means unsynced', async () => {
    // refreshMs 0: every quality() call starts a probe unless one is running, so each answer shows.
    let answer = async (): Promise<boolean | undefined> => true;
    const probe = vi.fn(() => answer());
    const clock = systemClock({ syncFlagFile: '/nonexistent/station-agent-test-flag', probe, refreshMs: 0 });
    await vi.waitFor(() => expect(clock.quality()).toBe('synced'));
    answer = async () => {
      throw new Error('timedatectl: not found');
    };
    await vi.waitFor(() => expect(clock.quality()).toBe('unsynced'));
    answer = async () => true;
    await vi.waitFor(() => expect(clock.quality()).toBe('synced'));
    answer = async () => undefined; // timedatectl answered, but could not tell
    await vi.waitFor(() => expect(clock.quality()).toBe('unsynced'));
  });
});
