/**
 * Turns one MQTT message into a store write. Everything from the wire is validated with the contract's
 * own zod schemas; anything that does not fit throws MalformedError, which the collector counts and
 * logs, so one broken station cannot stop the county's collector. Pure: no store, no clock of its own.
 */
import { z } from 'zod';
import { DeviceStatePayloadSchema, HeartbeatSchema, InventorySchema, ResponseSchema, StatusSchema } from '../protocol/payloads.js';
import type { ParsedTopic } from '../protocol/topics.js';
import { isTimeZone } from '../protocol/time-zone.js';
import { IncomingEventRecordSchema } from '../protocol/event-record.js';
import { IncomingUsageRecordSchema, LedgerIdSchema } from '../protocol/usage-record.js';
import type { CollectorWrite } from './store.js';
import { DEFAULT_TIMEZONE } from './report.js';

export const MAX_PAYLOAD_BYTES = 256 * 1024;

export class MalformedError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function issues(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new MalformedError(`invalid_${what}`, issues(r.error));
  return r.data;
}

/** The record schemas take any `int()`; the collector's own bound is explicit (see Seq). */
function safeSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new MalformedError('unsafe_seq', `seq ${seq} is not a safe positive integer`);
}

function sameStation(topicStation: string, payloadStation: string): void {
  // A station publishing under another's topic (misconfiguration, or an ACL hole) must not mix ledgers.
  if (topicStation !== payloadStation) {
    throw new MalformedError('station_mismatch', `payload station_id ${JSON.stringify(payloadStation)} on the topic of ${JSON.stringify(topicStation)}`);
  }
}

/**
 * A seq as the collector accepts it: a safe integer (zod 4's `int()` refuses anything beyond 2^53 − 1,
 * which JSON.parse would have rounded), so seq arithmetic (watermark + 1, ranges) stays exact.
 */
const Seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** `sessions.resend` answers: `data` is what the agent's resendFrom returns. */
const ResendResultSchema = z.object({ from_seq: Seq, to_seq: Seq, count: z.number().int().nonnegative(), ledger: LedgerIdSchema.optional() }).loose();

/** Something accepted but changed on the way in: the collector logs it (rate-limited). */
export interface IngestWarning {
  reason: 'unknown_timezone';
  detail: string;
}

export type Decoded =
  | { kind: 'write'; write: CollectorWrite; warning?: IngestWarning }
  /**
   * A `sessions.resend` answer, to be believed only for a transaction the collector sent (ResendLedger).
   * `error` when the station refused (not in its county.allowed_commands, a bad signature…).
   */
  | { kind: 'resend_answer'; station: string; transaction: string | null; error: string | null; from_seq: number; to_seq: number; count: number; ledger: string | null }
  | { kind: 'ignored'; station: string | null };

/**
 * Validates one message of a topic already taken apart (FleetTopics.parse; undefined when outside the
 * prefix). Throws MalformedError for anything the contract does not allow.
 */
export function decode(t: ParsedTopic | undefined, payload: Buffer, receivedAt: string): Decoded {
  if (!t) return { kind: 'ignored', station: null };
  const station = t.station;
  if (t.kind === 'other' || t.kind === 'ack' || t.kind === 'request') return { kind: 'ignored', station };
  if (t.kind === 'response' && t.action !== 'sessions.resend') return { kind: 'ignored', station };
  // An empty retained message is how a topic is cleared; not a payload.
  if (payload.length === 0) return { kind: 'ignored', station };
  if (payload.length > MAX_PAYLOAD_BYTES) throw new MalformedError('too_large', `${payload.length} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new MalformedError('not_json', (err as Error).message);
  }
  const write = (w: CollectorWrite): Decoded => ({ kind: 'write', write: w });
  switch (t.kind) {
    case 'status': {
      const status = parse(StatusSchema, value, 'status');
      sameStation(station, status.station_id);
      return write({ kind: 'status', station, status, receivedAt });
    }
    case 'inventory': {
      const inventory = parse(InventorySchema, value, 'inventory');
      sameStation(station, inventory.station.id);
      const claimed = inventory.station.timezone;
      if (isTimeZone(claimed)) return write({ kind: 'inventory', station, inventory, receivedAt });
      // A zone this runtime cannot use would make every monthly report and page that reads it throw:
      // the station is counted in the county's own zone, and its document keeps what it claimed so the
      // station page can say so.
      const fixed = { ...inventory, station: { ...inventory.station, timezone: DEFAULT_TIMEZONE, timezone_claimed: claimed } };
      return {
        kind: 'write',
        write: { kind: 'inventory', station, inventory: fixed, receivedAt },
        warning: { reason: 'unknown_timezone', detail: `time zone ${JSON.stringify(claimed)} unknown; counted in ${DEFAULT_TIMEZONE}` },
      };
    }
    case 'heartbeat':
      return write({ kind: 'heartbeat', station, heartbeat: parse(HeartbeatSchema, value, 'heartbeat'), receivedAt });
    case 'device_state': {
      const state = parse(DeviceStatePayloadSchema, value, 'device_state');
      if (state.id !== t.device) throw new MalformedError('device_mismatch', `state of ${JSON.stringify(state.id)} on the topic of ${JSON.stringify(t.device)}`);
      return write({ kind: 'device_state', station, device: t.device, state, receivedAt });
    }
    case 'usage': {
      const record = parse(IncomingUsageRecordSchema, value, 'usage');
      sameStation(station, record.station_id);
      safeSeq(record.seq);
      return write({ kind: 'record', station, stream: 'usage', record, raw: JSON.stringify(record), receivedAt });
    }
    case 'events': {
      const record = parse(IncomingEventRecordSchema, value, 'event');
      sameStation(station, record.station_id);
      safeSeq(record.seq);
      return write({ kind: 'record', station, stream: 'events', record, raw: JSON.stringify(record), receivedAt });
    }
    case 'response': {
      const r = parse(ResponseSchema, value, 'response');
      const transaction = typeof r.transaction === 'string' ? r.transaction : null;
      if (r.status === 'error') {
        return { kind: 'resend_answer', station, transaction, error: `${r.error?.code ?? 'error'}: ${r.error?.message ?? ''}`, from_seq: 0, to_seq: 0, count: 0, ledger: null };
      }
      const d = parse(ResendResultSchema, r.data, 'response');
      // An agent older than ledgers names none: its seqs are the legacy ledger's ('').
      return { kind: 'resend_answer', station, transaction, error: null, from_seq: d.from_seq, to_seq: d.to_seq, count: d.count, ledger: d.ledger ?? '' };
    }
  }
}
