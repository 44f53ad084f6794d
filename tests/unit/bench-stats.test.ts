import { describe, expect, test } from 'vitest';
import { percentile, round } from '../../scripts/bench/stats.js';

describe('bench percentile (nearest rank)', () => {
  test('p50 and p99 of 1..100', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
  });
  test('small and empty samples', () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });
  test('round', () => {
    expect(round(1.23456, 2)).toBe(1.23);
    expect(round(1234.5, 0)).toBe(1235);
  });
});
