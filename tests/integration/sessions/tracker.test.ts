import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { tempDir, removeDir } from '../../../scripts/lib/kit/index.js';
import { UsageRecordSchema } from '../../../protocol/usage-record.js';
import { dailySummaries, querySessions, toCsv } from '../../../agent/sessions/query.js';
import { CommandRegistry } from '../../../agent/commands.js';
import { registerSessionCommands } from '../../../agent/sessions/commands.js';
import { Station, T0, TestClock, onDisk } from './harness.js';

const MIN = 60_000;
let dir: string;
let stations: Station[] = [];

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  dir = tempDir('sessions-');
});
afterEach(() => {
  for (const s of stations) {
    s.tracker.stop();
    s.close();
  }
  stations = [];
  vi.useRealTimers();
  removeDir(dir);
});

function station(clock = new TestClock(), boot = 1): Station {
  const s = new Station(dir, clock, boot);
  stations.push(s);
  return s;
}

/** Simulates kill -9 / a power cut: no stop(), the database is simply abandoned. */
function crash(s: Station): void {
  s.bus.removeAll(s.tracker);
  (s.tracker as unknown as { running: boolean }).running = false;
  vi.clearAllTimers();
  s.close();
  stations = stations.filter((x) => x !== s);
}

describe('SessionTracker on a real database', () => {
  test('a 90-minute class with a 60-second projector restart is one session, one durable record, one summary row', async () => {
    const s = station();
    s.tracker.start();
    s.tracker.noteTrigger('manual');
    s.set('proj', 'warming', { input: '31', signal: false });
    s.set('amp', 'on', { volume: 40 });
    s.set('led', 'on');
    const open = s.tracker.openSessionId();
    expect(open).not.toBeNull();
    expect(s.sessionRows()[0]).toMatchObject({ id: open, state: 'open' });
    await s.advance(MIN);
    s.set('proj', 'on', { input: '31', signal: true });
    await s.advance(44 * MIN);
    s.set('proj', 'cooling', { input: '31', signal: null });
    await s.advance(30_000);
    s.set('proj', 'off', { input: '31', signal: null });
    await s.advance(30_000);
    s.set('proj', 'warming', { input: '31', signal: false });
    await s.advance(MIN);
    s.set('proj', 'on', { input: '31', signal: true });
    await s.advance(43 * MIN);
    s.set('proj', 'off');
    s.set('amp', 'off');
    s.set('led', 'off');
    await s.advance(5 * MIN);

    const usage = s.usage();
    expect(usage).toHaveLength(1);
    const r = usage[0]!;
    expect(UsageRecordSchema.safeParse(r).success).toBe(true);
    expect(r).toMatchObject({
      id: open,
      station_id: 'xiaozhuang',
      duration_s: 90 * 60,
      end_reason: 'devices_off',
      trigger: 'manual',
      short: false,
      clock: 'synced',
      start: '2024-03-05T12:00:00.000Z',
      end: '2024-03-05T13:30:00.000Z',
      annotation: null,
    });
    expect(r.devices.find((d) => d.id === 'proj')!.on_s).toBe(89 * 60);
    expect(r.devices.find((d) => d.id === 'amp')!.on_s).toBe(90 * 60);
    expect(r.signal_s).toBe(87 * 60);
    expect(s.sessionRows()).toEqual([expect.objectContaining({ id: open, state: 'closed', seq: r.seq })]);
    expect(dailySummaries(s.store)).toEqual([
      { day: '2024-03-05', sessions: 1, short: 0, total_s: 5400, signal_s: 87 * 60, first_seq: r.seq, last_seq: r.seq },
    ]);
  });

  test('checkpoints at least once a minute while open', async () => {
    const s = station();
    s.tracker.start();
    s.set('proj', 'on', { signal: true });
    await s.advance(10 * MIN + 30_000);
    const row = s.sessionRows()[0]!;
    expect(JSON.parse(row.record)).toMatchObject({ duration_s: 600, end_reason: 'power_loss' });
    expect(row.checkpoint_at).toBe('2024-03-05T12:10:00.000Z');
  });

  test('a projector left on overnight without signal ends as idle', async () => {
    const s = station();
    s.tracker.start();
    s.set('proj', 'on', { signal: false });
    await s.advance(10 * 60 * MIN);
    const usage = s.usage();
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ end_reason: 'idle', duration_s: 1800, signal_s: 0, short: false });
    expect(s.tracker.openSessionId()).toBeNull();
  });

  test('a 2-minute test power-on is short', async () => {
    const s = station();
    s.tracker.start();
    s.set('proj', 'warming');
    await s.advance(2 * MIN);
    s.set('proj', 'off');
    await s.advance(3 * MIN);
    expect(s.usage()).toEqual([expect.objectContaining({ short: true, duration_s: 120 })]);
    expect(dailySummaries(s.store)[0]).toMatchObject({ sessions: 1, short: 1, total_s: 120 });
  });

  test('a clock jump of -8 years mid-session yields a sane, flagged record and a clock_jump event', async () => {
    const clock = new TestClock();
    const s = station(clock);
    s.tracker.start();
    s.set('proj', 'on', { signal: true });
    await s.advance(30 * MIN);
    clock.wallOffsetMs = -8 * 365 * 24 * 60 * MIN;
    clock.synced = false;
    await s.advance(30 * MIN);
    s.set('proj', 'off');
    await s.advance(3 * MIN);
    const [r] = s.usage();
    expect(r).toMatchObject({ clock: 'corrected', duration_s: 3600, start: '2024-03-05T12:00:00.000Z', end: '2024-03-05T13:00:00.000Z' });
    expect(UsageRecordSchema.safeParse(r).success).toBe(true);
    const jumps = s.eventsOf('clock_jump');
    expect(jumps).toHaveLength(1);
    expect((jumps[0]!.data as { jump_ms: number }).jump_ms).toBeLessThan(-8 * 364 * 24 * 60 * MIN);
  });

  test('recovery after a crash closes the open session at its last checkpoint as power_loss, once', async () => {
    const s1 = station(new TestClock(), 1);
    s1.tracker.start();
    s1.set('proj', 'on', { signal: true });
    await s1.advance(5 * MIN);
    s1.set('proj', 'off');
    await s1.advance(5 * MIN);
    s1.set('proj', 'on', { signal: true });
    await s1.advance(7 * MIN + 40_000);
    const before = s1.usage();
    expect(before).toHaveLength(1);
    const openId = s1.tracker.openSessionId();
    crash(s1);

    await vi.advanceTimersByTimeAsync(30 * MIN); // the station is dark
    const s2 = station(new TestClock(), 2);
    s2.tracker.start();
    const usage = s2.usage();
    expect(usage).toHaveLength(2);
    expect(usage[0]).toEqual(before[0]);
    expect(usage[1]).toMatchObject({ id: openId, end_reason: 'power_loss', duration_s: 7 * 60, boot: 1, start: '2024-03-05T12:10:00.000Z' });
    expect(usage[1]!.seq).toBeGreaterThan(usage[0]!.seq);
    expect(s2.eventsOf('power_loss_recovered')).toEqual([expect.objectContaining({ data: expect.objectContaining({ session_id: openId }) })]);
    s2.tracker.stop();
    s2.close();
    stations = [];

    // A further restart finds nothing left to recover: no duplicate.
    const s3 = station(new TestClock(), 3);
    s3.tracker.start();
    expect(s3.usage()).toHaveLength(2);
    expect(s3.eventsOf('power_loss_recovered')).toHaveLength(1);
  });

  test('a damaged open-session row does not keep the agent from starting, and the others are still recovered', async () => {
    const s1 = station(new TestClock(), 1);
    s1.tracker.start();
    s1.set('proj', 'on', { signal: true });
    await s1.advance(3 * MIN);
    const goodId = s1.tracker.openSessionId();
    onDisk(s1.store, (db) => {
      db.prepare("INSERT INTO sessions(id, state, start, checkpoint_at, record) VALUES ('damaged-json', 'open', '2024-03-05T11:00:00.000Z', '2024-03-05T11:00:00.000Z', '{not json')").run();
      db.prepare("INSERT INTO sessions(id, state, start, checkpoint_at, record) VALUES ('damaged-shape', 'open', '2024-03-05T11:00:00.000Z', '2024-03-05T11:00:00.000Z', '{\"start\": 42}')").run();
    });
    crash(s1);

    const s2 = station(new TestClock(), 2);
    expect(() => s2.tracker.start()).not.toThrow();
    expect(s2.usage().map((u) => u.id)).toEqual([goodId]);
    const left = s2.sessionRows().filter((r) => r.state === 'open').map((r) => r.id).sort();
    expect(left).toEqual(['damaged-json', 'damaged-shape']);
  });

  test('recovery of a session crashed inside a merge gap ends it when the devices went off', async () => {
    const s1 = station();
    s1.tracker.start();
    s1.set('proj', 'on');
    await s1.advance(10 * MIN);
    s1.set('proj', 'off');
    await s1.advance(20_000);
    crash(s1);
    const s2 = station();
    s2.tracker.start();
    expect(s2.usage()).toEqual([expect.objectContaining({ end_reason: 'devices_off', duration_s: 600 })]);
  });

  test('stop closes the open session with agent_stop', async () => {
    const s = station();
    s.tracker.start();
    s.set('led', 'on');
    await s.advance(20 * MIN);
    s.tracker.stop();
    expect(s.usage()).toEqual([expect.objectContaining({ end_reason: 'agent_stop', duration_s: 1200 })]);
    expect(s.sessionRows()[0]!.state).toBe('closed');
  });

  test('annotations: saved while open, edit the record until acked, then become an annotation event', async () => {
    const s = station();
    s.tracker.start();
    s.set('proj', 'on', { signal: true });
    const id = s.tracker.openSessionId()!;
    expect(s.tracker.annotate(id, { topic: '果树修剪技术', attendees: 20 })).toEqual({ session_id: id, status: 'saved' });
    await s.advance(60 * MIN);
    s.set('proj', 'off');
    await s.advance(3 * MIN);
    expect(s.usage()[0]!.annotation).toEqual({ topic: '果树修剪技术', attendees: 20 });

    const edited = s.tracker.annotate(id, { attendees: 23, organiser: '王书记' });
    expect(edited).toMatchObject({ status: 'edited' });
    expect(s.usage()[0]!.annotation).toEqual({ topic: '果树修剪技术', attendees: 23, organiser: '王书记' });

    s.ledger.ackUpTo(s.usage()[0]!.seq);
    const late = s.tracker.annotate(id, { note: '补记' });
    expect(late).toMatchObject({ status: 'event' });
    // The acknowledged record is untouched; the note travels as an event.
    expect(s.usage()[0]!.annotation).toEqual({ topic: '果树修剪技术', attendees: 23, organiser: '王书记' });
    const [ev] = s.eventsOf('annotation');
    expect(ev).toMatchObject({ data: { session_id: id, annotation: { topic: '果树修剪技术', attendees: 23, organiser: '王书记', note: '补记' } } });
    // Locally the latest note is shown.
    expect(s.tracker.list()[0]!.annotation).toMatchObject({ note: '补记' });

    expect(() => s.tracker.annotate('01HZZZZZZZZZZZZZZZZZZZZZZZ', { topic: 'x' })).toThrow(/no session/);
    expect(() => s.tracker.annotate(id, { attendees: -1 })).toThrow(/attendees/);
  });

  test('list by station day and CSV with Chinese headers; commands on the registry', async () => {
    const s = station();
    s.tracker.start();
    for (let i = 0; i < 3; i++) {
      s.set('proj', 'on', { signal: true });
      await s.advance(30 * MIN);
      s.set('proj', 'off');
      await s.advance(24 * 60 * MIN - 30 * MIN); // the same time the next evening
    }
    expect(s.tracker.list()).toHaveLength(3);
    expect(s.tracker.list({ since: '2024-03-06', until: '2024-03-06' }).map((r) => r.start)).toEqual(['2024-03-06T12:00:00.000Z']);
    expect(querySessions(s.store, 'Asia/Shanghai', { since: '2024-03-06T00:00:00Z' })).toHaveLength(2);
    expect(() => s.tracker.list({ since: '2024-02-30' })).toThrow(/calendar date/);
    expect(() => s.tracker.list({ since: 'yesterday' })).toThrow(/YYYY-MM-DD/);

    const csv = toCsv(s.tracker.list(), 'zh', 'Asia/Shanghai');
    const lines = csv.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toContain('开始时间');
    expect(lines[1]).toContain('2024-03-05 20:00:00');
    expect(lines[1]).toContain('设备关闭');

    const registry = new CommandRegistry();
    registerSessionCommands(registry, s.tracker, 'Asia/Shanghai');
    const listed = await registry.invoke('sessions.list', { since: '2024-03-05', until: '2024-03-05' }, { source: 'socket' });
    expect(listed).toMatchObject({ status: 'ok', data: { sessions: [expect.objectContaining({ start: '2024-03-05T12:00:00.000Z' })], more: null } });
    const id = s.tracker.list()[0]!.id;
    expect(await registry.invoke('session.note', { id, topic: '党课', attendees: 12 }, { source: 'socket' })).toMatchObject({
      status: 'ok',
      data: { status: 'edited' },
    });
    expect(await registry.invoke('session.note', { id }, { source: 'socket' })).toMatchObject({ status: 'error', error: { code: 'invalid_args' } });
    const asCsv = await registry.invoke('sessions.list', { format: 'csv', lang: 'en' }, { source: 'socket' });
    expect((asCsv as { data: { csv: string } }).data.csv.split('\r\n')[0]).toMatch(/^id,seq,start/);
    expect(asCsv).toMatchObject({ data: { more: null } });
  });

  test('the command observer credits socket and county power-on commands', async () => {
    const s = station();
    s.tracker.start();
    s.tracker.beforeCommand('proj', { action: 'power', value: 'on' }, 'county');
    s.set('proj', 'on');
    await s.advance(10 * MIN);
    s.tracker.stop();
    expect(s.usage()[0]!.trigger).toBe('county');
  });
});
