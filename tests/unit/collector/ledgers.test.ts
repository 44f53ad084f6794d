/**
 * The ledger placement rules (county/ledgers.ts) as pure logic: what a flood of ledger ids costs, and
 * the ack each station gets. The stores' behaviour is proven by tests/contract/collector-store-ledgers.
 */
import { describe, expect, it } from 'vitest';
import { ackOf, adoptionProbe, LEGACY_LEDGER, MAX_LEDGERS, place, type StationLedgers } from '../../../county/ledgers.js';

const id = (n: number): string => `01LEDGER${String(n).padStart(18, '0')}`;

describe('ledgers', () => {
  it('bounds the ledgers one station can make: beyond MAX_LEDGERS a new one is quarantined, not stored', () => {
    const st: StationLedgers = { current: null, rows: new Map() };
    let max = 0;
    for (let n = 0; n < MAX_LEDGERS; n++) {
      const p = place(st, id(n), 1, `rec-${n}`, max, () => undefined);
      expect(p.superseded).toBe(false);
      expect(p.seq).toBe(max + 1);
      max = p.seq;
    }
    expect(st.rows.size).toBe(MAX_LEDGERS);
    const over = place(st, id(MAX_LEDGERS), 1, 'rec-over', max, () => undefined);
    expect(over).toMatchObject({ superseded: true });
    expect(over.change).toBeUndefined();
    expect(st.rows.size).toBe(MAX_LEDGERS);
    // Every ledger but the last ended where the next began.
    expect([...st.rows.values()].filter((r) => r.end_seq === null).map((r) => r.ledger)).toEqual([id(MAX_LEDGERS - 1)]);
  });

  it('asks for the stored record only between the legacy ledger and a named one', () => {
    const st: StationLedgers = { current: null, rows: new Map() };
    expect(adoptionProbe(st, id(1), 5)).toBeUndefined();
    place(st, LEGACY_LEDGER, 1, 'a', 0, () => undefined);
    expect(adoptionProbe(st, id(1), 5)).toBe(5);
    place(st, id(1), 2, 'b', 1, () => undefined);
    expect(st.current).toBe(id(1));
    expect(adoptionProbe(st, id(2), 5)).toBeUndefined();
  });

  it('acks the current ledger in its own seqs, never below 0, and a legacy station without a ledger', () => {
    expect(ackOf(10, id(1), 4)).toEqual({ seq: 6, ledger: id(1) });
    expect(ackOf(3, id(1), 4)).toEqual({ seq: 0, ledger: id(1) });
    expect(ackOf(10, LEGACY_LEDGER, 0)).toEqual({ seq: 10 });
    expect(ackOf(10, null, 0)).toEqual({ seq: 10 });
  });
});
