import { describe, expect, it } from 'vitest';
import { backoffDelay, type Backoff } from '../../agent/backoff.js';
import { DEFAULT_BACKOFF, deviceRetryDelay } from '../../agent/supervisor.js';

const county: Backoff = { baseMs: 1_000, maxMs: 300_000, jitter: 'full' };

describe('backoffDelay, full jitter (county reconnects)', () => {
  it('grows exponentially up to the cap', () => {
    const top = () => 1;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((a) => backoffDelay(a, county, top))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
    ]);
    expect(backoffDelay(1_000, county, top)).toBe(300_000);
  });

  it('never goes below 100 ms', () => {
    expect(backoffDelay(0, county, () => 0)).toBe(100);
    expect(backoffDelay(0, { ...county, baseMs: 50 }, () => 0)).toBe(50);
  });

  it('spreads a fleet over the whole window', () => {
    // 250 stations losing the broker together, at their 6th attempt: count reconnects per second.
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const delays = Array.from({ length: 250 }, () => backoffDelay(5, county, rnd));
    const perSecond = new Map<number, number>();
    for (const d of delays) perSecond.set(Math.floor(d / 1000), (perSecond.get(Math.floor(d / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThan(25);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(25_000);
  });
});

describe('backoffDelay, equal jitter (device retries)', () => {
  it('grows exponentially up to the cap, with jitter between half and the full delay', () => {
    const p = DEFAULT_BACKOFF;
    expect(deviceRetryDelay(0, p, () => 0)).toBe(500);
    expect(deviceRetryDelay(0, p, () => 1)).toBe(1000);
    expect(deviceRetryDelay(3, p, () => 1)).toBe(8000);
    expect(deviceRetryDelay(30, p, () => 1)).toBe(60_000);
    expect(deviceRetryDelay(30, p, () => 0)).toBe(30_000);
    const spread = new Set(Array.from({ length: 50 }, () => deviceRetryDelay(5, p)));
    expect(spread.size).toBeGreaterThan(10);
  });
});
