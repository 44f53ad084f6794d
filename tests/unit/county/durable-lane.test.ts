/**
 * The durable lane's bookkeeping, driven by a fake connection (the test plays the broker's PUBACKs) and
 * fake timers, on a real SQLite outbox. What the county receives end to end is proven against mosquitto
 * in tests/integration/county/durable-lane.test.ts; here: what only the lane can show — one outbox write
 * per burst of PUBACKs and acks, the window, callbacks of a dropped client ignored, nothing of one
 * connection carried into the next, time from the injected clock only, failed publishes logged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CommandKey } from '../../../agent/county/command-key.js';
import type { Clock } from '../../../agent/clock.js';
import { signAck } from '../../../protocol/signing.js';
import { DurableLane } from '../../../agent/county/durable-lane.js';
import { Topics } from '../../../protocol/topics.js';
import { silentLogger } from '../../../agent/log.js';
import type { Outbox } from '../../../agent/store/outbox.js';
import { Store } from '../../../agent/store/store.js';
import { FakeConnection, syncedClock } from './fake-connection.js';

const topics = new Topics('stations', 'village-01');
let dir: string;
let store: Store;
let outbox: Outbox;
/** An unsigned ack for this station's ledger. */
const unsigned = (seq: number, ledger: string | null = outbox.ledger()): Buffer => Buffer.from(JSON.stringify(ledger === null ? { seq } : { seq, ledger }));

beforeEach(() => {
  vi.useFakeTimers();
  dir = mkdtempSync(join(tmpdir(), 'durable-lane-'));
  store = Store.open(dir);
  outbox = store.outbox;
});

afterEach(() => {
  vi.useRealTimers();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function append(n: number): void {
  for (let i = 0; i < n; i++) {
    outbox.append('usage', 'usage', new Date().toISOString(), (seq, id) => ({ v: 1, seq, id, station_id: 'village-01' }));
  }
}

function lane(conn: FakeConnection, over: { window?: number; requireAck?: boolean; log?: Logger; clock?: Clock } = {}): DurableLane {
  return new DurableLane({
    stationId: 'village-01',
    outbox,
    topics,
    connection: conn,
    log: over.log ?? silentLogger,
    clock: over.clock ?? syncedClock,
    requireAck: over.requireAck ?? true,
    replayRate: 1_000,
    timing: { ackGraceMs: 300, ackTimeoutMs: 600_000, window: over.window ?? 4 },
  });
}

/** Connected, subscribed, grace over: the lane is open. */
async function open(l: DurableLane): Promise<void> {
  l.connected();
  l.subscribed();
  await vi.advanceTimersByTimeAsync(300);
}

/** The connection drops: the client is gone, then the lane hears of it (as MqttConnection does it). */
function drop(conn: FakeConnection, l: DurableLane): void {
  conn.client = null;
  conn.connected = false;
  l.connectionEnded();
}

/** A pino logger whose warn lines the test reads. */
function logged(): { lines: Array<Record<string, unknown>>; log: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

const seqOf = (message: string): number => (JSON.parse(message) as { seq: number }).seq;

describe('durable lane', () => {
  it('keeps at most `window` records in flight and sends the next on each PUBACK', async () => {
    const conn = new FakeConnection();
    const l = lane(conn);
    await open(l);
    append(10);
    l.pump();
    const client = conn.client!;
    expect(client.sent.map((s) => seqOf(s.message))).toEqual([1, 2, 3, 4]);
    expect(client.sent.every((s) => s.topic === 'stations/village-01/usage' && s.opts.qos === 1)).toBe(true);
    // Records appended while connected are live, not historical.
    expect(client.sent.some((s) => s.message.includes('historical'))).toBe(false);
    client.sent[0]!.ack();
    expect(client.sent.map((s) => seqOf(s.message))).toEqual([1, 2, 3, 4, 5]);
  });

  it('writes a burst of PUBACKs to the outbox in one markPublished, and only the highest of a burst of acks', async () => {
    const conn = new FakeConnection();
    const l = lane(conn, { window: 8 });
    await open(l);
    append(8);
    l.pump();
    const published = vi.spyOn(outbox, 'markPublished');
    const acked = vi.spyOn(outbox, 'ackUpTo');
    for (const s of conn.client!.sent) s.ack();
    l.onAck(unsigned(3));
    l.onAck(unsigned(6));
    l.onAck(unsigned(5));
    expect(published).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(25);
    expect(published).toHaveBeenCalledTimes(1);
    expect(published).toHaveBeenCalledWith([1, 2, 3, 4, 5, 6, 7, 8], false);
    expect(acked).toHaveBeenCalledTimes(1);
    expect(acked).toHaveBeenCalledWith(6);
    expect(outbox.depth()).toMatchObject({ count: 2, first_seq: 7 });
  });

  it('ignores PUBACKs of a dropped client and replays its records on the next connection, as historical', async () => {
    const conn = new FakeConnection();
    const l = lane(conn);
    await open(l);
    append(4);
    l.pump();
    const old = conn.client!;
    expect(old.sent).toHaveLength(4);
    const published = vi.spyOn(outbox, 'markPublished');
    // The connection drops before any PUBACK; mqtt.js may still call back later.
    drop(conn, l);
    for (const s of old.sent) s.ack();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(published).not.toHaveBeenCalled();

    const fresh = conn.reconnect();
    await open(l);
    await vi.advanceTimersByTimeAsync(100);
    expect(fresh.sent.map((s) => seqOf(s.message))).toEqual([1, 2, 3, 4]);
    expect(fresh.sent.every((s) => JSON.parse(s.message).historical === true)).toBe(true);
  });

  it('sends nothing before the grace after the subscription is over', async () => {
    const conn = new FakeConnection();
    append(3);
    const l = lane(conn);
    l.connected();
    l.subscribed();
    l.pump();
    await vi.advanceTimersByTimeAsync(299);
    expect(conn.client!.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(50);
    expect(conn.client!.sent.length).toBeGreaterThan(0);
  });

  describe('per connection', () => {
    it('forgets an ack refused as early when its connection ends', async () => {
      const conn = new FakeConnection();
      const l = lane(conn, { window: 8 });
      append(3);
      await open(l);
      // Above what was published (nothing yet): refused, and remembered for this connection only.
      l.onAck(Buffer.from('{"seq":3}'));
      drop(conn, l);
      const fresh = conn.reconnect();
      await open(l);
      await vi.advanceTimersByTimeAsync(100);
      expect(fresh.sent.map((s) => seqOf(s.message))).toEqual([1, 2, 3]);
      for (const s of fresh.sent) s.ack();
      await vi.advanceTimersByTimeAsync(25);
      // The new subscription brought the retained ack again (here: none came); the old refusal is gone.
      expect(conn.refetched).toEqual([]);
    });

    it('does not let the grace of an ended connection open the next one early', async () => {
      append(2);
      const conn = new FakeConnection();
      const l = lane(conn);
      l.connected();
      l.subscribed();
      await vi.advanceTimersByTimeAsync(200);
      drop(conn, l);
      const fresh = conn.reconnect();
      l.connected();
      l.subscribed();
      await vi.advanceTimersByTimeAsync(150); // the first connection's grace would be over now
      expect(fresh.sent).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(200); // its own grace, then the replay pace
      expect(fresh.sent.map((s) => seqOf(s.message))).toEqual([1, 2]);
    });

    it("writes down an ended connection's PUBACKs when it ends, and carries none into the next", async () => {
      const conn = new FakeConnection();
      const l = lane(conn, { window: 4 });
      await open(l);
      append(6);
      l.pump();
      const published = vi.spyOn(outbox, 'markPublished');
      const old = conn.client!;
      old.sent[0]!.ack();
      old.sent[1]!.ack();
      drop(conn, l); // within the batching window
      expect(published.mock.calls).toEqual([[[1, 2], false]]);
      const fresh = conn.reconnect();
      await open(l);
      await vi.advanceTimersByTimeAsync(100);
      // The full window again (from 1: published is not acked): nothing of the old one is in flight.
      expect(fresh.sent.map((s) => seqOf(s.message))).toEqual([1, 2, 3, 4]);
      fresh.sent[2]!.ack();
      await vi.advanceTimersByTimeAsync(25);
      expect(published.mock.calls).toEqual([
        [[1, 2], false],
        [[3], false],
      ]);
    });
  });

  describe('time', () => {
    /** A clock whose monotonic time moves only when the test says. */
    const manualClock = (): Clock & { advance(ms: number): void } => {
      let mono = 0;
      return { now: () => new Date(), monotonicMs: () => mono, quality: () => 'synced', advance: (ms) => void (mono += ms) };
    };

    it('times the ack timeout on the injected clock, not the wall clock', async () => {
      const clock = manualClock();
      const conn = new FakeConnection();
      const l = lane(conn, { clock });
      await open(l);
      append(2);
      l.pump();
      for (const s of conn.client!.sent) s.ack();
      await vi.advanceTimersByTimeAsync(25);
      // The wall clock (and performance.now) jumps an hour; the injected clock has not moved.
      vi.setSystemTime(Date.now() + 3_600_000);
      l.tick();
      expect(conn.client!.sent).toHaveLength(2);
      clock.advance(600_000);
      l.tick();
      expect(conn.client!.sent.map((s) => seqOf(s.message))).toEqual([1, 2, 1, 2]);
      expect(conn.client!.sent.slice(2).every((s) => JSON.parse(s.message).historical === true)).toBe(true);
    });

    it('paces a replay on the injected clock, not the wall clock', async () => {
      const clock = manualClock();
      append(150);
      const conn = new FakeConnection();
      const l = lane(conn, { clock, window: 200 });
      await open(l);
      // A second of timers and wall clock: the replay's token bucket has not filled.
      await vi.advanceTimersByTimeAsync(1_000);
      expect(conn.client!.sent).toHaveLength(0);
      clock.advance(50); // 50 ms at 1 000 records/s
      await vi.advanceTimersByTimeAsync(10);
      expect(conn.client!.sent).toHaveLength(50);
    });
  });

  describe('failed publishes', () => {
    it('logs one line per connection and error, and does not walk the outbox through a closing client', async () => {
      const conn = new FakeConnection();
      const { lines, log } = logged();
      const l = lane(conn, { log, window: 4 });
      await open(l);
      conn.client!.failWith = new Error('client disconnecting');
      append(100);
      l.pump();
      // One attempt, not a hundred: the first failure stops this pump.
      expect(conn.client!.sent).toHaveLength(1);
      l.pump();
      expect(conn.client!.sent).toHaveLength(2);
      const failures = (): unknown[][] =>
        lines.filter((x) => String(x['msg']).startsWith('publishing a record to the county failed')).map((x) => [x['seq'], x['err'], x['connection_ended']]);
      expect(failures()).toEqual([[1, 'client disconnecting', false]]);
      expect(outbox.depth().count).toBe(100);

      // The next connection: its in-flight records fail as the client closes, after the lane heard of the end.
      drop(conn, l);
      const fresh = conn.reconnect();
      await open(l);
      await vi.advanceTimersByTimeAsync(100);
      expect(fresh.sent).toHaveLength(4);
      drop(conn, l);
      for (const s of fresh.sent) s.ack(new Error('Connection closed'));
      expect(failures()).toEqual([
        [1, 'client disconnecting', false],
        [1, 'Connection closed', true],
      ]);
      await vi.advanceTimersByTimeAsync(100);
      expect(outbox.depth()).toMatchObject({ count: 100, first_seq: 1 });
      expect(outbox.publishedSeq()).toBe(0);
    });
  });

  describe('acks', () => {
    const KEY: CommandKey = { state: 'loaded', key: Buffer.from('county-command-key-0123456789abcdef') };
    const signed = (seq: number, key = 'county-command-key-0123456789abcdef', station = 'village-01'): Buffer => {
      const ts = new Date().toISOString();
      const ledger = outbox.ledger();
      return Buffer.from(JSON.stringify({ seq, ts, ledger, sig: signAck(key, station, { seq, ts, ledger }) }));
    };
    /** Sends `n` new records and lets the broker PUBACK them all. */
    async function publishAll(conn: FakeConnection, l: DurableLane, n: number): Promise<void> {
      append(n);
      l.pump();
      for (const s of conn.client!.sent) s.ack();
      await vi.advanceTimersByTimeAsync(25);
    }

    it('ignores an ack for another ledger or none (a replaced database must not be acked by the old one\'s ack)', async () => {
      const conn = new FakeConnection();
      const { lines, log } = logged();
      const l = lane(conn, { window: 8, log });
      await open(l);
      await publishAll(conn, l, 3);
      const other = '01OLDLEDGER000000000000000';
      l.onAck(unsigned(2, other));
      l.onAck(unsigned(2, null));
      l.onAck(unsigned(2, other)); // the same value again: logged once
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth()).toMatchObject({ count: 3, first_seq: 1 });
      expect(lines.map((x) => x['reason'])).toEqual(['other_ledger', 'other_ledger']);
      l.onAck(unsigned(2));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth()).toMatchObject({ count: 1, first_seq: 3 });
    });

    it('ignores an ack above the highest seq published, and never touches the seq allocator', async () => {
      const conn = new FakeConnection();
      const { lines, log } = logged();
      const l = lane(conn, { window: 8, log });
      await open(l);
      await publishAll(conn, l, 3);
      append(2); // stored, not yet published
      l.onAck(unsigned(9007199254740991));
      l.onAck(unsigned(4));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth()).toMatchObject({ count: 5, first_seq: 1 });
      expect(outbox.lastSeq()).toBe(5);
      l.onAck(unsigned(3));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth()).toMatchObject({ count: 2, first_seq: 4 });
      // A lower ack afterwards changes nothing: the watermark never goes back.
      l.onAck(unsigned(1));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth()).toMatchObject({ count: 2, first_seq: 4 });
      expect(outbox.append('usage', 'usage', new Date().toISOString(), (seq, id) => ({ seq, id })).seq).toBe(6);
      expect(lines.map((x) => [x['reason'], x['ack']])).toEqual([
        ['above_published', JSON.stringify({ seq: 9007199254740991, ledger: outbox.ledger() })],
        ['above_published', JSON.stringify({ seq: 4, ledger: outbox.ledger() })],
      ]);
    });

    it('logs each distinct bad ack once, however often it comes back', async () => {
      const conn = new FakeConnection();
      const { lines, log } = logged();
      const l = lane(conn, { log });
      await open(l);
      for (let i = 0; i < 50; i++) {
        l.onAck(unsigned(9007199254740991));
        l.onAck(Buffer.from('not json'));
        l.onAck(unsigned(1.5));
        l.onAck(unsigned(9007199254740992));
      }
      expect(lines.map((x) => x['reason'])).toEqual(['above_published', 'malformed', 'malformed', 'malformed']);
    });

    it('with a command key: believes only acks signed for this station with it', async () => {
      const conn = new FakeConnection();
      const l = lane(conn, { window: 8 });
      l.setCommandKey(KEY);
      await open(l);
      await publishAll(conn, l, 4);
      l.onAck(unsigned(1));
      l.onAck(signed(2, 'not-the-county-key'));
      l.onAck(signed(3, 'county-command-key-0123456789abcdef', 'village-02'));
      const tampered = JSON.parse(signed(1).toString()) as { seq: number };
      l.onAck(Buffer.from(JSON.stringify({ ...tampered, seq: 4 })));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth().count).toBe(4);
      l.onAck(signed(3));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth()).toMatchObject({ count: 1, first_seq: 4 });
      // Signed, but above what was published: still not believed.
      l.onAck(signed(99));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth().count).toBe(1);
    });

    it('believes no ack when the command key cannot be read', async () => {
      const conn = new FakeConnection();
      const l = lane(conn);
      l.setCommandKey({ state: 'unreadable', problem: 'cannot read' });
      await open(l);
      await publishAll(conn, l, 2);
      l.onAck(unsigned(2));
      l.onAck(signed(2));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth().count).toBe(2);
    });

    it('fetches the retained ack again once it has published as far as an ack it had to ignore', async () => {
      const conn = new FakeConnection();
      const l = lane(conn, { window: 8 });
      append(3);
      await open(l);
      // The county holds 1..3 from a session whose PUBACKs never arrived: its retained ack is early.
      l.onAck(unsigned(3));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth().count).toBe(3);
      const sent = conn.client!.sent;
      sent[0]!.ack();
      await vi.advanceTimersByTimeAsync(25);
      expect(conn.refetched).toEqual([]);
      sent[1]!.ack();
      sent[2]!.ack();
      await vi.advanceTimersByTimeAsync(25);
      expect(conn.refetched).toEqual(['stations/village-01/ack']);
      l.onAck(unsigned(3));
      await vi.advanceTimersByTimeAsync(25);
      expect(outbox.depth().count).toBe(0);
    });
  });
});
