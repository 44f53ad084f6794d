/**
 * A durable event as a station publishes it on its `events` topic (docs/mqtt.md): faults, maintenance
 * alerts, schedule runs, the agent's starts and stops. The county stores it by (station_id, ledger, seq).
 */
import { z } from 'zod';
import { AnnotationSchema, LedgerIdSchema } from './usage-record.js';

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
    ledger: LedgerIdSchema,
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
/** What the county accepts: also an event of an agent older than ledgers, without `ledger`. */
export const IncomingEventRecordSchema = EventRecordSchema.extend({ ledger: LedgerIdSchema.optional() });
export type IncomingEventRecord = z.infer<typeof IncomingEventRecordSchema>;

/**
 * The `data` of an `annotation` event: a note typed on site (stationctl session note) after the county
 * acknowledged the session's usage record, which is evidence and no longer edited. `annotation` is the
 * session's whole note as it now stands (not only the fields changed), so the latest one (by seq) is the
 * note; the county joins it to the session by `session_id`, the usage record's `id`.
 */
export const AnnotationEventDataSchema = z
  .object({
    session_id: z.string().min(10).max(64).describe("the usage record's id"),
    seq: z.number().int().positive().describe("the usage record's seq (in the same ledger)"),
    annotation: AnnotationSchema,
  })
  .strict();
export type AnnotationEventData = z.infer<typeof AnnotationEventDataSchema>;
