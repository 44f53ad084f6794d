/**
 * The Outbox conformance suite (agent/store/outbox.ts), run against every implementation by
 * outbox.test.ts, the way MQTT.js runs one abstract store suite against each of its stores
 * (test/node/abstract_store). Everything the county link's durable lane, the session tracker and the
 * fleet simulator rely on is asserted here once, through the interface only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Outbox, Stream } from '../../agent/store/outbox.js';

export interface OutboxUnderTest {
  outbox: Outbox;
  /** Closes the outbox and opens it again from where it is kept (a durable implementation). */
  reopen?: () => Outbox;
  /** Releases everything (connections, temporary folders). */
  dispose(): void;
}

export interface OutboxTraits {
  /** Survives a reopen (the in-memory outbox lives and dies with its process): the reopen tests run. */
  durable: boolean;
}

const TS = '2026-03-01T00:00:00.000Z';
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function outboxContract(name: string, make: () => OutboxUnderTest, traits: OutboxTraits): void {
  describe(`Outbox contract: ${name}`, () => {
    const open: OutboxUnderTest[] = [];
    afterEach(() => {
      for (const u of open.splice(0)) u.dispose();
    });
    const fresh = (): OutboxUnderTest => {
      const u = make();
      open.push(u);
      return u;
    };
    const usage = (o: Outbox, n: number, pad = 500): number[] =>
      Array.from({ length: n }, () => o.append('usage', 'usage', TS, (seq, id) => ({ seq, id, pad: 'u'.repeat(pad) })).seq);
    const event = (o: Outbox, type: string, severity: string, pad = 500, ts = TS): number =>
      o.append('events', type, ts, (seq, id) => ({ seq, id, type, severity, pad: 'e'.repeat(pad) })).seq;
    const seqs = (records: Array<{ seq: number }>): number[] => records.map((r) => r.seq);
    /** Characters of a stored record's payload, what bytes() counts. */
    const chars = (o: Outbox, seq: number): number => [...o.stored(seq, seq, 1)[0]!.text].length;

    describe('append and seq allocation', () => {
      it('allocates seqs 1, 2, 3 … with a unique ULID each, and builds the payload with them', () => {
        const { outbox } = fresh();
        expect(outbox.lastSeq()).toBe(0);
        const a = outbox.append('events', 'agent_start', TS, (seq, id) => ({ v: 1, seq, id }));
        const b = outbox.append('usage', 'usage', '2026-03-01T01:00:00.000Z', (seq, id) => ({ v: 1, seq, id, n: 'b' }));
        const c = outbox.append('events', 'schedule_run', TS, (seq, id) => ({ seq, id }));
        expect(seqs([a, b, c])).toEqual([1, 2, 3]);
        expect(new Set([a.id, b.id, c.id]).size).toBe(3);
        for (const r of [a, b, c]) expect(r.id).toMatch(ULID);
        expect(b).toEqual({ seq: 2, id: b.id, stream: 'usage', type: 'usage', ts: '2026-03-01T01:00:00.000Z', payload: { v: 1, seq: 2, id: b.id, n: 'b' } });
        expect(outbox.lastSeq()).toBe(3);
        // Stored as the wire text of the payload it built, published as is.
        expect(outbox.stored(2, 2, 10)).toEqual([{ seq: 2, id: b.id, stream: 'usage', type: 'usage', ts: '2026-03-01T01:00:00.000Z', text: JSON.stringify(b.payload) }]);
      });

      it('keeps an id given by the caller, and refuses the same id twice without using up a seq', () => {
        const { outbox } = fresh();
        const r = outbox.append('usage', 'usage', TS, (seq, id) => ({ seq, id }), '01SESSIONIDKEPTTHROUGHOUT0');
        expect(r.id).toBe('01SESSIONIDKEPTTHROUGHOUT0');
        expect(r.payload).toEqual({ seq: 1, id: '01SESSIONIDKEPTTHROUGHOUT0' });
        expect(() => outbox.append('usage', 'usage', TS, (seq, id) => ({ seq, id }), '01SESSIONIDKEPTTHROUGHOUT0')).toThrow();
        expect(outbox.lastSeq()).toBe(1);
        expect(outbox.countStored(1, 100)).toBe(1);
        expect(outbox.append('usage', 'usage', TS, (seq, id) => ({ seq, id })).seq).toBe(2);
      });

      it('allocates nothing when the payload cannot be built', () => {
        const { outbox } = fresh();
        usage(outbox, 1);
        expect(() =>
          outbox.append('events', 'device_fault', TS, () => {
            throw new Error('no payload');
          }),
        ).toThrow('no payload');
        expect(outbox.lastSeq()).toBe(1);
        expect(outbox.depth().count).toBe(1);
        expect(event(outbox, 'device_fault', 'error')).toBe(2);
      });

      it('never reuses a seq, even after the records holding the newest ones are gone', () => {
        const { outbox } = fresh();
        const events = [event(outbox, 'schedule_run', 'info'), event(outbox, 'schedule_run', 'info'), event(outbox, 'schedule_run', 'info')];
        expect(outbox.summarise(100)).toMatchObject({ removed: 3, seq_ranges: [[events[0], events[2]]] });
        expect(outbox.countStored(1, 100)).toBe(0);
        expect(outbox.lastSeq()).toBe(3);
        expect(usage(outbox, 1)).toEqual([4]);
      });

      it('keeps the highest seq the broker took, only of records it holds, and never lowers it', () => {
        const u = fresh();
        expect(u.outbox.publishedSeq()).toBe(0);
        usage(u.outbox, 5);
        u.outbox.markPublished([2, 1], false);
        expect(u.outbox.publishedSeq()).toBe(2);
        u.outbox.markPublished([4], true);
        expect(u.outbox.publishedSeq()).toBe(4);
        u.outbox.markPublished([3], false);
        expect(u.outbox.publishedSeq()).toBe(4);
        // A seq it does not hold says nothing about what this station published.
        u.outbox.markPublished([99], false);
        expect(u.outbox.publishedSeq()).toBe(4);
        // An ack, even one beyond everything, moves neither the published seq nor the allocator.
        u.outbox.ackUpTo(9_007_199_254_740_991);
        expect(u.outbox.publishedSeq()).toBe(4);
        expect(u.outbox.lastSeq()).toBe(5);
        expect(usage(u.outbox, 1)).toEqual([6]);
      });

      if (traits.durable) {
        it('keeps the seq counter, the published seq, the records and their acknowledgement across a reopen', () => {
          const u = fresh();
          expect(u.reopen).toBeTypeOf('function');
          const first = usage(u.outbox, 2);
          u.outbox.ackUpTo(first[0]!);
          const gone = [event(u.outbox, 'schedule_run', 'info'), event(u.outbox, 'schedule_run', 'info')];
          expect(u.outbox.summarise(1)).toMatchObject({ seq_ranges: [[gone[0], gone[1]]] });
          // The newest records are gone; the counter is not.
          let again = u.reopen!();
          expect(again.lastSeq()).toBe(4);
          expect(seqs(again.pending(0, 10))).toEqual([first[1]]);
          expect(again.publishedSeq()).toBe(0);
          again.markPublished([first[1]!], false);
          again = u.reopen!();
          expect(again.publishedSeq()).toBe(first[1]);
          expect(seqs(again.stored(1, 10, 10))).toEqual(first);
          expect(usage(again, 1)).toEqual([5]);
        });
      }
    });

    describe('reading', () => {
      it('lists unacknowledged records in seq order after a seq, at most limit', () => {
        const { outbox } = fresh();
        usage(outbox, 6, 10);
        outbox.ackUpTo(2);
        expect(seqs(outbox.pending(0, 100))).toEqual([3, 4, 5, 6]);
        expect(seqs(outbox.pending(0, 2))).toEqual([3, 4]);
        expect(seqs(outbox.pending(4, 100))).toEqual([5, 6]);
        expect(seqs(outbox.pending(4, 1))).toEqual([5]);
        expect(outbox.pending(6, 100)).toEqual([]);
        expect(outbox.pending(0, 0)).toEqual([]);
        const [r] = outbox.pending(4, 1);
        expect(r).toEqual({ seq: 5, id: expect.stringMatching(ULID), stream: 'usage', type: 'usage', ts: TS, text: expect.any(String) });
        expect(JSON.parse(r!.text)).toEqual({ seq: 5, id: r!.id, pad: 'u'.repeat(10) });
      });

      it('reads stored records by seq range, acknowledged or not, and counts them', () => {
        const { outbox } = fresh();
        usage(outbox, 3, 10);
        event(outbox, 'schedule_run', 'info', 10);
        usage(outbox, 2, 10);
        outbox.ackUpTo(4);
        expect(seqs(outbox.stored(2, 5, 100))).toEqual([2, 3, 4, 5]);
        expect(seqs(outbox.stored(2, 5, 2))).toEqual([2, 3]);
        expect(seqs(outbox.stored(1, 1, 100))).toEqual([1]);
        expect(outbox.stored(4, 4, 1)[0]).toMatchObject({ seq: 4, stream: 'events', type: 'schedule_run' });
        expect(outbox.stored(7, 100, 100)).toEqual([]);
        expect(outbox.stored(5, 2, 100)).toEqual([]);
        expect(outbox.countStored(1, 6)).toBe(6);
        expect(outbox.countStored(2, 4)).toBe(3);
        expect(outbox.countStored(6, 6)).toBe(1);
        expect(outbox.countStored(7, 100)).toBe(0);
        expect(outbox.countStored(5, 2)).toBe(0);
      });

      it('reports depth: unacknowledged count, oldest timestamp (not the first seq\'s) and first seq', () => {
        const { outbox } = fresh();
        expect(outbox.depth()).toEqual({ count: 0, oldest_ts: null, first_seq: null });
        event(outbox, 'agent_start', 'info', 10, '2026-03-01T05:00:00.000Z');
        event(outbox, 'device_fault', 'error', 10, '2026-03-01T02:00:00.000Z');
        event(outbox, 'device_fault', 'error', 10, '2026-03-01T01:00:00.000Z');
        event(outbox, 'agent_stop', 'info', 10, '2026-03-01T09:00:00.000Z');
        expect(outbox.depth()).toEqual({ count: 4, oldest_ts: '2026-03-01T01:00:00.000Z', first_seq: 1 });
        outbox.ackUpTo(1);
        outbox.markPublished([3], true);
        expect(outbox.depth()).toEqual({ count: 2, oldest_ts: '2026-03-01T02:00:00.000Z', first_seq: 2 });
        outbox.ackUpTo(4);
        expect(outbox.depth()).toEqual({ count: 0, oldest_ts: null, first_seq: null });
      });

      it('counts the unacknowledged payload in characters, as SQLite\'s length() does', () => {
        const { outbox } = fresh();
        expect(outbox.bytes()).toBe(0);
        const a = outbox.append('usage', 'usage', TS, (seq, id) => ({ seq, id, topic: 'plain' }));
        const b = outbox.append('events', 'annotation', TS, (seq, id) => ({ seq, id, note: '果树修剪技术' }));
        // One character outside the BMP: one character, though two UTF-16 units.
        const c = outbox.append('events', 'annotation', TS, (seq, id) => ({ seq, id, note: 'ok 👍' }));
        const chars = (p: Record<string, unknown>) => [...JSON.stringify(p)].length;
        expect(outbox.bytes()).toBe(chars(a.payload) + chars(b.payload) + chars(c.payload));
        outbox.ackUpTo(1);
        expect(outbox.bytes()).toBe(chars(b.payload) + chars(c.payload));
        outbox.markPublished([3], true);
        expect(outbox.bytes()).toBe(chars(b.payload));
      });
    });

    describe('delivery', () => {
      it('keeps published records pending until acknowledged; acknowledged ones never come back', () => {
        const { outbox } = fresh();
        usage(outbox, 5);
        outbox.markPublished([1, 2, 3], false);
        expect(outbox.depth().count).toBe(5);
        expect(seqs(outbox.pending(0, 10))).toEqual([1, 2, 3, 4, 5]);
        // county.require_ack false: the broker's PUBACK is all the acknowledgement there is.
        outbox.markPublished([4], true);
        expect(seqs(outbox.pending(0, 10))).toEqual([1, 2, 3, 5]);
        expect(outbox.ackUpTo(3)).toBe(3);
        expect(seqs(outbox.pending(0, 10))).toEqual([5]);
        expect(outbox.depth()).toMatchObject({ count: 1, first_seq: 5 });
        // Still stored: the usage ledger is kept after delivery.
        expect(outbox.countStored(1, 5)).toBe(5);
      });

      it('ignores an empty batch and seqs it does not hold', () => {
        const { outbox } = fresh();
        usage(outbox, 2);
        outbox.markPublished([], true);
        outbox.markPublished([7, 8], true);
        expect(outbox.depth().count).toBe(2);
        expect(outbox.lastSeq()).toBe(2);
      });

      it('acknowledges up to a watermark, counting only what is newly acknowledged', () => {
        const { outbox } = fresh();
        usage(outbox, 6, 10);
        outbox.markPublished([2], true);
        expect(outbox.ackUpTo(0)).toBe(0);
        expect(outbox.ackUpTo(3)).toBe(2);
        expect(outbox.ackUpTo(3)).toBe(0);
        expect(outbox.ackUpTo(2)).toBe(0);
        expect(outbox.ackUpTo(5)).toBe(2);
        // Past the last seq (a county that knows more than this outbox): everything, nothing more.
        expect(outbox.ackUpTo(1_000)).toBe(1);
        expect(outbox.ackUpTo(1_000)).toBe(0);
        expect(outbox.depth().count).toBe(0);
        expect(outbox.lastSeq()).toBe(6);
      });
    });

    describe('summarise', () => {
      it('does nothing under the budget', () => {
        const { outbox } = fresh();
        event(outbox, 'schedule_run', 'info');
        expect(outbox.summarise(outbox.bytes())).toBeNull();
        expect(outbox.depth().count).toBe(1);
      });

      it('never removes usage records, even when they alone exceed the budget', () => {
        const { outbox } = fresh();
        usage(outbox, 50);
        expect(outbox.bytes()).toBeGreaterThan(10_000);
        expect(outbox.summarise(10_000)).toBeNull();
        expect(outbox.depth().count).toBe(50);
      });

      it('removes info before warning before error, oldest first, down to 90 % of the budget', () => {
        const { outbox } = fresh();
        const err = event(outbox, 'device_fault', 'error');
        const warn = event(outbox, 'lamp_warning', 'warning');
        const infos = Array.from({ length: 10 }, (_, i) => event(outbox, 'schedule_run', 'info', 500, `2026-03-01T0${9 - i}:00:00.000Z`));
        usage(outbox, 2);
        const perRecord = outbox.bytes() / 14;
        const budget = Math.floor(perRecord * 9);
        const target = Math.floor(budget * 0.9);
        const before = outbox.bytes();
        const sixth = chars(outbox, infos[5]!);
        const summary = outbox.summarise(budget)!;
        expect(summary).toEqual({
          removed: 6,
          bytes_freed: before - outbox.bytes(),
          outbox_bytes: outbox.bytes(),
          first_seq: infos[0],
          last_seq: infos[5],
          // By time, not by seq: these infos were stamped backwards.
          first_ts: '2026-03-01T04:00:00.000Z',
          last_ts: '2026-03-01T09:00:00.000Z',
          seq_ranges: [[infos[0], infos[5]]],
          by_type: { schedule_run: 6 },
          by_severity: { info: 6 },
        });
        // Hysteresis: down to 90 % of the budget, and not one record further.
        expect(outbox.bytes()).toBeLessThanOrEqual(target);
        expect(outbox.bytes() + sixth).toBeGreaterThan(target);
        expect(seqs(outbox.pending(0, 100))).toEqual([err, warn, ...infos.slice(6), 13, 14]);
        expect(outbox.countStored(infos[0]!, infos[5]!)).toBe(0);
        // Under budget now: nothing more to do.
        expect(outbox.summarise(budget)).toBeNull();

        // Only when the infos are gone do warnings go, then errors; summaries and usage stay.
        const summarySeq = outbox.append('events', 'outbox_summarised', TS, (seq, id) => ({ seq, id, severity: 'warning', pad: 'x'.repeat(500) })).seq;
        const kept = [err, 13, 14, summarySeq].reduce((n, seq) => n + chars(outbox, seq), 0);
        const second = outbox.summarise(Math.ceil(kept / 0.9) + 1)!;
        expect(second.by_severity).toEqual({ info: 4, warning: 1 });
        expect(second.seq_ranges).toEqual([[warn, warn], [infos[6], infos[9]]]);
        expect(seqs(outbox.pending(0, 100))).toEqual([err, 13, 14, summarySeq]);
        expect(outbox.summarise(1)).toMatchObject({ removed: 1, seq_ranges: [[err, err]], by_severity: { error: 1 } });
        // Over budget, but nothing removable is left.
        expect(outbox.summarise(1)).toBeNull();
        expect(seqs(outbox.pending(0, 100))).toEqual([13, 14, summarySeq]);
      });

      it('reports separate seq ranges for removed events between usage records, and leaves acknowledged events alone', () => {
        const { outbox } = fresh();
        const acked = event(outbox, 'schedule_run', 'info');
        outbox.ackUpTo(acked);
        const a = event(outbox, 'schedule_run', 'info');
        const b = event(outbox, 'device_offline', 'info');
        usage(outbox, 1);
        const c = event(outbox, 'schedule_run', 'info');
        const u = usage(outbox, 1);
        const summary = outbox.summarise(1)!;
        expect(summary.seq_ranges).toEqual([[a, b], [c, c]]);
        expect(summary.by_type).toEqual({ schedule_run: 2, device_offline: 1 });
        expect(summary.removed).toBe(3);
        expect(seqs(outbox.stored(1, 100, 100))).toEqual([acked, 4, ...u]);
      });

      it('orders an event without a severity with the errors, and counts it as unknown', () => {
        const { outbox } = fresh();
        const bare = outbox.append('events', 'command', TS, (seq, id) => ({ seq, id, pad: 'c'.repeat(500) })).seq;
        const info = event(outbox, 'schedule_run', 'info');
        expect(outbox.summarise(Math.ceil(chars(outbox, bare) / 0.9) + 1)).toMatchObject({ seq_ranges: [[info, info]], by_severity: { info: 1 } });
        expect(seqs(outbox.pending(0, 10))).toEqual([bare]);
        expect(outbox.summarise(1)).toMatchObject({ seq_ranges: [[bare, bare]], by_severity: { unknown: 1 } });
      });
    });

    describe('editUnacked', () => {
      it('rewrites an unacknowledged record and keeps it queued for delivery', () => {
        const { outbox } = fresh();
        const r = outbox.append('usage', 'usage', TS, (seq, id) => ({ seq, id, annotation: null, duration_s: 600 }));
        outbox.markPublished([r.seq], false);
        const bytes = outbox.bytes();
        expect(bytes).toBe(chars(outbox, r.seq));
        const edited = outbox.editUnacked(r.seq, (p) => ({ ...p, annotation: { topic: '果树修剪技术' } }));
        expect(edited).toEqual({ seq: 1, id: r.id, annotation: { topic: '果树修剪技术' }, duration_s: 600 });
        const [pending] = outbox.pending(0, 10);
        expect(pending).toMatchObject({ seq: r.seq, id: r.id, stream: 'usage', type: 'usage', ts: TS });
        expect(pending!.text).toBe(JSON.stringify(edited));
        expect(outbox.stored(r.seq, r.seq, 1)[0]!.text).toBe(JSON.stringify(edited));
        expect(outbox.bytes()).toBe(bytes - 'null'.length + '{"topic":"果树修剪技术"}'.length);
        expect(outbox.bytes()).toBe(chars(outbox, r.seq));
        expect(outbox.lastSeq()).toBe(1);
      });

      it('returns null for an acknowledged record and leaves it as the county holds it', () => {
        const { outbox } = fresh();
        const r = outbox.append('usage', 'usage', TS, (seq, id) => ({ seq, id, annotation: null }));
        outbox.ackUpTo(r.seq);
        let called = false;
        expect(
          outbox.editUnacked(r.seq, (p) => {
            called = true;
            return { ...p, annotation: { topic: 'late' } };
          }),
        ).toBeNull();
        expect(called).toBe(false);
        expect(outbox.stored(r.seq, r.seq, 1)[0]!.text).toBe(JSON.stringify(r.payload));
        expect(outbox.pending(0, 10)).toEqual([]);
      });

      it('returns null for a seq it does not hold', () => {
        const { outbox } = fresh();
        usage(outbox, 1);
        expect(outbox.editUnacked(2, (p) => p)).toBeNull();
        expect(outbox.editUnacked(0, (p) => p)).toBeNull();
      });
    });

    it('keeps usage and events in one seq space', () => {
      const { outbox } = fresh();
      const streams: Stream[] = ['events', 'usage', 'events', 'usage'];
      const made = streams.map((s) => outbox.append(s, s === 'usage' ? 'usage' : 'agent_start', TS, (seq, id) => ({ seq, id })));
      expect(seqs(made)).toEqual([1, 2, 3, 4]);
      expect(outbox.pending(0, 10).map((r) => r.stream)).toEqual(streams);
    });
  });
}
