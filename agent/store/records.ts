/**
 * The durable record ledger: usage records and events, each with one per-station `seq` (persisted in
 * meta, so it never goes back even when rows are pruned) and a globally unique ULID `id`.
 * The outbox is the part not yet covered by the county's ack watermark.
 */
import type Database from 'better-sqlite3';
import { ulid } from 'ulid';
import type { Store } from './store.js';

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

/** A durable record as stored: its wire payload still JSON text. */
export interface RawRecord {
  seq: number;
  stream: Stream;
  text: string;
}

/** Adds `"historical":true` to a stored payload (always a JSON object) without re-serialising it. */
export function markHistorical(text: string): string {
  const body = text.trimEnd();
  return body.endsWith('{}') ? '{"historical":true}' : `${body.slice(0, -1)},"historical":true}`;
}

interface Row {
  seq: number;
  id: string;
  stream: Stream;
  type: string;
  ts: string;
  payload: string;
}

const SEQ_KEY = 'next_seq';

/** What `summariseEvents` removed from the outbox, reported to the county as an `outbox_summarised` event. */
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

/** Ranges listed in a summary: beyond this the tail is merged into one range (the counts stay exact). */
const MAX_SUMMARY_RANGES = 500;

export class RecordLedger {
  private readonly insert: Database.Statement;
  private readonly pendingAfter: Database.Statement<[number, number], Row>;
  private readonly markPub: Database.Statement<[number]>;
  private readonly ackTo: Database.Statement<[number]>;
  private readonly depthQ: Database.Statement<[], { n: number; oldest: string | null; first: number | null }>;
  private readonly bySeq: Database.Statement<[number, number], Row>;
  private readonly ackOne: Database.Statement<[number]>;
  private readonly bytesQ: Database.Statement<[], { b: number | null }>;
  private readonly candidatesQ: Database.Statement<[], { seq: number; type: string; ts: string; bytes: number; severity: string | null }>;
  private readonly deleteOne: Database.Statement<[number]>;

  constructor(private readonly store: Store) {
    const db = store.db;
    this.insert = db.prepare('INSERT INTO records(seq, id, stream, type, ts, payload) VALUES (?, ?, ?, ?, ?, ?)');
    this.pendingAfter = db.prepare(
      'SELECT seq, id, stream, type, ts, payload FROM records WHERE acked = 0 AND seq > ? ORDER BY seq LIMIT ?',
    );
    this.markPub = db.prepare('UPDATE records SET published = 1 WHERE seq = ?');
    this.ackTo = db.prepare('UPDATE records SET acked = 1 WHERE acked = 0 AND seq <= ?');
    this.depthQ = db.prepare('SELECT count(*) AS n, min(ts) AS oldest, min(seq) AS first FROM records WHERE acked = 0');
    this.bySeq = db.prepare('SELECT seq, id, stream, type, ts, payload FROM records WHERE seq >= ? ORDER BY seq LIMIT ?');
    this.ackOne = db.prepare('UPDATE records SET acked = 1 WHERE seq = ?');
    this.bytesQ = db.prepare('SELECT sum(length(payload)) AS b FROM records WHERE acked = 0');
    // Lowest priority first: info before warning before error, oldest first. Usage records and earlier
    // summaries are never candidates: usage is the evidence, and a summary explains the gaps.
    this.candidatesQ = db.prepare(
      `SELECT seq, type, ts, length(payload) AS bytes, json_extract(payload, '$.severity') AS severity
         FROM records
        WHERE acked = 0 AND stream = 'events' AND type <> 'outbox_summarised'
        ORDER BY CASE json_extract(payload, '$.severity') WHEN 'info' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, seq`,
    );
    this.deleteOne = db.prepare('DELETE FROM records WHERE seq = ? AND acked = 0 AND stream = \'events\'');
  }

  /**
   * Appends a record inside the caller's transaction (or its own). `build` receives the allocated seq
   * and id and returns the wire payload, so a usage record and its ledger row commit together.
   * `id` lets a usage record keep the id its session had while open (stationctl shows one id throughout).
   */
  append(
    stream: Stream,
    type: string,
    ts: string,
    build: (seq: number, id: string) => Record<string, unknown>,
    id: string = ulid(),
  ): DurableRecord {
    return this.store.db.transaction(() => {
      const seq = Number(this.store.meta(SEQ_KEY) ?? '1');
      this.store.setMeta(SEQ_KEY, String(seq + 1));
      const payload = build(seq, id);
      this.insert.run(seq, id, stream, type, ts, JSON.stringify(payload));
      return { seq, id, stream, type, ts, payload };
    })();
  }

  /** Unacknowledged records after `afterSeq`, in seq order. */
  pending(afterSeq: number, limit: number): DurableRecord[] {
    return this.pendingAfter.all(afterSeq, limit).map(toRecord);
  }

  /**
   * Like pending(), but with the payload as the stored JSON text: the outbox lane publishes it as it
   * is, instead of parsing and re-serialising every record of a long backlog.
   */
  pendingRaw(afterSeq: number, limit: number): RawRecord[] {
    return this.pendingAfter.all(afterSeq, limit).map((r) => ({ seq: r.seq, stream: r.stream, text: r.payload }));
  }

  /** Records from `fromSeq` on, acknowledged or not (for `sessions.resend`). */
  from(fromSeq: number, limit: number): DurableRecord[] {
    return this.bySeq.all(fromSeq, limit).map(toRecord);
  }

  markPublished(seq: number): void {
    this.markPub.run(seq);
  }

  /** One transaction (one fsync) for a batch of PUBACKs. */
  markPublishedMany(seqs: readonly number[], acked = false): void {
    if (seqs.length === 0) return;
    this.store.db.transaction(() => {
      for (const seq of seqs) {
        this.markPub.run(seq);
        if (acked) this.ackOne.run(seq);
      }
    })();
  }

  /** The county's watermark: every record with seq <= `seq` is stored there. Returns rows newly acked. */
  ackUpTo(seq: number): number {
    return this.ackTo.run(seq).changes;
  }

  /** Marks one record stored (PUBACK with `require_ack: false`). */
  markAcked(seq: number): void {
    this.ackOne.run(seq);
  }

  /**
   * Never let the next seq be `<= seq`. Used when the county acknowledges a seq this ledger never
   * allocated (database restored from a backup or replaced): new records must not reuse numbers the
   * county already stored, or its idempotent (station_id, seq) store would drop them as duplicates.
   * Returns true when the counter moved.
   */
  advanceSeqPast(seq: number): boolean {
    return this.store.db.transaction(() => {
      if (this.nextSeq() > seq) return false;
      this.store.setMeta(SEQ_KEY, String(seq + 1));
      return true;
    })();
  }

  /** Bytes of payload not yet acknowledged (the outbox's share of the disk budget). */
  outboxBytes(): number {
    return this.bytesQ.get()?.b ?? 0;
  }

  /**
   * Keeps the outbox under `maxBytes` by removing unacknowledged events, lowest severity and oldest first,
   * down to 90 % of the budget (hysteresis, so it does not run on every append). Usage records are never
   * removed, even when they alone exceed the budget. Returns what was removed, or null when nothing was.
   */
  summariseEvents(maxBytes: number): OutboxSummary | null {
    return this.store.db.transaction((): OutboxSummary | null => {
      let bytes = this.outboxBytes();
      if (bytes <= maxBytes) return null;
      const target = Math.floor(maxBytes * 0.9);
      const removed: Array<{ seq: number; type: string; ts: string; bytes: number; severity: string | null }> = [];
      for (const c of this.candidatesQ.iterate()) {
        if (bytes <= target) break;
        removed.push(c);
        bytes -= c.bytes;
      }
      if (removed.length === 0) return null;
      for (const r of removed) this.deleteOne.run(r.seq);
      removed.sort((a, b) => a.seq - b.seq);
      const ranges: Array<[number, number]> = [];
      for (const r of removed) {
        const last = ranges[ranges.length - 1];
        if (last && last[1] === r.seq - 1) last[1] = r.seq;
        else ranges.push([r.seq, r.seq]);
      }
      if (ranges.length > MAX_SUMMARY_RANGES) {
        const tail = ranges.splice(MAX_SUMMARY_RANGES - 1);
        ranges.push([tail[0]![0], tail[tail.length - 1]![1]]);
      }
      const count = (key: (r: (typeof removed)[number]) => string): Record<string, number> => {
        const out: Record<string, number> = {};
        for (const r of removed) out[key(r)] = (out[key(r)] ?? 0) + 1;
        return out;
      };
      const byTs = removed.map((r) => r.ts).sort();
      return {
        removed: removed.length,
        bytes_freed: removed.reduce((n, r) => n + r.bytes, 0),
        outbox_bytes: bytes,
        first_seq: removed[0]!.seq,
        last_seq: removed[removed.length - 1]!.seq,
        first_ts: byTs[0]!,
        last_ts: byTs[byTs.length - 1]!,
        seq_ranges: ranges,
        by_type: count((r) => r.type),
        by_severity: count((r) => r.severity ?? 'unknown'),
      };
    })();
  }

  /**
   * Retention: deletes acknowledged events older than `beforeIso`. Usage records are the evidence the
   * county pays on and stay for good (a year of a busy station is well under a megabyte); nothing the
   * county has not acknowledged is ever deleted. Returns the rows removed.
   */
  pruneAckedEvents(beforeIso: string): number {
    return this.store.db.prepare("DELETE FROM records WHERE stream = 'events' AND acked = 1 AND ts < ?").run(beforeIso).changes;
  }

  depth(): { count: number; oldest_ts: string | null; first_seq: number | null } {
    const r = this.depthQ.get()!;
    return { count: r.n, oldest_ts: r.oldest, first_seq: r.first };
  }

  /** The next seq to be allocated (last used + 1). */
  nextSeq(): number {
    return Number(this.store.meta(SEQ_KEY) ?? '1');
  }
}

function toRecord(r: Row): DurableRecord {
  return { seq: r.seq, id: r.id, stream: r.stream, type: r.type, ts: r.ts, payload: JSON.parse(r.payload) as Record<string, unknown> };
}
