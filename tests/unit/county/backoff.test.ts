import { describe, expect, it } from 'vitest';
import { reconnectDelay } from '../../../agent/county/session.js';

describe('reconnectDelay', () => {
  it('grows exponentially up to the cap', () => {
    const top = () => 1;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((a) => reconnectDelay(a, 1_000, 300_000, top))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
    ]);
    expect(reconnectDelay(1_000, 1_000, 300_000, top)).toBe(300_000);
  });

  it('never goes below 100 ms', () => {
    expect(reconnectDelay(0, 1_000, 300_000, () => 0)).toBe(100);
    expect(reconnectDelay(0, 50, 300_000, () => 0)).toBe(50);
  });

  it('spreads a fleet over the whole window (full jitter)', () => {
    // 250 stations losing the broker together, at their 6th attempt: count reconnects per second.
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const delays = Array.from({ length: 250 }, () => reconnectDelay(5, 1_000, 300_000, rnd));
    const perSecond = new Map<number, number>();
    for (const d of delays) perSecond.set(Math.floor(d / 1000), (perSecond.get(Math.floor(d / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThan(25);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(25_000);
  });
});
