/**
 * The outbox: durable records (usage and events) with one per-station `seq` and a globally unique `id`,
 * kept until the county's ack watermark covers them. An interface, as MQTT.js keeps its in-flight
 * store, so the county link's durable lane sees nothing else of the store, and a second implementation
 * (memory-outbox.ts, for the fleet simulator) passes the same conformance suite
 * (tests/contract/outbox.contract.ts).
 */

export type Stream = 'usage' | 'events';

export interface DurableRecord {
  seq: number;
  id: string;
  stream: Stream;
  type: string;
  ts: string;
  /** The full wire payload (includes seq and id). */
  payload: Record<string, unknown>;
}

/** A durable record as stored: its wire payload still JSON text, published as is. */
export interface StoredRecord {
  seq: number;
  id: string;
  stream: Stream;
  type: string;
  ts: string;
  text: string;
}

export interface OutboxDepth {
  /** Records not yet acknowledged. */
  count: number;
  oldest_ts: string | null;
  first_seq: number | null;
}

/** What `summarise` removed from the outbox, reported to the county as an `outbox_summarised` event. */
export interface OutboxSummary {
  removed: number;
  bytes_freed: number;
  outbox_bytes: number;
  first_seq: number;
  last_seq: number;
  first_ts: string;
  last_ts: string;
  /** Inclusive [from, to] seq ranges removed, so the county can tell these gaps from lost records. */
  seq_ranges: Array<[number, number]>;
  by_type: Record<string, number>;
  by_severity: Record<string, number>;
}

/** A record `summarise` removes: what the summary counts. */
export interface RemovedRecord {
  seq: number;
  type: string;
  ts: string;
  /** Characters of its payload (what `bytes()` counts). */
  bytes: number;
  /** The payload's `severity`, null when it has none. */
  severity: string | null;
}

/** Seqs stay safe integers everywhere (JSON numbers, JavaScript, the county's BIGINT). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** Ranges listed in a summary: beyond this the tail is merged into one range (the counts stay exact). */
export const MAX_SUMMARY_RANGES = 500;

export interface Outbox {
  /**
   * Allocates the next seq and an id (ULID unless given), builds the wire payload with them and stores
   * it, atomically (inside the caller's store transaction when there is one). Seqs never go back and are
   * never reused, even after rows are pruned. Only the outbox moves the allocator (nothing the county
   * sends does), and a seq is always a safe integer: an append that would pass Number.MAX_SAFE_INTEGER throws.
   */
  append(stream: Stream, type: string, ts: string, build: (seq: number, id: string, ledger: string) => Record<string, unknown>, id?: string): DurableRecord;
  /**
   * The identity of this ledger (docs/mqtt.md "Ledgers"), made when it was created and never changed:
   * every payload carries it, and only a county ack that names it is believed.
   */
  ledger(): string;
  /** Unacknowledged records with seq > `afterSeq`, in seq order, at most `limit`. */
  pending(afterSeq: number, limit: number): StoredRecord[];
  /** Stored records with `fromSeq <= seq <= toSeq`, acknowledged or not (`sessions.resend`), at most `limit`. */
  stored(fromSeq: number, toSeq: number, limit: number): StoredRecord[];
  /** How many records are stored with `fromSeq <= seq <= toSeq`. */
  countStored(fromSeq: number, toSeq: number): number;
  /**
   * Records the broker took (PUBACK), in one write; with `acked` (county.require_ack false) they also leave
   * the outbox. Raises `publishedSeq()` to the highest of them it holds, in the same write.
   */
  markPublished(seqs: readonly number[], acked: boolean): void;
  /**
   * The highest seq the broker has ever taken from this outbox (0 before the first PUBACK); it never goes
   * back and survives a reopen. No county ack above it can be true: the county cannot hold a record this
   * station never published, so the durable lane ignores such an ack.
   */
  publishedSeq(): number;
  /** The county's watermark: every record with seq <= `seq` is stored there. Returns the records newly acknowledged. */
  ackUpTo(seq: number): number;
  /**
   * Keeps the unacknowledged payload under `maxBytes` by removing unacknowledged events, lowest
   * severity and oldest first, down to 90 % of the budget. Usage records and earlier summaries are never
   * removed. Returns what was removed, or null when nothing was.
   */
  summarise(maxBytes: number): OutboxSummary | null;
  depth(): OutboxDepth;
  /** Bytes of payload not yet acknowledged (the outbox's share of the disk budget). */
  bytes(): number;
  /** The highest seq allocated so far; 0 before the first append. */
  lastSeq(): number;
  /**
   * Rewrites the payload of a record the county has not acknowledged (a session annotated on site before
   * delivery) and queues it to be published again. Returns the new payload, or null when the record is
   * unknown or already acknowledged (then the county holds it and the change must travel as an event).
   */
  editUnacked(seq: number, edit: (payload: Record<string, unknown>) => Record<string, unknown>): Record<string, unknown> | null;
}

/** The summary of the removed records (any order); `bytesLeft` is the outbox after the removal. Shared by the implementations. */
export function summaryOf(removed: readonly RemovedRecord[], bytesLeft: number): OutboxSummary {
  const bySeq = [...removed].sort((a, b) => a.seq - b.seq);
  const count = (key: (r: RemovedRecord) => string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of bySeq) out[key(r)] = (out[key(r)] ?? 0) + 1;
    return out;
  };
  const byTs = bySeq.map((r) => r.ts).sort();
  return {
    removed: bySeq.length,
    bytes_freed: bySeq.reduce((n, r) => n + r.bytes, 0),
    outbox_bytes: bytesLeft,
    first_seq: bySeq[0]!.seq,
    last_seq: bySeq[bySeq.length - 1]!.seq,
    first_ts: byTs[0]!,
    last_ts: byTs[byTs.length - 1]!,
    seq_ranges: seqRanges(bySeq.map((r) => r.seq)),
    by_type: count((r) => r.type),
    by_severity: count((r) => r.severity ?? 'unknown'),
  };
}

/** The ranges of a sorted list of seqs, merged past `MAX_SUMMARY_RANGES`. Shared by the implementations. */
export function seqRanges(sortedSeqs: readonly number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const seq of sortedSeqs) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === seq - 1) last[1] = seq;
    else ranges.push([seq, seq]);
  }
  if (ranges.length > MAX_SUMMARY_RANGES) {
    const tail = ranges.splice(MAX_SUMMARY_RANGES - 1);
    ranges.push([tail[0]![0], tail[tail.length - 1]![1]]);
  }
  return ranges;
}
