/**
 * How a usage window is read from the per-station UTC-month totals (store-rows.ts monthSplit): which
 * months are summed, and which edge rows are added or taken away. The stores' results for these windows
 * are checked against the records themselves by the collector-store contract suite.
 */
import { describe, expect, it } from 'vitest';
import { monthSplit, utcMonthStart } from '../../../county/store-rows.js';
import { monthBounds } from '../../../county/report.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const split = (a: string, b: string) => {
  const s = monthSplit(Date.parse(a), Date.parse(b));
  return { from: iso(s.fromMonthMs), to: iso(s.toMonthMs), edges: s.edges.map((e) => [iso(e.lo), iso(e.hi), e.sign]) };
};

describe('utcMonthStart', () => {
  it('is the first instant of the UTC month, also before 1970 and in years below 100', () => {
    expect(iso(utcMonthStart(Date.parse('2026-11-30T23:59:59.999Z')))).toBe('2026-11-01T00:00:00.000Z');
    expect(iso(utcMonthStart(Date.parse('2026-12-31T12:00:00.000Z'), 1))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(utcMonthStart(-1))).toBe('1969-12-01T00:00:00.000Z');
    expect(iso(utcMonthStart(Date.parse('0050-06-15T00:00:00.000Z')))).toBe('0050-06-01T00:00:00.000Z');
  });
});

describe('monthSplit', () => {
  it('reads a Beijing month as its UTC month plus the 8 hours before it, minus the last 8 hours of it', () => {
    const { startMs, endMs } = monthBounds('2026-11', 'Asia/Shanghai');
    expect(split(iso(startMs), iso(endMs))).toEqual({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      edges: [
        ['2026-10-31T16:00:00.000Z', '2026-11-01T00:00:00.000Z', 1],
        ['2026-11-30T16:00:00.000Z', '2026-12-01T00:00:00.000Z', -1],
      ],
    });
  });

  it('sums every month the window covers more than half of', () => {
    expect(split('2026-09-10T00:00:00.000Z', '2026-12-10T00:00:00.000Z')).toEqual({
      from: '2026-09-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      edges: [
        ['2026-09-01T00:00:00.000Z', '2026-09-10T00:00:00.000Z', -1],
        ['2026-12-01T00:00:00.000Z', '2026-12-10T00:00:00.000Z', 1],
      ],
    });
  });

  it('reads a window shorter than half a month from the rows alone, and an empty window as nothing', () => {
    expect(split('2026-10-10T00:00:00.000Z', '2026-10-20T00:00:00.000Z').edges).toEqual([
      ['2026-10-10T00:00:00.000Z', '2026-10-20T00:00:00.000Z', 1],
      ['2026-10-20T00:00:00.000Z', '2026-10-20T00:00:00.000Z', 1],
    ]);
    const empty = monthSplit(5, 5);
    expect(empty.fromMonthMs).toBe(empty.toMonthMs);
    expect(empty.edges.every((e) => e.lo >= e.hi)).toBe(true);
  });
});
