/**
 * The usage record of docs/design.md §6: one per closed usage session, published on the county's `usage`
 * topic. This schema is the single source of truth for the wire shape and for docs/mqtt.md.
 */
import { z } from 'zod';

/**
 * Bumped whenever the way sessions are opened, merged, ended or classified changes, so the county can
 * tell records made under different rules apart (the county decides what counts, not the agent).
 */
export const SESSION_RULE_VERSION = 1;

export const END_REASONS = ['devices_off', 'idle', 'agent_stop', 'power_loss', 'device_offline'] as const;
export type EndReason = (typeof END_REASONS)[number];

/** `schedule:<id>` | `manual` | `county` | `unknown`. */
export const TRIGGER_PATTERN = /^(schedule:[a-z0-9][a-z0-9_-]{0,63}|manual|county|unknown)$/;
export const TriggerSchema = z
  .string()
  .regex(TRIGGER_PATTERN, 'must be schedule:<id>, manual, county or unknown')
  .describe('what switched the devices on: schedule:<id>, manual (stationctl), county (MQTT request) or unknown (front panel, remote)');
export type Trigger = 'manual' | 'county' | 'unknown' | `schedule:${string}`;

/** What the administrator records on site (stationctl session note). All fields optional. */
export const AnnotationSchema = z
  .object({
    topic: z.string().trim().min(1).max(200).optional().describe('what the study session was about'),
    attendees: z.number().int().min(0).max(100_000).optional().describe('how many people came'),
    organiser: z.string().trim().min(1).max(100).optional().describe('who organised it'),
    note: z.string().trim().min(1).max(2000).optional().describe('free text'),
  })
  .strict();
export type Annotation = z.infer<typeof AnnotationSchema>;

const IsoTime = z.string().datetime({ offset: false, precision: 3 });

/**
 * The identity of a station's ledger (its database): a random id made when the database is created.
 * A re-imaged PC starts a new ledger whose seqs start again at 1, so the county keeps records apart by
 * (station_id, ledger, seq) and an ack names the ledger it acknowledges (docs/mqtt.md "Ledgers").
 */
export const LedgerIdSchema = z
  .string()
  .regex(/^[0-9A-Za-z]{16,64}$/, '16-64 letters or digits')
  .describe('the identity of the station database that allocated seq (docs/mqtt.md "Ledgers")');

/** 64 lowercase hex digits: a SHA-256 or an HMAC-SHA256. */
export const Hex64Schema = z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits');

/**
 * The evidence fields of a sealed record (docs/evidence.md, protocol/evidence.ts). All three are present
 * on a sealed record and absent on an unsealed one (a station without `evidence` configured, or a record
 * made before sealing began). `seal` and `historical` are left out of what is sealed and hashed: `seal`
 * because it is the seal, `historical` because it is set on replay, after sealing.
 */
export const SEAL_FIELDS = {
  prev: Hex64Schema.optional().describe('SHA-256 (hex) of the previous chain record of this station (RFC 8785 canonical bytes, without historical); 64 zeros for the first'),
  epoch: z.number().int().nonnegative().optional().describe('the epoch whose key sealed this record: floor(unix seconds / evidence.epoch_s), never below the key on disk'),
  seal: Hex64Schema.optional().describe('HMAC-SHA256 (hex) with that epoch\'s key over the canonical record without seal and historical'),
};

const UsageRecordFields = z
  .object({
    v: z.literal(1),
    id: z.string().min(10).describe('globally unique record id (ULID)'),
    seq: z.number().int().positive().describe('per-ledger durable sequence number, shared with events'),
    ledger: LedgerIdSchema,
    station_id: z.string(),
    start: IsoTime.describe('ISO-8601 UTC with milliseconds'),
    end: IsoTime.describe('ISO-8601 UTC with milliseconds; never before start'),
    duration_s: z
      .number()
      .int()
      .nonnegative()
      .describe('measured on the monotonic clock, so a wall-clock jump never stretches or shrinks it'),
    devices: z
      .array(
        z
          .object({
            id: z.string(),
            kind: z.enum(['projector', 'settopbox', 'led_display', 'amplifier']),
            on_s: z.number().int().nonnegative().describe('seconds the device was on or warming during the session'),
          })
          .strict(),
      )
      .describe('every usage device that was on during the session'),
    inputs: z
      .array(
        z
          .object({
            device: z.string(),
            input: z.string(),
            s: z.number().int().nonnegative().describe('seconds this input was selected while the device was on'),
          })
          .strict(),
      )
      .describe('input selections of projectors/displays while on'),
    signal_s: z.number().int().nonnegative().describe('seconds with a verified picture or stream'),
    trigger: TriggerSchema,
    end_reason: z.enum(END_REASONS),
    annotation: AnnotationSchema.nullable().describe('added on site with stationctl session note; null when none'),
    short: z.boolean().describe('true when duration_s < sessions.min_s'),
    rule_version: z.number().int().positive().describe('version of the session rules that produced this record'),
    boot: z.number().int().nonnegative().describe('agent boot counter when the session started'),
    clock: z
      .enum(['synced', 'unsynced', 'corrected'])
      .describe('corrected: the wall clock jumped during the session and start was recomputed from monotonic time'),
    historical: z.boolean().optional().describe('set on replay after a reconnect'),
    ...SEAL_FIELDS,
  })
  .strict();
const endAfterStart = (r: { start: string; end: string }): boolean => Date.parse(r.end) >= Date.parse(r.start);
export const UsageRecordSchema = UsageRecordFields.refine(endAfterStart, { message: 'end before start', path: ['end'] });
export type UsageRecord = z.infer<typeof UsageRecordSchema>;
/**
 * What the county accepts: also a record of an agent older than ledgers, without `ledger` (stored in
 * the station's legacy ledger, docs/mqtt.md "Ledgers").
 */
export const IncomingUsageRecordSchema = UsageRecordFields.extend({ ledger: LedgerIdSchema.optional() }).refine(endAfterStart, {
  message: 'end before start',
  path: ['end'],
});
export type IncomingUsageRecord = z.infer<typeof IncomingUsageRecordSchema>;
