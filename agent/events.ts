/**
 * Durable events (faults, maintenance alerts, schedule runs, agent lifecycle): one ledger row each,
 * published on the county's `events` topic in seq order.
 */
import type { EventRecord, EventType } from '../protocol/event-record.js';
import type { EventBus } from './bus.js';
import type { Clock } from './clock.js';
import type { DurableRecord, Outbox } from './store/outbox.js';
import type { Store } from './store/store.js';

export interface NewEvent {
  type: EventType;
  severity: 'info' | 'warning' | 'error';
  device?: string;
  message: string;
  data?: Record<string, unknown>;
}

export class EventLog {
  constructor(
    private readonly deps: {
      outbox: Outbox;
      bus: EventBus;
      clock: Clock;
      stationId: string;
      boot: () => number;
    },
  ) {}

  append(event: NewEvent): DurableRecord {
    const ts = this.deps.clock.now().toISOString();
    const record = this.deps.outbox.append('events', event.type, ts, (seq, id, ledger) => {
      const payload: EventRecord = {
        v: 1,
        seq,
        ledger,
        id,
        station_id: this.deps.stationId,
        ts,
        clock: this.deps.clock.quality(),
        type: event.type,
        severity: event.severity,
        ...(event.device !== undefined ? { device: event.device } : {}),
        message: event.message,
        ...(event.data !== undefined ? { data: event.data } : {}),
        boot: this.deps.boot(),
      };
      return payload;
    });
    this.deps.bus.emit('record.appended', record);
    return record;
  }
}

/** Events since `since` (ISO time), oldest first, at most `limit` (the newest ones); also on a read-only store. */
export function listEvents(store: Store, since: string | undefined, limit: number): EventRecord[] {
  return store.events
    .newest(since ?? '', limit)
    .map((text) => JSON.parse(text) as EventRecord)
    .reverse();
}
