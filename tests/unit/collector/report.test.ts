import { describe, expect, it } from 'vitest';
import { assembleReport, monthBounds, monthlyCsv, tzOffsetMs, type MonthlyReport } from '../../../county/report.js';
import { collectorSubscriptions } from '../../../county/collector.js';

describe('monthBounds', () => {
  it('uses the station time zone: a Beijing month starts at 16:00 UTC the day before', () => {
    const b = monthBounds('2026-11', 'Asia/Shanghai');
    expect(new Date(b.startMs).toISOString()).toBe('2026-10-31T16:00:00.000Z');
    expect(new Date(b.endMs).toISOString()).toBe('2026-11-30T16:00:00.000Z');
  });

  it('rolls December into January of the next year', () => {
    const b = monthBounds('2026-12');
    expect(new Date(b.endMs).toISOString()).toBe('2026-12-31T16:00:00.000Z');
  });

  it('lands on local midnight across a DST change', () => {
    // Berlin switches to summer time on 29 March 2026: April starts at 22:00 UTC, March at 23:00 UTC.
    expect(new Date(monthBounds('2026-03', 'Europe/Berlin').startMs).toISOString()).toBe('2026-02-28T23:00:00.000Z');
    expect(new Date(monthBounds('2026-04', 'Europe/Berlin').startMs).toISOString()).toBe('2026-03-31T22:00:00.000Z');
    expect(tzOffsetMs(Date.parse('2026-07-01T00:00:00Z'), 'Europe/Berlin')).toBe(2 * 3600_000);
  });

  it('refuses anything but YYYY-MM', () => {
    for (const bad of ['2026-13', '2026-1', '202611', 'november']) expect(() => monthBounds(bad)).toThrow(/YYYY-MM/);
  });
});

describe('monthlyCsv', () => {
  it('writes station, town and total rows, hours from summed seconds, and quotes what needs quoting', () => {
    const t = (sessions: number, duration_s: number, signal_s: number, short_sessions = 0, short_duration_s = 0) => ({
      sessions,
      duration_s,
      signal_s,
      short_sessions,
      short_duration_s,
    });
    const report: MonthlyReport = assembleReport(
      '2026-11',
      [
        { station_id: 'a', name: 'Li, "east" village', town: '城关镇', timezone: null },
        { station_id: 'b', name: null, town: '城关镇', timezone: null },
      ],
      new Map([
        ['a', t(2, 5400, 3600, 1, 120)],
        ['b', t(0, 0, 0, 2, 200)],
      ]),
    );
    expect(monthlyCsv(report).split('\n')).toEqual([
      'month,row,town,station_id,station_name,sessions,hours,signal_hours,short_sessions,short_hours,stations,stations_no_activity',
      '2026-11,station,城关镇,a,"Li, ""east"" village",2,1.50,1.00,1,0.03,1,0',
      '2026-11,station,城关镇,b,,0,0.00,0.00,2,0.06,1,1',
      '2026-11,town,城关镇,,,2,1.50,1.00,3,0.09,2,1',
      '2026-11,total,,,,2,1.50,1.00,3,0.09,2,1',
      '',
    ]);
  });
});

describe('collector subscriptions', () => {
  it('shares durable and periodic topics but not retained state (brokers send no retained messages to shared subscriptions) nor responses (only the collector that asked believes an answer)', () => {
    const subs = Object.keys(collectorSubscriptions('stations', 'g'));
    expect(subs.filter((s) => s.startsWith('$share/g/stations/+/'))).toEqual([
      '$share/g/stations/+/usage',
      '$share/g/stations/+/events',
      '$share/g/stations/+/heartbeat',
    ]);
    expect(subs.filter((s) => !s.startsWith('$share/'))).toEqual(['stations/+/response/+', 'stations/+/status', 'stations/+/inventory', 'stations/+/devices/+/state']);
    expect(Object.keys(collectorSubscriptions('stations', null)).some((s) => s.startsWith('$share'))).toBe(false);
  });
});
