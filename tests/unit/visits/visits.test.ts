/**
 * The visit rule (county/visits.ts) over its edges: the threshold to the millisecond, a clean stop, opening
 * hours that cross midnight and the end of the week, the station's own time zone, no declared hours; and
 * the lifecycle's plan (county/visit-lifecycle.ts): open, keep, clear, hold after a hand clear, rearm.
 */
import { describe, expect, it } from 'vitest';
import { OpeningHoursSchema, isOpenAt, openSince, type OpeningHours } from '../../../protocol/opening-hours.js';
import { causeDetail, causeOfRow, planVisits } from '../../../county/visit-lifecycle.js';
import type { VisitRow } from '../../../county/visit-store.js';
import { DEFAULT_VISIT_RULES, judgeStation, needsVisit, type VisitStation } from '../../../county/visits.js';

/** 2026-11-30 is a Monday. Shanghai is UTC+8 all year; Urumqi UTC+6; Berlin changes in March. */
const sh = (local: string): number => Date.parse(`${local}+08:00`);
const iso = (ms: number): string => new Date(ms).toISOString();
const RULES = { ...DEFAULT_VISIT_RULES, offlineAfterS: 900 };

function station(over: Partial<VisitStation> = {}): VisitStation {
  return {
    station_id: 's',
    timezone: 'Asia/Shanghai',
    online: true,
    status_reason: null,
    status_at: null,
    heartbeat_at: null,
    outbox_depth: 0,
    opening_hours: null,
    faults: [],
    lamp_warnings: [],
    failed_classes: [],
    active_devices: [],
    ...over,
  };
}
/** A station whose connection was lost at `lostMs` (the broker published its Last Will then). */
const willAt = (lostMs: number, over: Partial<VisitStation> = {}) => station({ online: false, status_at: iso(lostMs), heartbeat_at: iso(lostMs - 30_000), ...over });
const hours = (h: unknown): OpeningHours => OpeningHoursSchema.parse(h);
const kinds = (s: VisitStation, now: number, rules = RULES) => judgeStation(s, now, rules).causes.map((c) => `${c.kind}${c.pending ? ' (pending)' : ''}`);

describe('opening hours', () => {
  it('are refused where they make no sense, with the reason', () => {
    const problems = (h: unknown) => OpeningHoursSchema.safeParse(h).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems([{ days: ['mon'], from: '08:00', to: '08:00' }])).toEqual(['0.to: from and to are the same time: for a whole day write from "00:00" to "24:00"']);
    expect(problems([{ days: ['mon', 'mon'], from: '08:00', to: '09:00' }])).toEqual(['0.days: a day is named twice']);
    expect(problems([{ days: ['mon'], from: '8:00', to: '25:00' }])).toHaveLength(2);
    expect(problems([{ days: ['monday'], from: '08:00', to: '09:00' }])).toHaveLength(1);
    expect(problems([])).toEqual([': list at least one range, or leave opening_hours out (open at all times)']);
    expect(problems([{ days: ['mon'], from: '00:00', to: '24:00' }])).toBeUndefined();
  });

  it('a range that ends before it starts runs past midnight into the next day', () => {
    const h = hours([{ days: ['sat'], from: '19:00', to: '02:00' }]);
    expect(isOpenAt(h, sh('2026-12-05T18:59:59'), 'Asia/Shanghai')).toBe(false);
    expect(isOpenAt(h, sh('2026-12-05T19:00:00'), 'Asia/Shanghai')).toBe(true);
    expect(isOpenAt(h, sh('2026-12-06T01:59:59'), 'Asia/Shanghai')).toBe(true);
    expect(isOpenAt(h, sh('2026-12-06T02:00:00'), 'Asia/Shanghai')).toBe(false);
    expect(isOpenAt(h, sh('2026-12-07T01:00:00'), 'Asia/Shanghai')).toBe(false);
    expect(openSince(h, sh('2026-12-06T01:00:00'), 'Asia/Shanghai')).toBe(sh('2026-12-05T19:00:00'));
  });

  it('a Sunday night range runs into Monday, across the end of the week; touching ranges are one stretch', () => {
    const sunday = hours([{ days: ['sun'], from: '22:00', to: '02:00' }]);
    expect(openSince(sunday, sh('2026-11-30T01:00:00'), 'Asia/Shanghai')).toBe(sh('2026-11-29T22:00:00'));
    const joined = hours([
      { days: ['fri'], from: '08:00', to: '24:00' },
      { days: ['sat'], from: '00:00', to: '02:00' },
    ]);
    expect(openSince(joined, sh('2026-12-05T01:30:00'), 'Asia/Shanghai')).toBe(sh('2026-12-04T08:00:00'));
    const wrapped = hours([
      { days: ['sun'], from: '20:00', to: '24:00' },
      { days: ['mon'], from: '00:00', to: '03:00' },
    ]);
    expect(openSince(wrapped, sh('2026-11-30T02:00:00'), 'Asia/Shanghai')).toBe(sh('2026-11-29T20:00:00'));
  });

  it('are read in the station’s time zone, through a daylight-saving change', () => {
    const h = hours([{ days: ['mon'], from: '08:00', to: '12:00' }]);
    const at = Date.parse('2026-11-30T01:30:00Z'); // 09:30 in Shanghai, 07:30 in Urumqi
    expect(isOpenAt(h, at, 'Asia/Shanghai')).toBe(true);
    expect(isOpenAt(h, at, 'Asia/Urumqi')).toBe(false);
    // Berlin springs forward on Sunday 2026-03-29 at 02:00: a night range over it is an hour shorter in real time.
    const night = hours([{ days: ['sun'], from: '00:00', to: '06:00' }]);
    expect(openSince(night, Date.parse('2026-03-29T03:30:00Z'), 'Europe/Berlin')).toBe(Date.parse('2026-03-28T23:00:00Z'));
  });

  it('none declared, or every hour of the week: open at all times', () => {
    expect(openSince(null, 0, 'Asia/Shanghai')).toBe(-Infinity);
    const all = hours([{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '00:00', to: '24:00' }]);
    expect(openSince(all, sh('2026-12-02T03:00:00'), 'Asia/Shanghai')).toBe(-Infinity);
  });
});

describe('the visit rule', () => {
  const lost = sh('2026-11-30T14:00:00');

  it('makes a lost connection a visit at the threshold, not a millisecond before', () => {
    expect(kinds(willAt(lost), lost + 900_000 - 1)).toEqual(['offline (pending)']);
    expect(kinds(willAt(lost), lost + 900_000)).toEqual(['offline']);
    expect(needsVisit(judgeStation(willAt(lost), lost + 900_000, RULES))).toBe(true);
    expect(judgeStation(willAt(lost), lost + 900_000, RULES)).toMatchObject({ state: 'offline', open: true, causes: [{ key: 'link', lost_s: 900 }] });
    // A short threshold (the tests' 10 s) works the same way.
    expect(kinds(willAt(lost), lost + 10_000, { ...RULES, offlineAfterS: 10 })).toEqual(['offline']);
  });

  it('a clean stop is a shut-down station, never a visit, however long ago', () => {
    const j = judgeStation(willAt(lost, { status_reason: 'agent_stop' }), lost + 30 * 86_400_000, RULES);
    expect(j).toMatchObject({ state: 'shutdown', causes: [] });
  });

  it('outside opening hours a lost connection is no visit; inside, the threshold counts from the opening', () => {
    const h = hours([{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '17:00' }]);
    const evening = sh('2026-11-30T18:00:00');
    expect(judgeStation(willAt(evening, { opening_hours: h }), sh('2026-11-30T23:00:00'), RULES)).toMatchObject({ state: 'offline', open: false, causes: [{ kind: 'offline', pending: true }] });
    // Lost overnight: at 08:14:59 not yet a visit (the station may be switched on at opening), at 08:15 one.
    expect(kinds(willAt(evening, { opening_hours: h }), sh('2026-12-01T08:14:59'))).toEqual(['offline (pending)']);
    expect(kinds(willAt(evening, { opening_hours: h }), sh('2026-12-01T08:15:00'))).toEqual(['offline']);
    // Lost in opening hours: counted from the loss.
    expect(kinds(willAt(sh('2026-12-01T10:00:00'), { opening_hours: h }), sh('2026-12-01T10:15:00'))).toEqual(['offline']);
  });

  it('opening hours across midnight count the night as open', () => {
    const h = hours([{ days: ['sat'], from: '19:00', to: '02:00' }]);
    const s = willAt(sh('2026-12-05T23:50:00'), { opening_hours: h });
    expect(kinds(s, sh('2026-12-06T00:04:59'))).toEqual(['offline (pending)']);
    expect(kinds(s, sh('2026-12-06T00:05:00'))).toEqual(['offline']);
    expect(kinds(s, sh('2026-12-06T02:05:00'))).toEqual(['offline (pending)']);
  });

  it('reads the hours in the station’s zone, and in the county’s when the station’s is unknown', () => {
    const h = hours([{ days: ['mon'], from: '08:00', to: '12:00' }]);
    const at = Date.parse('2026-11-30T01:30:00Z');
    const s = willAt(at - 3_600_000, { opening_hours: h });
    expect(judgeStation(s, at, RULES).open).toBe(true);
    expect(judgeStation({ ...s, timezone: 'Asia/Urumqi' }, at, RULES)).toMatchObject({ open: false, causes: [{ pending: true }] });
    expect(judgeStation({ ...s, timezone: 'Mars/Olympus' }, at, RULES, 'Asia/Urumqi').open).toBe(false);
    expect(judgeStation({ ...s, timezone: null }, at, RULES, 'Asia/Shanghai').open).toBe(true);
  });

  it('an online station without heartbeats is silent, a visit once silent past the threshold', () => {
    const now = sh('2026-11-30T15:00:00');
    const s = station({ heartbeat_at: iso(now - 20 * 60_000) });
    expect(judgeStation(s, now, RULES)).toMatchObject({ state: 'silent', causes: [{ kind: 'silent', pending: false, lost_s: 1200 }] });
    expect(kinds(s, now, { ...RULES, offlineAfterS: 1800 })).toEqual(['silent (pending)']);
    expect(judgeStation(station({ heartbeat_at: iso(now - 60_000) }), now, RULES)).toMatchObject({ state: 'online', causes: [] });
    expect(judgeStation(station({ online: null }), now, RULES)).toMatchObject({ state: 'unknown', causes: [{ kind: 'never', pending: false }] });
  });

  it('a station with a projector, LED display or amplifier on is in class', () => {
    const now = sh('2026-11-30T20:10:00');
    const s = station({ heartbeat_at: iso(now - 30_000) });
    expect(judgeStation({ ...s, active_devices: [{ device_id: 'proj', kind: 'projector' }] }, now, RULES).state).toBe('in_class');
    expect(judgeStation({ ...s, active_devices: [{ device_id: 'stb', kind: 'settopbox' }] }, now, RULES).state).toBe('online');
    expect(judgeStation({ ...s, online: false, status_reason: 'agent_stop', active_devices: [{ device_id: 'proj', kind: 'projector' }] }, now, RULES).state).toBe('shutdown');
  });

  it('a failed scheduled class, a fault, a lamp and a backlog are visits at once, whatever the hours; an old failed class is not', () => {
    const now = sh('2026-11-30T23:00:00');
    const run = { schedule_id: 'evening', run_id: 'r1', ts: iso(now - 3 * 3_600_000), start_ok: false, start_done: 0, start_total: 2, end_ok: true, end_done: 2, end_total: 2 };
    const s = station({
      heartbeat_at: iso(now - 30_000),
      outbox_depth: 150,
      opening_hours: hours([{ days: ['mon'], from: '08:00', to: '09:00' }]),
      failed_classes: [run, { ...run, schedule_id: 'morning', start_ok: true, end_ok: false, end_done: 1, ts: iso(now - 8 * 86_400_000) }],
      faults: [{ device_id: 'proj', errors: [{ code: 'lamp', severity: 'error', text: 'lamp error' }] }],
      lamp_warnings: [{ device: 'proj', lamp_hours: 3010 }],
    });
    const j = judgeStation(s, now, RULES);
    expect(j.causes.map((c) => `${c.key}${c.pending ? ' (pending)' : ''}`)).toEqual(['class:evening', 'class:morning (pending)', 'fault:proj', 'lamp:proj', 'outbox']);
    expect(j.causes[0]).toMatchObject({ kind: 'class_failed', phase: 'start', done: 0, total: 2 });
    expect(j.causes[1]).toMatchObject({ phase: 'end', done: 1, total: 2 });
  });
});

describe('the lifecycle of visit items', () => {
  const now = sh('2026-11-30T15:00:00');
  const row = (over: Partial<VisitRow>): VisitRow => ({
    id: 1, station_id: 's', cause: 'link', kind: 'offline', detail: '{}', opened_at: iso(now - 3_600_000),
    acked_at: null, acked_by: null, note: null, cleared_at: null, cleared_by: null, rearmed: false, ...over,
  });
  const judged = (s: VisitStation, at = now) => [judgeStation(s, at, RULES)];
  const offline = willAt(now - 3_600_000);

  it('opens an item for a cause that needs a visit, none for a pending one, none twice', () => {
    expect(planVisits(judged(offline), [])).toEqual({ open: [{ station_id: 's', cause: 'link', kind: 'offline', detail: expect.any(String) }], clear: [], rearm: [] });
    expect(planVisits(judged(willAt(now - 60_000)), [])).toEqual({ open: [], clear: [], rearm: [] });
    expect(planVisits(judged(offline), [row({})])).toEqual({ open: [], clear: [], rearm: [] });
  });

  it('clears an open item when the station recovers, and keeps it while its cause is only pending', () => {
    expect(planVisits(judged(station({ heartbeat_at: iso(now) })), [row({ id: 7, acked_at: iso(now), acked_by: 'wangli' })])).toEqual({ open: [], clear: [7], rearm: [] });
    const closedNow = willAt(now - 3_600_000, { opening_hours: hours([{ days: ['tue'], from: '08:00', to: '09:00' }]) });
    expect(planVisits(judged(closedNow), [row({ id: 7 })])).toEqual({ open: [], clear: [], rearm: [] });
  });

  it('after a hand clear opens nothing while the cause holds; once it went away, the next occurrence opens a new item', () => {
    const held = row({ id: 3, cleared_at: iso(now - 60_000), cleared_by: 'wangli' });
    expect(planVisits(judged(offline), [held])).toEqual({ open: [], clear: [], rearm: [] });
    expect(planVisits(judged(station({ heartbeat_at: iso(now) })), [held])).toEqual({ open: [], clear: [], rearm: [3] });
    // Rearmed items are no longer live: the store does not return them, and a new loss opens an item.
    expect(planVisits(judged(offline), []).open).toHaveLength(1);
  });

  it('keeps a bounded detail of the cause, and reads it back for the history', () => {
    const errors = Array.from({ length: 32 }, (_, i) => ({ code: `c${i}`, severity: 'error', text: 'x'.repeat(1000) }));
    const [j] = judged(station({ heartbeat_at: iso(now), faults: [{ device_id: 'proj', errors }] }));
    const detail = causeDetail(j!.causes[0]!);
    expect(detail.length).toBeLessThan(2_000);
    expect(causeOfRow({ detail, kind: 'fault', cause: 'fault:proj' })).toMatchObject({ kind: 'fault', device: 'proj', unread: 27, pending: false });
    expect(causeOfRow({ detail: 'not json', kind: 'fault', cause: 'fault:proj' })).toBeUndefined();
    expect(causeOfRow({ detail, kind: 'lamp', cause: 'lamp:proj' })).toBeUndefined();
  });
});
