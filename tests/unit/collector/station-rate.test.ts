/** The collector's per-station admission (token bucket) on a fake clock. */
import { describe, expect, it } from 'vitest';
import { StationRate } from '../../../county/station-rate.js';

describe('StationRate', () => {
  it('lets a burst through, then the sustained rate, per station', () => {
    let now = 0;
    const r = new StationRate({ perSecond: 10, burst: 5, now: () => now });
    expect(Array.from({ length: 7 }, () => r.take('a'))).toEqual([true, true, true, true, true, false, false]);
    // Another station is not affected by a's flood.
    expect(r.take('b')).toBe(true);
    now = 100; // 0.1 s: one more token
    expect([r.take('a'), r.take('a')]).toEqual([true, false]);
    now = 10_000; // refilled, but never above the burst
    expect(Array.from({ length: 6 }, () => r.take('a')).filter(Boolean)).toHaveLength(5);
  });

  it('stays bounded in stations: idle ones are forgotten first, and a flood of made-up ids starts over', () => {
    let now = 0;
    const r = new StationRate({ perSecond: 1, burst: 2, maxStations: 3, now: () => now });
    r.take('a');
    r.take('b');
    r.take('c');
    now = 5_000; // all refilled: idle
    r.take('d');
    expect(r.size).toBe(1);
    r.take('e');
    r.take('f');
    r.take('g'); // three busy entries: cleared, then g
    expect(r.size).toBe(1);
  });
});
