/** The ledger's outbox operations the county link relies on, on a real SQLite file. */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteOutbox } from '../../../agent/store/sqlite-outbox.js';
import { Store } from '../../../agent/store/store.js';
import { tempDir } from '../../helpers/temp.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(): { store: Store; ledger: SqliteOutbox; dir: string } {
  const dir = tempDir('ledger-');
  dirs.push(dir);
  const store = Store.open(dir);
  return { store, ledger: new SqliteOutbox(store), dir };
}

const ts = '2026-03-01T00:00:00.000Z';
function usage(ledger: SqliteOutbox, n: number, pad = 500): void {
  for (let i = 0; i < n; i++) ledger.append('usage', 'usage', ts, (seq, id) => ({ seq, id, pad: 'u'.repeat(pad) }));
}
function event(ledger: SqliteOutbox, type: string, severity: string, pad = 500): number {
  return ledger.append('events', type, ts, (seq, id) => ({ seq, id, type, severity, pad: 'e'.repeat(pad) })).seq;
}

describe('SqliteOutbox outbox', () => {
  it('never evicts usage records, even when they alone exceed the budget', () => {
    const { store, ledger } = open();
    usage(ledger, 50);
    expect(ledger.bytes()).toBeGreaterThan(10_000);
    expect(ledger.summarise(10_000)).toBeNull();
    expect(ledger.depth().count).toBe(50);
    store.close();
  });

  it('removes info before warning before error, oldest first, down to 90 % of the budget', () => {
    const { store, ledger } = open();
    const err = event(ledger, 'device_fault', 'error');
    const warn = event(ledger, 'lamp_warning', 'warning');
    const infos = Array.from({ length: 10 }, () => event(ledger, 'schedule_run', 'info'));
    usage(ledger, 2);
    const perRecord = ledger.bytes() / 14;
    const budget = Math.floor(perRecord * 9);
    const summary = ledger.summarise(budget)!;
    expect(summary.by_severity).toEqual({ info: 6 });
    expect(summary.seq_ranges).toEqual([[infos[0], infos[5]]]);
    expect(summary.first_seq).toBe(infos[0]);
    expect(ledger.bytes()).toBeLessThanOrEqual(budget * 0.9);
    const left = ledger.pending(0, 100).map((r) => r.seq);
    expect(left).toContain(err);
    expect(left).toContain(warn);
    // Under budget now: nothing more to do.
    expect(ledger.summarise(budget)).toBeNull();
    // Only when info is gone do warnings go, and the summaries themselves stay.
    ledger.append('events', 'outbox_summarised', ts, (seq, id) => ({ seq, id, severity: 'warning', pad: 'x'.repeat(500) }));
    const second = ledger.summarise(Math.floor(perRecord * 4))!;
    expect(second.by_severity['info']).toBe(4);
    expect(ledger.pending(0, 100).some((r) => r.type === 'outbox_summarised')).toBe(true);
    store.close();
  });

  it('acked records no longer count, and never come back as pending', () => {
    const { store, ledger } = open();
    usage(ledger, 5);
    ledger.markPublished([1, 2, 3], false);
    expect(ledger.depth().count).toBe(5);
    ledger.markPublished([4], true);
    expect(ledger.pending(0, 10).map((r) => r.seq)).toEqual([1, 2, 3, 5]);
    expect(ledger.ackUpTo(3)).toBe(3);
    expect(ledger.pending(0, 10).map((r) => r.seq)).toEqual([5]);
    expect(ledger.depth()).toMatchObject({ count: 1, first_seq: 5 });
    store.close();
  });

  it('advances the seq counter past a seq the county already holds, and never backwards', () => {
    const { store, ledger, dir } = open();
    usage(ledger, 3);
    expect(ledger.advanceSeqPast(2)).toBe(false);
    expect(ledger.advanceSeqPast(100)).toBe(true);
    store.close();
    const again = Store.open(dir);
    const l2 = new SqliteOutbox(again);
    expect(l2.append('usage', 'usage', ts, (seq, id) => ({ seq, id })).seq).toBe(101);
    again.close();
  });
});
