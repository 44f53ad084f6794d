/**
 * The conformance cases of the notes typed on site (county/notes.ts, ConsoleStore.sessions): a session
 * shows its latest note — from its usage record, or a later `annotation` event naming it — whatever
 * order the record and its notes arrive in, in one batch or several; a note whose data breaks the
 * contract adds nothing; a station's note never lands on another station's session; and a month's
 * sessions come by time zone and town, in the stations' order, bounded. Run against every implementation
 * by collector-store.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CollectorWrite, SessionNote, SessionRow } from '../../county/store.js';
import { DEFAULT_TIMEZONE, monthBounds } from '../../county/report.js';
import type { IncomingEventRecord } from '../../protocol/event-record.js';
import type { Annotation, UsageRecord } from '../../protocol/usage-record.js';
import { DEFAULT_SHAPE, durableRecord, stationIdentity } from '../../scripts/fleet/generate.js';
import type { OpenStorePair } from './collector-store-rollups.contract.js';
import type { StoreUnderTest } from './collector-store.contract.js';
import { eventWrite, TEST_LEDGER, type RecordWrite } from './event-writes.js';

const template: UsageRecord = (() => {
  const st = stationIdentity(DEFAULT_SHAPE, 0);
  for (let seq = 1; ; seq++) {
    const r = durableRecord(DEFAULT_SHAPE, st, seq, 1);
    if (r.stream === 'usage') return r.payload;
  }
})();

const sessionId = (station: string, seq: number) => `01SESSION-${station}-${String(seq).padStart(4, '0')}`;

function usage(station: string, seq: number, start: string, annotation: Annotation | null = null): RecordWrite {
  const record: UsageRecord = {
    ...template,
    id: sessionId(station, seq),
    seq,
    ledger: TEST_LEDGER,
    station_id: station,
    start,
    end: new Date(Date.parse(start) + 3_600_000).toISOString(),
    duration_s: 3_600,
    signal_s: 3_000,
    short: false,
    annotation,
  };
  return { kind: 'record', station, stream: 'usage', record, raw: JSON.stringify(record), receivedAt: start };
}

/** An `annotation` event as the agent sends it (tracker.ts), or with any `data`. */
function noteEvent(station: string, seq: number, data: Record<string, unknown>): RecordWrite {
  const w = eventWrite(station, seq, 'annotation', undefined, { ts: '2026-11-20T00:00:00.000Z' });
  const record = { ...(w.record as IncomingEventRecord), severity: 'info' as const, message: 'annotation', data };
  return { kind: 'record', station, stream: 'events', record, raw: JSON.stringify(record), receivedAt: w.receivedAt };
}
const annotate = (station: string, seq: number, ofSeq: number, annotation: Annotation) =>
  noteEvent(station, seq, { session_id: sessionId(station, ofSeq), seq: ofSeq, annotation });

function inventory(station: string, town: string | null, timezone: string): CollectorWrite {
  return {
    kind: 'inventory',
    station,
    inventory: { station: { id: station, name: station, town, county: 'k', level: 'village', timezone } },
    receivedAt: '2026-11-01T00:00:00.000Z',
  } as unknown as CollectorWrite;
}

const full = (a: Annotation): SessionNote => ({ topic: a.topic ?? null, attendees: a.attendees ?? null, organiser: a.organiser ?? null, note: a.note ?? null });
const notesOf = (rows: SessionRow[]) => Object.fromEntries(rows.map((r) => [r.id, r.note]));

/**
 * Usage records and notes over three stations, in an awkward order (notes before their records, an
 * earlier note after a later one, notes that break the contract): what the migrations' backfill must
 * turn into the same notes as the write path (tests/integration/collector: sqlite-migrations, postgres).
 */
export function noteWrites(): CollectorWrite[] {
  return [
    annotate('na', 9, 1, { topic: '后', attendees: 9 }),
    usage('na', 1, '2026-11-03T12:00:00.000Z', { topic: '先', organiser: '村委' }),
    annotate('na', 5, 1, { topic: '中' }),
    usage('na', 2, '2026-11-04T12:00:00.000Z', { note: '只有备注' }),
    noteEvent('na', 6, { session_id: sessionId('na', 2), seq: 2, annotation: { attendees: 1.5 } }),
    noteEvent('na', 7, { session_id: sessionId('na', 2), seq: 2, annotation: { topic: '  ' } }),
    usage('nb', 1, '2026-11-05T12:00:00.000Z'),
    annotate('nb', 2, 1, { topic: '果树冬季修剪技术', attendees: 23, organiser: '王书记', note: '村委会会议室' }),
    usage('nc', 1, '2026-11-06T12:00:00.000Z'),
    noteEvent('nc', 2, { session_id: sessionId('nc', 1), seq: 1, annotation: { organiser: 'x'.repeat(101) } }),
  ];
}

/** Every session of the noteWrites() stations with its note. */
export async function notesSnapshot(store: StoreUnderTest): Promise<Record<string, SessionNote | null>> {
  const out: Record<string, SessionNote | null> = {};
  for (const s of ['na', 'nb', 'nc']) Object.assign(out, notesOf(await store.sessions({ station: s, limit: 100 })));
  return out;
}

export function notesContract(name: string, open: OpenStorePair): void {
  describe(`collector store notes: ${name}`, () => {
    const made: Array<() => Promise<void>> = [];
    const fresh = async (): Promise<StoreUnderTest> => {
      const u = await open();
      made.push(() => u.dispose());
      return u.store;
    };
    afterEach(async () => {
      for (const d of made.splice(0)) await d();
    });

    const first: Annotation = { topic: '果树冬季修剪技术', attendees: 23, organiser: '王书记' };
    const second: Annotation = { topic: '果树冬季修剪技术（二）', attendees: 31, organiser: '王书记', note: '村委会会议室' };

    it('joins the note of the usage record, and a later annotation event over it', async () => {
      const store = await fresh();
      await store.apply([usage('sa', 1, '2026-11-03T12:00:00.000Z', first), usage('sa', 2, '2026-11-04T12:00:00.000Z')]);
      let rows = await store.sessions({ station: 'sa', limit: 10 });
      expect(rows.map((r) => r.id)).toEqual([sessionId('sa', 2), sessionId('sa', 1)]);
      expect(rows[1]).toMatchObject({ station_id: 'sa', seq: 1, start_ms: Date.parse('2026-11-03T12:00:00.000Z'), duration_s: 3_600, signal_s: 3_000, short: false, note: full(first) });
      expect(rows[0]!.note).toBeNull();
      await store.apply([annotate('sa', 3, 1, second), annotate('sa', 4, 2, { attendees: 12 })]);
      rows = await store.sessions({ station: 'sa', limit: 10 });
      expect(notesOf(rows)).toEqual({ [sessionId('sa', 1)]: full(second), [sessionId('sa', 2)]: full({ attendees: 12 }) });
    });

    it('keeps the latest note by seq whatever the arrival order, across batches and within one', async () => {
      const store = await fresh();
      // The later note first, then the earlier one, then the record itself (with the earliest note of all).
      await store.apply([annotate('sb', 9, 1, second)]);
      await store.apply([annotate('sb', 5, 1, { topic: '旧的' })]);
      expect(await store.sessions({ station: 'sb', limit: 10 })).toEqual([]);
      await store.apply([usage('sb', 1, '2026-11-03T12:00:00.000Z', first)]);
      expect(notesOf(await store.sessions({ station: 'sb', limit: 10 }))).toEqual({ [sessionId('sb', 1)]: full(second) });
      // In one batch: the record, a note, a later note and an earlier one.
      await store.apply([annotate('sb', 12, 2, { topic: '后' }), usage('sb', 2, '2026-11-05T12:00:00.000Z'), annotate('sb', 11, 2, { topic: '先' }), annotate('sb', 13, 2, { topic: '最后', attendees: 7 })]);
      expect(notesOf(await store.sessions({ station: 'sb', limit: 1 }))).toEqual({ [sessionId('sb', 2)]: full({ topic: '最后', attendees: 7 }) });
    });

    it('keeps the notes of the migration fixture', async () => {
      const store = await fresh();
      await store.apply(noteWrites());
      expect(await notesSnapshot(store)).toEqual({
        [sessionId('na', 1)]: full({ topic: '后', attendees: 9 }),
        [sessionId('na', 2)]: full({ note: '只有备注' }),
        [sessionId('nb', 1)]: full({ topic: '果树冬季修剪技术', attendees: 23, organiser: '王书记', note: '村委会会议室' }),
        [sessionId('nc', 1)]: null,
      });
    });

    it('adds nothing for a note that breaks the contract, nor for a duplicate, and never crosses stations', async () => {
      const store = await fresh();
      await store.apply([usage('sc', 1, '2026-11-03T12:00:00.000Z', first), usage('sd', 1, '2026-11-03T12:00:00.000Z')]);
      await store.apply([
        noteEvent('sc', 2, { session_id: sessionId('sc', 1), seq: 1, annotation: { topic: 'x'.repeat(201) } }),
        noteEvent('sc', 3, { session_id: sessionId('sc', 1), seq: 1, annotation: { attendees: -1 } }),
        noteEvent('sc', 4, { session_id: sessionId('sc', 1), seq: 1, annotation: { topic: 'ok', colour: 'red' } }),
        noteEvent('sc', 5, { session_id: 42, seq: 1, annotation: { topic: 'ok' } }),
        noteEvent('sc', 6, { seq: 1, annotation: { topic: 'ok' } }),
        // sd's session id, sent by sc: it is sc's own (unknown) session, not sd's.
        noteEvent('sc', 7, { session_id: sessionId('sd', 1), seq: 1, annotation: { topic: '别人的' } }),
      ]);
      expect(notesOf(await store.sessions({ station: 'sc', limit: 10 }))).toEqual({ [sessionId('sc', 1)]: full(first) });
      expect(notesOf(await store.sessions({ station: 'sd', limit: 10 }))).toEqual({ [sessionId('sd', 1)]: null });
      // The same seq again with another note: a duplicate record changes nothing.
      await store.apply([annotate('sc', 8, 1, { topic: '新' })]);
      await store.apply([annotate('sc', 8, 1, { topic: '重放' })]);
      expect(notesOf(await store.sessions({ station: 'sc', limit: 10 }))).toEqual({ [sessionId('sc', 1)]: full({ topic: '新' }) });
    });

    it("lists a month's sessions of one time zone by town, station and start, of one town, and bounded", async () => {
      const store = await fresh();
      await store.apply([inventory('s1', '乙镇', 'Asia/Shanghai'), inventory('s2', '甲镇', 'Asia/Shanghai'), inventory('s3', null, 'Asia/Shanghai'), inventory('s4', '甲镇', 'Europe/Berlin')]);
      const writes: CollectorWrite[] = [];
      for (const s of ['s1', 's2', 's3', 's4']) {
        // Towns in byte order, as stations() lists them: 乙 (U+4E59) before 甲 (U+7532).
      // The 1st at 00:30 in Beijing is still October in UTC; the 1st of December 00:30 is not November.
        writes.push(usage(s, 1, '2026-10-31T16:30:00.000Z'), usage(s, 2, '2026-11-15T02:00:00.000Z'), usage(s, 3, '2026-11-10T02:00:00.000Z'), usage(s, 4, '2026-11-30T16:30:00.000Z'));
      }
      await store.apply([...writes, annotate('s2', 5, 3, first)]);
      const window = { ...monthBounds('2026-11', 'Asia/Shanghai'), timezone: 'Asia/Shanghai', defaultTimezone: DEFAULT_TIMEZONE };
      const key = (r: SessionRow) => `${r.station_id}#${r.seq}`;
      expect((await store.sessions({ window, limit: 100 })).map(key)).toEqual(['s1#1', 's1#3', 's1#2', 's2#1', 's2#3', 's2#2', 's3#1', 's3#3', 's3#2']);
      const town = await store.sessions({ window, town: '甲镇', limit: 100 });
      expect(town.map(key)).toEqual(['s2#1', 's2#3', 's2#2']);
      expect(town[1]!.note).toEqual(full(first));
      expect((await store.sessions({ window, town: null, limit: 100 })).map(key)).toEqual(['s3#1', 's3#3', 's3#2']);
      expect((await store.sessions({ window, limit: 4 })).map(key)).toEqual(['s1#1', 's1#3', 's1#2', 's2#1']);
      const berlin = { ...monthBounds('2026-11', 'Europe/Berlin'), timezone: 'Europe/Berlin', defaultTimezone: DEFAULT_TIMEZONE };
      expect((await store.sessions({ window: berlin, limit: 100 })).map(key)).toEqual(['s4#3', 's4#2', 's4#4']);
    });
  });
}
