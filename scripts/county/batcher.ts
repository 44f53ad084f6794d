/**
 * Collects incoming messages and hands them to an asynchronous writer in batches: one batch in flight
 * at a time, in arrival order, at most `maxBatch` per batch. A batch is written `flushMs` after its first
 * message, at once when `maxBatch` are waiting, or right after the batch before it when messages queued
 * up meanwhile. `flush()` resolves once everything queued before the call is written; nothing queued is
 * ever dropped, and `stop()` writes the rest. writeBatch is what the collector hands it: validation and
 * one store transaction per batch.
 */
import type { Logger } from '../../agent/log.js';
import type { FleetTopics } from '../../agent/county/topics.js';
import { decode, MalformedError } from './ingest.js';
import type { CollectorStore, CollectorWrite, WriteOutcome } from './store.js';

export interface BatcherOptions<T> {
  flushMs: number;
  maxBatch: number;
  /** Writes one batch. A failed batch is the writer's to count and report: it is not written again. */
  write: (batch: T[]) => Promise<void>;
  /** Called when `write` rejects (the batch counts as done, so flush() and stop() still return). */
  onError: (err: unknown, batch: T[]) => void;
}

export class Batcher<T> {
  private queue: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Items ever pushed and ever handed to `write` (and finished): flush() waits for the latter to catch up. */
  private pushed = 0;
  private written = 0;
  private readonly waiters: Array<{ upTo: number; resolve: () => void }> = [];

  constructor(private readonly o: BatcherOptions<T>) {}

  /** Messages waiting (not yet handed to the writer). */
  get pending(): number {
    return this.queue.length;
  }

  push(item: T): void {
    this.queue.push(item);
    this.pushed++;
    if (this.running) return; // the loop takes it after the batch in flight
    if (this.queue.length >= this.o.maxBatch) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.o.flushMs);
  }

  /** Resolves when every item pushed before this call has been written. */
  flush(): Promise<void> {
    if (this.written >= this.pushed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push({ upTo: this.pushed, resolve }));
    this.kick();
    return done;
  }

  /** Writes everything queued; after it resolves no timer is left. */
  async stop(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.o.maxBatch);
        try {
          await this.o.write(batch);
        } catch (err) {
          this.o.onError(err, batch);
        }
        this.written += batch.length;
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          const w = this.waiters[i]!;
          if (this.written >= w.upTo) {
            this.waiters.splice(i, 1);
            w.resolve();
          }
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}

/** One message as it arrived. */
export interface Incoming {
  topic: string;
  payload: Buffer;
  /** Collector clock, ISO. */
  receivedAt: string;
}

/** The counters of the write path (part of the collector's stats()). */
export interface WriteStats {
  stored: number;
  duplicates: number;
  conflicts: number;
  malformed: number;
  malformed_by_reason: Record<string, number>;
  stale_status: number;
  resend_errors: number;
  lost_marked: number;
  store_errors: number;
  /** Older heartbeats of a station dropped in favour of a newer one in the same write batch. */
  heartbeats_coalesced: number;
}

export const emptyWriteStats = (): WriteStats => ({
  stored: 0,
  duplicates: 0,
  conflicts: 0,
  malformed: 0,
  malformed_by_reason: {},
  stale_status: 0,
  resend_errors: 0,
  lost_marked: 0,
  store_errors: 0,
  heartbeats_coalesced: 0,
});

/**
 * Validates a batch and writes it in one store transaction. Heartbeats are most of the traffic and only
 * the latest per station matters: of several in one batch only the last is validated and written.
 * Malformed messages are counted and logged, never written. If the store refuses the batch nothing of
 * it is acked (the transaction rolled back): the stations keep the records and a later seq makes the
 * hole visible, so they come back through sessions.resend.
 */
export async function writeBatch(store: CollectorStore, fleet: FleetTopics, batch: readonly Incoming[], stats: WriteStats, log: Logger): Promise<void> {
  const topics = batch.map((m) => fleet.parse(m.topic));
  const lastHeartbeat = new Map<string, number>();
  topics.forEach((t, i) => {
    if (t?.kind === 'heartbeat') lastHeartbeat.set(t.station, i);
  });
  const writes: CollectorWrite[] = [];
  batch.forEach((m, i) => {
    const t = topics[i];
    if (t?.kind === 'heartbeat' && lastHeartbeat.get(t.station) !== i) {
      stats.heartbeats_coalesced++;
      return;
    }
    try {
      const d = decode(t, m.payload, m.receivedAt);
      if (d.kind === 'write') writes.push(d.write);
      else if (d.kind === 'resend_refused') {
        stats.resend_errors++;
        log.warn({ station: d.station, error: d.error }, 'station refused sessions.resend (is it in county.allowed_commands?)');
      }
    } catch (err) {
      if (!(err instanceof MalformedError)) throw err;
      stats.malformed++;
      stats.malformed_by_reason[err.reason] = (stats.malformed_by_reason[err.reason] ?? 0) + 1;
      log.warn({ topic: m.topic, reason: err.reason, detail: err.message }, 'malformed payload dropped');
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
      else {
        stats.conflicts++;
        log.error({ station: w.station, seq: w.record.seq }, 'a different record with an already stored (station_id, seq): kept the first one');
      }
    } else if (o.kind === 'status' && !o.applied) stats.stale_status++;
    else if (o.kind === 'lost' && w.kind === 'lost') {
      stats.lost_marked += o.count;
      if (o.count > 0) log.error({ station: w.station, from_seq: w.from_seq, to_seq: w.to_seq, lost: o.count }, 'station no longer holds these records: recorded as lost');
    }
  });
}
