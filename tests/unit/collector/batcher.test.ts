/**
 * The collector's batcher with an asynchronous writer (as a PostgreSQL store would be): one batch in
 * flight, arrival order kept, nothing lost, flush() and stop() wait for the writes. Fake timers drive
 * flushMs; the writer's promises are settled by the test.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Batcher } from '../../../county/batcher.js';
import { emptyWriteStats, writeBatch, type Incoming } from '../../../county/write-batch.js';
import type { ResendLedger, ResendTransaction } from '../../../county/gap-watcher.js';
import { LogLimiter } from '../../../protocol/log-limit.js';
import { openSqliteCollectorStore } from '../../../county/sqlite-store.js';
import type { CollectorStore } from '../../../county/store.js';
import { FleetTopics } from '../../../protocol/topics.js';
import { silentLogger } from '../../../agent/log.js';
import { DEFAULT_SHAPE, durableRecord, stationIdentity } from '../../../scripts/fleet/generate.js';

/** A writer whose every call waits until the test releases it. */
function slowWriter() {
  const calls: Array<{ batch: number[]; release: () => void; fail: (e: Error) => void }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const write = (batch: number[]) =>
    new Promise<void>((resolve, reject) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const done = () => inFlight--;
      calls.push({ batch: [...batch], release: () => (done(), resolve()), fail: (e) => (done(), reject(e)) });
    });
  return { calls, write, maxInFlight: () => maxInFlight };
}

describe('Batcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes flushMs after the first message, or at once at maxBatch', async () => {
    const w = slowWriter();
    const b = new Batcher<number>({ flushMs: 20, maxBatch: 3, write: w.write, onError: () => {} });
    b.push(1);
    b.push(2);
    await vi.advanceTimersByTimeAsync(19);
    expect(w.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.calls.map((c) => c.batch)).toEqual([[1, 2]]);
    w.calls[0]!.release();
    await vi.advanceTimersByTimeAsync(0);
    b.push(3);
    b.push(4);
    b.push(5);
    expect(w.calls.map((c) => c.batch)).toEqual([[1, 2], [3, 4, 5]]);
    w.calls[1]!.release();
    await b.stop();
  });

  it('keeps one batch in flight and the arrival order, and loses nothing that arrives meanwhile', async () => {
    const w = slowWriter();
    const b = new Batcher<number>({ flushMs: 20, maxBatch: 4, write: w.write, onError: () => {} });
    for (let i = 1; i <= 3; i++) b.push(i);
    await vi.advanceTimersByTimeAsync(20);
    expect(w.calls).toHaveLength(1);
    // While the first batch is being written, ten more arrive: none is written before it finishes.
    for (let i = 4; i <= 13; i++) b.push(i);
    await vi.advanceTimersByTimeAsync(100);
    expect(w.calls).toHaveLength(1);
    expect(b.pending).toBe(10);
    for (let k = 0; w.calls.length > k; k++) {
      w.calls[k]!.release();
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(w.calls.map((c) => c.batch)).toEqual([[1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13]]);
    expect(w.maxInFlight()).toBe(1);
    expect(b.pending).toBe(0);
  });

  it('flush() resolves only when everything pushed before it is written; stop() writes the rest', async () => {
    const w = slowWriter();
    const b = new Batcher<number>({ flushMs: 1_000, maxBatch: 2, write: w.write, onError: () => {} });
    b.push(1);
    b.push(2);
    b.push(3);
    let flushed = false;
    const f = b.flush().then(() => (flushed = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(w.calls.map((c) => c.batch)).toEqual([[1, 2]]);
    b.push(4); // after the flush() call: not waited for, but written in order
    w.calls[0]!.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed).toBe(false);
    expect(w.calls.map((c) => c.batch)).toEqual([[1, 2], [3, 4]]);
    w.calls[1]!.release();
    await f;
    expect(flushed).toBe(true);

    b.push(5);
    let stopped = false;
    const s = b.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(w.calls.at(-1)!.batch).toEqual([5]);
    expect(stopped).toBe(false);
    w.calls.at(-1)!.release();
    await s;
    expect(stopped).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a failed write is reported, and the batches after it are still written', async () => {
    const w = slowWriter();
    const errors: Array<{ err: unknown; batch: number[] }> = [];
    const b = new Batcher<number>({ flushMs: 5, maxBatch: 2, write: w.write, onError: (err, batch) => errors.push({ err, batch }) });
    for (let i = 1; i <= 4; i++) b.push(i);
    const f = b.flush();
    await vi.advanceTimersByTimeAsync(0);
    w.calls[0]!.fail(new Error('disk full'));
    await vi.advanceTimersByTimeAsync(0);
    w.calls[1]!.release();
    await f;
    expect(errors).toEqual([{ err: new Error('disk full'), batch: [1, 2] }]);
    expect(w.calls.map((c) => c.batch)).toEqual([[1, 2], [3, 4]]);
  });

  it('takes from every station in turn: a station with a backlog fills only its share, each station in its order', async () => {
    const w = slowWriter();
    const b = new Batcher<number>({ flushMs: 5, maxBatch: 4, write: w.write, onError: () => {}, key: (n) => (n >= 100 ? 'flood' : `s${n % 2}`) });
    for (let i = 100; i < 120; i++) b.push(i); // one station's backlog; the first batch goes out at the 4th
    expect(w.calls.map((c) => c.batch)).toEqual([[100, 101, 102, 103]]);
    b.push(2);
    b.push(1);
    b.push(4);
    const f = b.flush();
    for (let k = 0; w.calls.length > k; k++) {
      w.calls[k]!.release();
      await vi.advanceTimersByTimeAsync(0);
    }
    await f;
    // The next batches already carry the later stations: they did not wait behind the backlog of 16.
    expect(w.calls[1]!.batch).toEqual([104, 105, 2, 4]);
    expect(w.calls[2]!.batch).toEqual([1, 106, 107, 108]);
    const all = w.calls.flatMap((c) => c.batch);
    expect(all.filter((n) => n >= 100)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    expect(all).toHaveLength(23);
    expect(b.pending).toBe(0);
  });

  it('with two batches in flight, a station whose messages are in flight waits for them: each station in its order, nothing lost', async () => {
    const calls: Array<{ batch: string[]; release: () => void }> = [];
    let inFlight = 0;
    let most = 0;
    const write = (batch: string[]) =>
      new Promise<void>((resolve) => {
        most = Math.max(most, ++inFlight);
        calls.push({ batch: [...batch], release: () => (inFlight--, resolve()) });
      });
    const b = new Batcher<string>({ flushMs: 20, maxBatch: 4, concurrency: 2, key: (m) => m[0]!, write, onError: () => {} });
    for (const m of ['a1', 'a2', 'b1']) b.push(m);
    await vi.advanceTimersByTimeAsync(20);
    expect(calls.map((c) => c.batch)).toEqual([['a1', 'a2', 'b1']]);
    // A second batch starts once maxBatch are waiting, without the station of the first batch.
    for (const m of ['a3', 'a4', 'c1', 'c2']) b.push(m);
    expect(calls.map((c) => c.batch)).toEqual([['a1', 'a2', 'b1'], ['c1', 'c2']]);
    // No third while two are in flight.
    for (const m of ['d1', 'd2', 'd3', 'd4']) b.push(m);
    expect(calls).toHaveLength(2);
    const f = b.flush();
    let flushed = false;
    void f.then(() => (flushed = true));
    // The second finishes first: the next takes d, and a still waits for the first.
    calls[1]!.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.batch).slice(2)).toEqual([['d1', 'd2', 'd3', 'd4']]);
    calls[0]!.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.batch).slice(3)).toEqual([['a3', 'a4']]);
    calls[2]!.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed).toBe(false);
    calls[3]!.release();
    await f;
    expect(most).toBe(2);
    expect(b.pending).toBe(0);
  });

  it('with two slots, a second batch goes out only when a full batch waits: below that the batches grow with the load', async () => {
    const w = slowWriter();
    const b = new Batcher<number>({ flushMs: 20, maxBatch: 4, concurrency: 2, key: (n) => `s${n}`, write: w.write, onError: () => {} });
    b.push(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(w.calls.map((c) => c.batch)).toEqual([[1]]);
    for (const n of [2, 3, 4]) b.push(n);
    await vi.advanceTimersByTimeAsync(200);
    expect(w.calls).toHaveLength(1);
    // The first finishes: what waited goes at once, as one batch.
    w.calls[0]!.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(w.calls.map((c) => c.batch)).toEqual([[1], [2, 3, 4]]);
    // A full batch does not wait for the one in flight.
    for (const n of [5, 6, 7, 8]) b.push(n);
    expect(w.calls.map((c) => c.batch)).toEqual([[1], [2, 3, 4], [5, 6, 7, 8]]);
    expect(w.maxInFlight()).toBe(2);
    w.calls[1]!.release();
    w.calls[2]!.release();
    await b.stop();
  });

  it('any interleaving of arrivals, timers and completions: each message written once, each station in order, never in two batches at once', async () => {
    type Op = { push: number } | { release: number } | { tick: true };
    const op: fc.Arbitrary<Op> = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 4 }) }), fc.record({ release: fc.nat() }), fc.constant({ tick: true as const }));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 120 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), async (ops, concurrency, maxBatch) => {
        const open: Array<{ batch: Array<[number, number]>; release: () => void }> = [];
        const written: Array<[number, number]> = [];
        const inFlightKeys = new Set<number>();
        let most = 0;
        const write = (batch: Array<[number, number]>) =>
          new Promise<void>((resolve) => {
            const keys = new Set(batch.map(([k]) => k));
            for (const k of keys) expect(inFlightKeys.has(k)).toBe(false);
            keys.forEach((k) => inFlightKeys.add(k));
            const call = {
              batch,
              release: () => {
                keys.forEach((k) => inFlightKeys.delete(k));
                written.push(...batch);
                resolve();
              },
            };
            open.push(call);
            most = Math.max(most, open.length);
          });
        const b = new Batcher<[number, number]>({ flushMs: 10, maxBatch, concurrency, key: ([k]) => String(k), write, onError: () => {} });
        const next = [0, 0, 0, 0, 0];
        const releaseAt = async (i: number): Promise<void> => {
          const [call] = open.splice(i % open.length, 1);
          call!.release();
          await vi.advanceTimersByTimeAsync(0);
        };
        for (const o of ops) {
          if ('push' in o) b.push([o.push, next[o.push]!++]);
          else if ('tick' in o) await vi.advanceTimersByTimeAsync(10);
          else if (open.length > 0) await releaseAt(o.release);
        }
        const f = b.flush();
        while (open.length > 0) await releaseAt(0);
        await f;
        expect(most).toBeLessThanOrEqual(concurrency);
        expect(written).toHaveLength(next.reduce((x, y) => x + y, 0));
        for (let k = 0; k < 5; k++) expect(written.filter(([s]) => s === k).map(([, n]) => n)).toEqual(Array.from({ length: next[k]! }, (_, i) => i));
        await b.stop();
      }),
      { numRuns: 200 },
    );
  });

  it('sheds beyond maxPerKey and maxQueued, and flush() still resolves', async () => {
    const w = slowWriter();
    const shed: Array<[number, string]> = [];
    const b = new Batcher<number>({ flushMs: 5, maxBatch: 100, write: w.write, onError: () => {}, key: (n) => (n >= 100 ? 'flood' : 'other'), maxPerKey: 3, maxQueued: 5, onShed: (n, k) => shed.push([n, k]) });
    expect([100, 101, 102, 103, 104].map((n) => b.push(n))).toEqual([true, true, true, false, false]);
    expect([1, 2, 3].map((n) => b.push(n))).toEqual([true, true, false]);
    expect(shed).toEqual([
      [103, 'flood'],
      [104, 'flood'],
      [3, 'other'],
    ]);
    const f = b.flush();
    await vi.advanceTimersByTimeAsync(0);
    w.calls[0]!.release();
    await f;
    expect(w.calls[0]!.batch.sort()).toEqual([1, 100, 101, 102, 2].sort());
  });
});

describe('LogLimiter', () => {
  it('lets perWindow lines through per message and window, then reports how many it held back', () => {
    const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
    const log = { ...silentLogger, warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', fields, msg }) } as unknown as typeof silentLogger;
    let now = 0;
    const l = new LogLimiter(log, { perWindow: 2, windowMs: 1_000, now: () => now });
    for (let i = 0; i < 1_000; i++) l.warn({ i }, 'bad');
    l.warn({ i: 'x' }, 'other');
    expect(lines.map((x) => [x.msg, x.fields['i']])).toEqual([
      ['bad', 0],
      ['bad', 1],
      ['other', 'x'],
    ]);
    now = 1_000;
    l.summarise();
    expect(lines.slice(3)).toEqual([{ level: 'warn', fields: { suppressed: 998, window_s: 1 }, msg: 'bad (lines not logged)' }]);
    l.warn({ i: 'y' }, 'bad');
    expect(lines.at(-1)!.fields).toEqual({ i: 'y' });
  });
});

describe('writeBatch', () => {
  const fleet = new FleetTopics('stations');
  const station = stationIdentity(DEFAULT_SHAPE, 0);
  const topics = fleet.station(station.id);
  const stats = emptyWriteStats;
  const msg = (topic: string, payload: unknown): Incoming => ({ topic, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), receivedAt: '2026-11-01T00:00:00.000Z' });
  const record = (seq: number) => {
    const r = durableRecord(DEFAULT_SHAPE, station, seq, 1);
    return msg(topics.stream(r.stream), r.payload);
  };
  let store: CollectorStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('stores valid records once, counts malformed ones by reason, and ignores topics outside the contract', async () => {
    store = openSqliteCollectorStore(':memory:');
    const s = stats();
    await writeBatch(store, fleet, [record(1), record(2), record(1), msg(topics.usage, 'not json {'), msg(topics.ack, { seq: 1 }), msg('elsewhere/x/usage', 'x')], s, silentLogger);
    expect(s).toMatchObject({ stored: 2, duplicates: 1, malformed: 1, malformed_by_reason: { not_json: 1 }, store_errors: 0 });
    expect(await store.countRecords()).toBe(2);
  });

  it('writes only the last heartbeat of a station in a batch', async () => {
    store = openSqliteCollectorStore(':memory:');
    const s = stats();
    // Invalid heartbeats: only the last is validated, so only one counts as malformed.
    await writeBatch(store, fleet, [msg(topics.heartbeat, { v: 2 }), msg(topics.heartbeat, { v: 3 }), msg(topics.heartbeat, { v: 4 })], s, silentLogger);
    expect(s).toMatchObject({ heartbeats_coalesced: 2, malformed: 1 });
  });

  it('believes a resend answer only for a transaction it asked, and marks lost only inside the range asked', async () => {
    store = openSqliteCollectorStore(':memory:');
    await writeBatch(store, fleet, [record(1), record(10)], stats(), silentLogger);
    const asked = new Map<string, ResendTransaction>([['tx-1', { station: station.id, from_seq: 2, to_seq: 5, ledger: '', base: 0, expiresAt: Infinity }]]);
    const ledger: ResendLedger = {
      claim: (st, tx) => {
        const t = asked.get(tx);
        if (!t || t.station !== st) return undefined;
        asked.delete(tx);
        return t;
      },
    };
    const answer = (transaction: string | null, from: number, to: number) =>
      msg(topics.response('sessions.resend'), { v: 1, transaction, status: 'ok', data: { from_seq: from, to_seq: to, count: 0 }, ts: '2026-11-01T00:00:00.000Z', clock: 'synced' });
    const s = stats();
    // Forged (unknown transaction, no transaction, another station's), then the real one claiming far more than asked.
    await writeBatch(store, fleet, [answer('tx-forged', 2, 9), answer(null, 2, 9)], s, silentLogger, { ledger });
    await writeBatch(store, fleet, [msg(fleet.station('st-other').response('sessions.resend'), { v: 1, transaction: 'tx-1', status: 'ok', data: { from_seq: 2, to_seq: 9, count: 0 }, ts: '2026-11-01T00:00:00.000Z', clock: 'synced' })], s, silentLogger, { ledger });
    expect(s).toMatchObject({ resend_unknown: 3, resend_answers: 0, lost_marked: 0 });
    expect(await store.lost()).toEqual([]);
    await writeBatch(store, fleet, [answer('tx-1', 1, Number.MAX_SAFE_INTEGER), answer('tx-1', 2, 9)], s, silentLogger, { ledger });
    expect(s).toMatchObject({ resend_unknown: 4, resend_answers: 1, lost_marked: 4 });
    expect((await store.lost()).map((r) => [r.from_seq, r.to_seq])).toEqual([[2, 5]]);
    expect((await store.station(station.id))!.watermark).toBe(5);
    // An answer with an unsafe seq is malformed, not believed.
    await writeBatch(store, fleet, [msg(topics.response('sessions.resend'), '{"v":1,"transaction":"tx-2","status":"ok","data":{"from_seq":1,"to_seq":9007199254740993,"count":0},"ts":"2026-11-01T00:00:00.000Z","clock":"synced"}')], s, silentLogger, { ledger });
    expect(s.malformed_by_reason).toEqual({ invalid_response: 1 });
  });

  it('a record whose seq is not a safe integer is malformed', async () => {
    store = openSqliteCollectorStore(':memory:');
    const s = stats();
    const r = durableRecord(DEFAULT_SHAPE, station, 1, 1);
    const text = JSON.stringify(r.payload).replace('"seq":1,', '"seq":9007199254740993,');
    expect(text).toContain('9007199254740993');
    await writeBatch(store, fleet, [msg(topics.stream(r.stream), text)], s, silentLogger);
    expect(s).toMatchObject({ stored: 0, malformed: 1 });
    expect(await store.countRecords()).toBe(0);
  });

  it('a batch the store refuses is counted as a store error and nothing of it is stored', async () => {
    const real = openSqliteCollectorStore(':memory:');
    store = real;
    const refusing: CollectorStore = Object.assign(Object.create(real) as CollectorStore, { apply: () => Promise.reject(new Error('database is locked')) });
    const s = stats();
    await writeBatch(refusing, fleet, [record(1), record(2)], s, silentLogger);
    expect(s).toMatchObject({ stored: 0, store_errors: 1 });
    expect(await real.countRecords()).toBe(0);
  });
});
