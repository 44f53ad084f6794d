/**
 * One builder of an event record as a collector store write, for the store's contract suites and the
 * migration fixtures (lamp warnings and clears are what the fleet page and its roll-up follow).
 */
import type { CollectorWrite } from '../../county/store.js';
import type { EventRecord, IncomingEventRecord } from '../../protocol/event-record.js';

export type RecordWrite = Extract<CollectorWrite, { kind: 'record' }>;

/** The ledger of the test stations' records unless a test names another. */
export const TEST_LEDGER = '01TESTLEDGER000000000000AA';

export interface EventWriteOptions {
  /** Default TEST_LEDGER; null: none (an agent older than ledgers). */
  ledger?: string | null;
  /** Default `01EVENT-<station>-<seq, 6 digits>`. */
  id?: string;
  /** The event's time; default 2026-11-01T00:00:00.000Z. */
  ts?: string;
  /** When the collector received it; default the event's time. */
  receivedAt?: string;
}

/** A `warning` event of `type` (lamp_warning, lamp_warning_cleared, …) of `device` (none when undefined). */
export function eventWrite(station: string, seq: number, type: EventRecord['type'], device: string | undefined, o: EventWriteOptions = {}): RecordWrite {
  const ts = o.ts ?? '2026-11-01T00:00:00.000Z';
  const record: IncomingEventRecord = {
    v: 1,
    seq,
    ...(o.ledger === null ? {} : { ledger: o.ledger ?? TEST_LEDGER }),
    id: o.id ?? `01EVENT-${station}-${String(seq).padStart(6, '0')}`,
    station_id: station,
    ts,
    clock: 'synced',
    type,
    severity: 'warning',
    ...(device !== undefined ? { device } : {}),
    message: 'lamp',
    boot: 1,
  };
  return { kind: 'record', station, stream: 'events', record, raw: JSON.stringify(record), receivedAt: o.receivedAt ?? ts };
}
