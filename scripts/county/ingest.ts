/**
 * Turns one MQTT message into a store write. Everything from the wire is validated with the contract's
 * own zod schemas; anything that does not fit is counted and reported, never thrown past this file, so
 * one broken station cannot stop the county's collector.
 */
import { z } from 'zod';
import { DeviceStatePayloadSchema, HeartbeatSchema, InventorySchema, ResponseSchema, StatusSchema } from '../../agent/county/payloads.js';
import { EventRecordSchema } from '../../agent/events.js';
import { UsageRecordSchema } from '../../agent/sessions/record.js';
import type { CollectorStore, StoreOutcome } from './store.js';

export const MAX_PAYLOAD_BYTES = 256 * 1024;

export type Parsed =
  | { kind: 'status' | 'inventory' | 'heartbeat' | 'usage' | 'events'; station: string }
  | { kind: 'device_state'; station: string; device: string }
  | { kind: 'response'; station: string; action: string }
  | { kind: 'other'; station: string };

/** Splits `<prefix>/<station>/<rest>`; undefined for topics outside the prefix. */
export function parseTopic(prefix: string, topic: string): Parsed | undefined {
  if (!topic.startsWith(`${prefix}/`)) return undefined;
  const parts = topic.slice(prefix.length + 1).split('/');
  const station = parts[0];
  if (!station) return undefined;
  const rest = parts.slice(1);
  if (rest.length === 1) {
    const k = rest[0];
    if (k === 'status' || k === 'inventory' || k === 'heartbeat' || k === 'usage' || k === 'events') return { kind: k, station };
  }
  if (rest.length === 3 && rest[0] === 'devices' && rest[2] === 'state' && rest[1]) return { kind: 'device_state', station, device: rest[1] };
  if (rest.length === 2 && rest[0] === 'response' && rest[1]) return { kind: 'response', station, action: rest[1] };
  return { kind: 'other', station };
}

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

function sameStation(topicStation: string, payloadStation: string): void {
  // A station publishing under another's topic (misconfiguration, or an ACL hole) must not mix ledgers.
  if (topicStation !== payloadStation) {
    throw new MalformedError('station_mismatch', `payload station_id ${JSON.stringify(payloadStation)} on the topic of ${JSON.stringify(topicStation)}`);
  }
}

/** `sessions.resend` answers: `data` is what the agent's resendFrom returns. */
const ResendResultSchema = z.object({ from_seq: z.number().int(), to_seq: z.number().int(), count: z.number().int().nonnegative() }).loose();

export type IngestResult =
  | { kind: 'record'; station: string; seq: number; outcome: StoreOutcome }
  | { kind: 'status'; station: string; applied: boolean }
  | { kind: 'state'; station: string }
  | { kind: 'resend_result'; station: string; ok: true; from_seq: number; to_seq: number; count: number }
  | { kind: 'resend_result'; station: string; ok: false; error: string }
  | { kind: 'ignored'; station: string | null };

/**
 * Validates and stores one message. Throws MalformedError for anything the contract does not allow;
 * store errors (disk, lock) propagate, since those are the collector's problem, not the station's.
 */
export function ingest(store: CollectorStore, prefix: string, topic: string, payload: Buffer, receivedAt: string): IngestResult {
  const t = parseTopic(prefix, topic);
  if (!t || t.kind === 'other') return { kind: 'ignored', station: t?.station ?? null };
  // An empty retained message is how a topic is cleared; not a payload.
  if (payload.length === 0) return { kind: 'ignored', station: t.station };
  if (payload.length > MAX_PAYLOAD_BYTES) throw new MalformedError('too_large', `${payload.length} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new MalformedError('not_json', (err as Error).message);
  }
  switch (t.kind) {
    case 'status': {
      const s = parse(StatusSchema, value, 'status');
      sameStation(t.station, s.station_id);
      return { kind: 'status', station: t.station, applied: store.putStatus(t.station, s, receivedAt) };
    }
    case 'inventory': {
      const inv = parse(InventorySchema, value, 'inventory');
      sameStation(t.station, inv.station.id);
      store.putInventory(t.station, inv, receivedAt);
      return { kind: 'state', station: t.station };
    }
    case 'heartbeat': {
      store.putHeartbeat(t.station, parse(HeartbeatSchema, value, 'heartbeat'), receivedAt);
      return { kind: 'state', station: t.station };
    }
    case 'device_state': {
      const st = parse(DeviceStatePayloadSchema, value, 'device_state');
      if (st.id !== t.device) throw new MalformedError('device_mismatch', `state of ${JSON.stringify(st.id)} on the topic of ${JSON.stringify(t.device)}`);
      store.putDeviceState(t.station, t.device, st, receivedAt);
      return { kind: 'state', station: t.station };
    }
    case 'usage': {
      const u = parse(UsageRecordSchema, value, 'usage');
      sameStation(t.station, u.station_id);
      return { kind: 'record', station: t.station, seq: u.seq, outcome: store.putRecord(t.station, 'usage', u, JSON.stringify(u), receivedAt) };
    }
    case 'events': {
      const e = parse(EventRecordSchema, value, 'event');
      sameStation(t.station, e.station_id);
      return { kind: 'record', station: t.station, seq: e.seq, outcome: store.putRecord(t.station, 'events', e, JSON.stringify(e), receivedAt) };
    }
    case 'response': {
      if (t.action !== 'sessions.resend') return { kind: 'ignored', station: t.station };
      const r = parse(ResponseSchema, value, 'response');
      if (r.status === 'error') return { kind: 'resend_result', station: t.station, ok: false, error: `${r.error?.code ?? 'error'}: ${r.error?.message ?? ''}` };
      const d = parse(ResendResultSchema, r.data, 'response');
      return { kind: 'resend_result', station: t.station, ok: true, from_seq: d.from_seq, to_seq: d.to_seq, count: d.count };
    }
  }
}
