/**
 * One batch of incoming messages into the store: validation (ingest.ts), the resend answers checked
 * against the requests the collector sent (ResendLedger), and one store transaction. Heartbeats are most
 * of the traffic and only the latest per station matters: of several in one batch only the last is
 * validated and written. Malformed messages are counted and logged (rate-limited), never written.
 */
import type { Logger } from './log.js';
import type { FleetTopics, ParsedTopic } from '../protocol/topics.js';
import { decode, MalformedError } from './ingest.js';
import type { ResendLedger } from './gap-watcher.js';
import { LogLimiter } from '../protocol/log-limit.js';
import { PAYLOAD_CAPS } from '../protocol/payloads.js';
import type { CollectorStore, CollectorWrite, ConsoleStore, WriteOutcome } from './store.js';

/**
 * Each store's known device ids per station, read once per station from the store: a station may keep
 * at most PAYLOAD_CAPS.devices (the agent's own MAX_DEVICES), so a state for one more device id is
 * refused instead of adding a row every page has to read. A station's messages are never in two batches
 * at once (Batcher), so its set is never raced within one collector.
 */
const deviceIds = new WeakMap<object, Map<string, Set<string>>>();

async function knownDevices(store: CollectorStore, stations: ReadonlySet<string>): Promise<Map<string, Set<string>> | undefined> {
  const reads = store as CollectorStore & Partial<Pick<ConsoleStore, 'devices'>>;
  if (typeof reads.devices !== 'function') return undefined;
  let known = deviceIds.get(store);
  if (!known) deviceIds.set(store, (known = new Map()));
  for (const station of stations) {
    if (known.has(station)) continue;
    known.set(station, new Set((await reads.devices(station)).map((d) => d.device_id)));
  }
  return known;
}

/** One message as it arrived. */
export interface Incoming {
  topic: string;
  /** The topic taken apart when it arrived (the batcher's key); parsed again when absent. */
  parsed?: ParsedTopic | undefined;
  payload: Buffer;
  /** Collector clock, ISO. */
  receivedAt: string;
}

/** The counters of the write path (part of the collector's stats()). */
export interface WriteStats {
  stored: number;
  duplicates: number;
  conflicts: number;
  /** Records whose seq was too far above their station's watermark (SEQ_WINDOW): kept aside, not stored. */
  quarantined: number;
  malformed: number;
  malformed_by_reason: Record<string, number>;
  stale_status: number;
  /** Resend answers that matched a request of ours; `resend_errors` of them were refusals. */
  resend_answers: number;
  resend_errors: number;
  /** Resend answers for no request of ours (forged, replayed, expired, another collector's): ignored. */
  resend_unknown: number;
  lost_marked: number;
  store_errors: number;
  /** Older heartbeats of a station dropped in favour of a newer one in the same write batch. */
  heartbeats_coalesced: number;
}

export const emptyWriteStats = (): WriteStats => ({
  stored: 0,
  duplicates: 0,
  conflicts: 0,
  quarantined: 0,
  malformed: 0,
  malformed_by_reason: {},
  stale_status: 0,
  resend_answers: 0,
  resend_errors: 0,
  resend_unknown: 0,
  lost_marked: 0,
  store_errors: 0,
  heartbeats_coalesced: 0,
});

export interface WriteContext {
  /** The requests the collector has in flight; without it no resend answer is believed. */
  ledger?: ResendLedger;
  /** Warnings a flood could multiply. Default: a limiter of its own on `log`. */
  limiter?: LogLimiter;
}

/**
 * Validates a batch and writes it in one store transaction. If the store refuses the batch nothing of
 * it is acked (the transaction rolled back): the stations keep the records and a later seq makes the
 * hole visible, so they come back through sessions.resend.
 */
export async function writeBatch(store: CollectorStore, fleet: FleetTopics, batch: readonly Incoming[], stats: WriteStats, log: Logger, ctx: WriteContext = {}): Promise<void> {
  const limiter = ctx.limiter ?? new LogLimiter(log);
  const topics = batch.map((m) => (m.parsed !== undefined ? m.parsed : fleet.parse(m.topic)));
  const lastHeartbeat = new Map<string, number>();
  topics.forEach((t, i) => {
    if (t?.kind === 'heartbeat') lastHeartbeat.set(t.station, i);
  });
  const withStates = new Set<string>();
  for (const t of topics) if (t?.kind === 'device_state') withStates.add(t.station);
  // A failed read only skips the cap for this batch: the states themselves must not be lost with it.
  const devices = withStates.size > 0 ? await knownDevices(store, withStates).catch((err: unknown) => void limiter.warn({ err: (err as Error).message }, 'could not read the stations\' devices')) : undefined;
  const writes: CollectorWrite[] = [];
  batch.forEach((m, i) => {
    const t = topics[i];
    if (t?.kind === 'heartbeat' && lastHeartbeat.get(t.station) !== i) {
      stats.heartbeats_coalesced++;
      return;
    }
    try {
      const d = decode(t, m.payload, m.receivedAt);
      if (d.kind === 'write') {
        const w = d.write;
        if (w.kind === 'device_state' && devices) {
          const ids = devices.get(w.station)!;
          if (!ids.has(w.device)) {
            if (ids.size >= PAYLOAD_CAPS.devices) throw new MalformedError('too_many_devices', `station already has ${ids.size} devices; ${JSON.stringify(w.device.slice(0, 64))} refused`);
            ids.add(w.device);
          }
        }
        if (d.warning) limiter.warn({ station: w.station, reason: d.warning.reason, detail: d.warning.detail.slice(0, 200) }, 'payload accepted with a change');
        writes.push(w);
      } else if (d.kind === 'resend_answer') {
        const asked = d.transaction === null ? undefined : ctx.ledger?.claim(d.station, d.transaction);
        if (!asked) {
          stats.resend_unknown++;
          limiter.warn({ station: d.station, transaction: d.transaction?.slice(0, 80) ?? null }, 'resend answer for no request of ours ignored');
          return;
        }
        stats.resend_answers++;
        if (d.error !== null) {
          stats.resend_errors++;
          log.warn({ station: d.station, error: d.error }, 'station refused sessions.resend (is it in county.allowed_commands?)');
          return;
        }
        if (d.ledger !== (asked.ledger ?? '')) {
          // The station's database changed since we asked: its count says nothing about the seqs asked.
          limiter.warn({ station: d.station, asked: asked.ledger, answered: d.ledger }, 'resend answer for another ledger ignored');
          return;
        }
        // count 0: the station no longer holds these records. Only what was asked for can be marked
        // lost, whatever range the answer names (in the ledger's seqs: county seqs are `base` above).
        const from = Math.max(asked.from_seq, d.from_seq + asked.base);
        const to = Math.min(asked.to_seq, d.to_seq + asked.base);
        if (d.count === 0 && to >= from) writes.push({ kind: 'lost', station: d.station, from_seq: from, to_seq: to });
      }
    } catch (err) {
      if (!(err instanceof MalformedError)) throw err;
      stats.malformed++;
      stats.malformed_by_reason[err.reason] = (stats.malformed_by_reason[err.reason] ?? 0) + 1;
      limiter.warn({ topic: m.topic.slice(0, 200), reason: err.reason, detail: err.message.slice(0, 200) }, 'malformed payload dropped');
    }
  });
  if (writes.length === 0) return;
  let outcomes: WriteOutcome[];
  try {
    outcomes = await store.apply(writes);
  } catch (err) {
    stats.store_errors++;
    log.error({ err: (err as Error).message, messages: batch.length }, 'could not write a batch; it will be recovered through gaps');
    return;
  }
  outcomes.forEach((o, i) => {
    const w = writes[i]!;
    if (o.kind === 'record' && w.kind === 'record') {
      if (o.outcome === 'stored') stats.stored++;
      else if (o.outcome === 'duplicate') stats.duplicates++;
      else if (o.outcome === 'quarantined') {
        stats.quarantined++;
        limiter.warn({ station: w.station, seq: w.record.seq }, 'record seq far above the station watermark: quarantined');
      } else {
        stats.conflicts++;
        limiter.error({ station: w.station, seq: w.record.seq, ledger: w.record.ledger ?? '' }, 'a different record with an already stored (station_id, ledger, seq): kept the first one');
      }
    } else if (o.kind === 'status' && !o.applied) stats.stale_status++;
    else if (o.kind === 'lost' && w.kind === 'lost') {
      stats.lost_marked += o.count;
      if (o.count > 0) log.error({ station: w.station, from_seq: w.from_seq, to_seq: w.to_seq, lost: o.count }, 'station no longer holds these records: recorded as lost');
    }
  });
}
