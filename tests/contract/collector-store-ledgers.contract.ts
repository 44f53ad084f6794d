/**
 * The collector store's ledgers (county/ledgers.ts, docs/mqtt.md "Ledgers"): a station whose database
 * was replaced starts its seqs again at 1 under a new ledger; its records must be stored and counted,
 * never taken for duplicates of the old database's, the old ones kept, and the acks must switch to the
 * new ledger. Run against every implementation by collector-store.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WriteOutcome } from '../../county/store.js';
import type { StoreUnderTest } from './collector-store.contract.js';
import { eventWrite, type RecordWrite } from './event-writes.js';

export type OpenLedgerStore = () => Promise<{ store: StoreUnderTest; dispose(): Promise<void> }>;

const OLD = '01OLDLEDGER0000000000000AA';
const NEW = '01NEWLEDGER0000000000000BB';
const S = 'village-07';

/** An event of `ledger` (null: none, an agent older than ledgers) with an id unique to ledger and seq. */
const ev = (seq: number, ledger: string | null, id?: string): RecordWrite =>
  eventWrite(S, seq, 'agent_start', undefined, { ledger, id: id ?? `01EV-${ledger ?? 'legacy'}-${seq}` });

export function ledgerContract(name: string, open: OpenLedgerStore): void {
  describe(`collector store contract, ledgers: ${name}`, () => {
    let store: StoreUnderTest;
    const made: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const d of made.splice(0)) await d();
    });
    const fresh = async (): Promise<void> => {
      const u = await open();
      made.push(() => u.dispose());
      store = u.store;
    };
    const outcomes = async (ws: RecordWrite[]): Promise<string[]> =>
      (await store.apply(ws)).map((o: WriteOutcome) => (o.kind === 'record' ? o.outcome : o.kind));
    const row = async () => (await store.station(S))!;

    it('stores a replaced database\'s records after the old ones, keeps the old ones, and acks the new ledger in its own seqs', async () => {
      await fresh();
      expect(await outcomes([ev(1, OLD), ev(2, OLD), ev(3, OLD)])).toEqual(['stored', 'stored', 'stored']);
      expect(await store.claimAcks()).toEqual([{ station_id: S, watermark: 3, ledger: OLD, ledger_base: 0 }]);
      expect((await row()).ledger_changed_at).toBeNull();
      // The PC is re-imaged: a new database, seqs from 1 again, other records.
      expect(await outcomes([ev(1, NEW), ev(2, NEW)])).toEqual(['stored', 'stored']);
      const r = await row();
      expect(r).toMatchObject({ ledger: NEW, ledger_base: 3, watermark: 5, max_seq: 5 });
      expect(r.ledger_changed_at).not.toBeNull();
      expect(await store.countRecords()).toBe(5);
      expect((await store.record(S, 2))!.id).toBe(`01EV-${OLD}-2`);
      expect((await store.record(S, 5))!.id).toBe(`01EV-${NEW}-2`);
      // The ack now names the new ledger: watermark 5 is its seq 2.
      expect(await store.claimAcks()).toEqual([{ station_id: S, watermark: 5, ledger: NEW, ledger_base: 3 }]);
      expect(await store.ackedStations()).toEqual([{ station_id: S, acked_seq: 5, ledger: NEW, ledger_base: 3 }]);
      // Replays of either ledger are duplicates; the old one ended at its seq 3, so a later seq of it
      // (a copy of the old database still running somewhere) is kept aside, never stored over the new one's.
      expect(await outcomes([ev(2, OLD), ev(1, NEW), ev(4, OLD)])).toEqual(['duplicate', 'duplicate', 'quarantined']);
      expect((await store.quarantined(S)).map((q) => q.id)).toEqual([`01EV-${OLD}-4`]);
      expect(await store.countRecords()).toBe(5);
    });

    it('switches the ack to the new ledger at once, and records the old database\'s missing seqs lost', async () => {
      await fresh();
      await outcomes([ev(1, OLD), ev(2, OLD), ev(4, OLD)]);
      expect(await store.claimAcks()).toEqual([{ station_id: S, watermark: 2, ledger: OLD, ledger_base: 0 }]);
      await outcomes([ev(1, NEW)]);
      // Seq 3 of the old database never came: the watermark waits below the new ledger's base (4), but
      // the retained ack is published again naming the new ledger (seq 0: nothing of it acked yet).
      expect(await row()).toMatchObject({ ledger: NEW, ledger_base: 4, watermark: 2, max_seq: 5 });
      expect(await store.claimAcks()).toEqual([{ station_id: S, watermark: 2, ledger: NEW, ledger_base: 4 }]);
      expect(await store.gaps()).toEqual([{ station_id: S, watermark: 2, max_seq: 5, from_seq: 3, to_seq: 3, ledger: NEW, ledger_base: 4 }]);
      expect(await store.apply([{ kind: 'lost', station: S, from_seq: 3, to_seq: 3 }])).toEqual([{ kind: 'lost', count: 1 }]);
      expect(await row()).toMatchObject({ watermark: 5 });
      expect(await store.claimAcks()).toEqual([{ station_id: S, watermark: 5, ledger: NEW, ledger_base: 4 }]);
    });

    it('an upgraded agent (first ledger after records without one) continues the same seqs', async () => {
      await fresh();
      expect(await outcomes([ev(1, null), ev(2, null)])).toEqual(['stored', 'stored']);
      expect(await store.claimAcks()).toEqual([{ station_id: S, watermark: 2, ledger: '', ledger_base: 0 }]);
      // The upgraded agent replays seq 2 (same record, now with its ledger) and goes on with seq 3.
      expect(await outcomes([ev(2, NEW, `01EV-legacy-2`), ev(3, NEW)])).toEqual(['duplicate', 'stored']);
      const r = await row();
      expect(r).toMatchObject({ ledger: NEW, ledger_base: 0, watermark: 3 });
      expect(r.ledger_changed_at).toBeNull();
      expect(await store.claimAcks()).toEqual([{ station_id: S, watermark: 3, ledger: NEW, ledger_base: 0 }]);
    });

    it('a new agent on a re-imaged PC after an old one: a record that conflicts proves another database', async () => {
      await fresh();
      await outcomes([ev(1, null), ev(2, null)]);
      expect(await outcomes([ev(1, NEW), ev(2, NEW)])).toEqual(['stored', 'stored']);
      expect(await row()).toMatchObject({ ledger: NEW, ledger_base: 2, watermark: 4 });
      expect((await row()).ledger_changed_at).not.toBeNull();
      expect(await store.countRecords()).toBe(4);
    });

    it('places a batch that holds both databases\' records (the new base counts the batch\'s old records)', async () => {
      await fresh();
      expect(await outcomes([ev(1, OLD), ev(2, OLD), ev(1, NEW), ev(2, NEW)])).toEqual(['stored', 'stored', 'stored', 'stored']);
      expect(await row()).toMatchObject({ ledger: NEW, ledger_base: 2, watermark: 4, max_seq: 4 });
    });
  });
}
