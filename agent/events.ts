/**
 * Durable events (faults, maintenance alerts, schedule runs, agent lifecycle): one ledger row each,
 * published on the county's `events` topic in seq order.
 */
import { z } from 'zod';
import type { EventBus } from './bus.js';
import type { Clock } from './clock.js';
import type { DurableRecord, Outbox } from './store/outbox.js';
import type { Store } from './store/store.js';

export const EVENT_TYPES = [
  'agent_start',
  'agent_stop',
  'power_loss_recovered',
  'device_fault',
  'device_fault_cleared',
  'device_offline',
  'device_online',
  'lamp_warning',
  'lamp_warning_cleared',
  'filter_warning',
  'filter_warning_cleared',
  'schedule_run',
  'annotation',
  'clock_jump',
  'outbox_summarised',
  'command',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const EventRecordSchema = z
  .object({
    v: z.literal(1),
    seq: z.number().int().positive(),
    id: z.string().min(10),
    station_id: z.string(),
    ts: z.string().describe('ISO-8601 UTC with milliseconds'),
    clock: z.enum(['synced', 'unsynced', 'corrected']),
    type: z.enum(EVENT_TYPES),
    severity: z.enum(['info', 'warning', 'error']),
    device: z.string().optional(),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
    boot: z.number().int().nonnegative(),
    historical: z.boolean().optional().describe('set on replay after a reconnect'),
  })
  .strict();
export type EventRecord = z.infer<typeof EventRecordSchema>;

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
    const record = this.deps.outbox.append('events', event.type, ts, (seq, id) => {
      const payload: EventRecord = {
        v: 1,
        seq,
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
