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

/**
 * Most events one `events.list` reply carries. A reply is built whole in memory and waits in the socket's
 * buffer until the client reads it: 100,000 events in one reply were ~100 MB per client (row 5 of the
 * attack run: 16 clients, 2.8 GB). Pages keep a reply near 250 KB whatever the ledger holds.
 */
export const EVENTS_PAGE = 500;

/** One page of `events.list`: `more` is the args for the next page (merge them into the request), null at the end. */
export interface EventsPage {
  events: EventRecord[];
  more: { after: number; limit: number } | null;
}

/**
 * The newest `limit` events since `since`, oldest first, one page at a time. The first page (no `after`)
 * finds where the newest `limit` start; each next page continues after the last seq sent, `limit` then
 * counting what is still owed. Also on a read-only store (stationctl with the daemon down).
 */
export function listEventsPage(store: Store, args: { since?: string | undefined; limit: number; after?: number | undefined }, pageSize = EVENTS_PAGE): EventsPage {
  const since = args.since ?? '';
  const after = args.after ?? (store.events.nthNewestSeq(since, args.limit) ?? 0) - 1;
  const take = Math.min(args.limit, pageSize);
  // One row more than the page tells whether anything follows without counting the ledger.
  const rows = store.events.page(since, after, take + 1);
  const page = rows.slice(0, take);
  const last = page.at(-1);
  const more = rows.length > take && args.limit > take && last ? { after: last.seq, limit: args.limit - take } : null;
  return { events: page.map((r) => JSON.parse(r.payload) as EventRecord), more };
}
