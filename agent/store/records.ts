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

interface Row {
  seq: number;
  id: string;
  stream: Stream;
  type: string;
  ts: string;
  payload: string;
}

const SEQ_KEY = 'next_seq';

export class RecordLedger {
  private readonly insert: Database.Statement;
  private readonly pendingAfter: Database.Statement<[number, number], Row>;
  private readonly markPub: Database.Statement<[number]>;
  private readonly ackTo: Database.Statement<[number]>;
  private readonly depthQ: Database.Statement<[], { n: number; oldest: string | null; first: number | null }>;
  private readonly bySeq: Database.Statement<[number, number], Row>;

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
  }

  /**
   * Appends a record inside the caller's transaction (or its own). `build` receives the allocated seq
   * and id and returns the wire payload, so a usage record and its ledger row commit together.
   */
  append(stream: Stream, type: string, ts: string, build: (seq: number, id: string) => Record<string, unknown>): DurableRecord {
    return this.store.db.transaction(() => {
      const seq = Number(this.store.meta(SEQ_KEY) ?? '1');
      this.store.setMeta(SEQ_KEY, String(seq + 1));
      const id = ulid();
      const payload = build(seq, id);
      this.insert.run(seq, id, stream, type, ts, JSON.stringify(payload));
      return { seq, id, stream, type, ts, payload };
    })();
  }

  /** Unacknowledged records after `afterSeq`, in seq order. */
  pending(afterSeq: number, limit: number): DurableRecord[] {
    return this.pendingAfter.all(afterSeq, limit).map(toRecord);
  }

  /** Records from `fromSeq` on, acknowledged or not (for `sessions.resend`). */
  from(fromSeq: number, limit: number): DurableRecord[] {
    return this.bySeq.all(fromSeq, limit).map(toRecord);
  }

  markPublished(seq: number): void {
    this.markPub.run(seq);
  }

  /** The county's watermark: every record with seq <= `seq` is stored there. Returns rows newly acked. */
  ackUpTo(seq: number): number {
    return this.ackTo.run(seq).changes;
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
