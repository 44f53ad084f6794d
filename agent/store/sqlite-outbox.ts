/**
 * The outbox on SQLite: the `records` table of the station database, written with synchronous=FULL.
 * `seq` is allocated from meta (`next_seq`), so it never goes back even when rows are pruned; the rows
 * stay after they are acknowledged (usage records are the ledger the county pays on, kept for good).
 */
import type Database from 'better-sqlite3';
import { ulid } from 'ulid';
import type { Store } from './store.js';
import { seqRanges, type DurableRecord, type Outbox, type OutboxDepth, type OutboxSummary, type StoredRecord, type Stream } from './outbox.js';

interface Row {
  seq: number;
  id: string;
  stream: Stream;
  type: string;
  ts: string;
  payload: string;
}

const SEQ_KEY = 'next_seq';

export class SqliteOutbox implements Outbox {
  private readonly insert: Database.Statement;
  private readonly pendingAfter: Database.Statement<[number, number], Row>;
  private readonly markPub: Database.Statement<[number]>;
  private readonly ackTo: Database.Statement<[number]>;
  private readonly depthQ: Database.Statement<[], { n: number; oldest: string | null; first: number | null }>;
  private readonly bySeq: Database.Statement<[number, number, number], Row>;
  private readonly countQ: Database.Statement<[number, number], { n: number }>;
  private readonly getOne: Database.Statement<[number], { acked: number; payload: string }>;
  private readonly editOne: Database.Statement<[string, number]>;
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
    this.bySeq = db.prepare('SELECT seq, id, stream, type, ts, payload FROM records WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?');
    this.countQ = db.prepare('SELECT count(*) AS n FROM records WHERE seq BETWEEN ? AND ?');
    this.getOne = db.prepare('SELECT acked, payload FROM records WHERE seq = ?');
    this.editOne = db.prepare('UPDATE records SET payload = ?, published = 0 WHERE seq = ? AND acked = 0');
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

  pending(afterSeq: number, limit: number): StoredRecord[] {
    return this.pendingAfter.all(afterSeq, limit).map(toStored);
  }

  stored(fromSeq: number, toSeq: number, limit: number): StoredRecord[] {
    return this.bySeq.all(fromSeq, toSeq, limit).map(toStored);
  }

  countStored(fromSeq: number, toSeq: number): number {
    return this.countQ.get(fromSeq, toSeq)?.n ?? 0;
  }

  /** One transaction (one fsync) for a batch of PUBACKs. */
  markPublished(seqs: readonly number[], acked: boolean): void {
    if (seqs.length === 0) return;
    this.store.db.transaction(() => {
      for (const seq of seqs) {
        this.markPub.run(seq);
        if (acked) this.ackOne.run(seq);
      }
    })();
  }

  editUnacked(seq: number, edit: (payload: Record<string, unknown>) => Record<string, unknown>): Record<string, unknown> | null {
    return this.store.db.transaction(() => {
      const row = this.getOne.get(seq);
      if (!row || row.acked !== 0) return null;
      const payload = edit(JSON.parse(row.payload) as Record<string, unknown>);
      this.editOne.run(JSON.stringify(payload), seq);
      return payload;
    })();
  }

  /** The county's watermark: every record with seq <= `seq` is stored there. Returns rows newly acked. */
  ackUpTo(seq: number): number {
    return this.ackTo.run(seq).changes;
  }

  /**
   * Never let the next seq be `<= seq`. Used when the county acknowledges a seq this ledger never
   * allocated (database restored from a backup or replaced): new records must not reuse numbers the
   * county already stored, or its idempotent (station_id, seq) store would drop them as duplicates.
   * Returns true when the counter moved.
   */
  advanceSeqPast(seq: number): boolean {
    return this.store.db.transaction(() => {
      if (this.lastSeq() >= seq) return false;
      this.store.setMeta(SEQ_KEY, String(seq + 1));
      return true;
    })();
  }

  bytes(): number {
    return this.bytesQ.get()?.b ?? 0;
  }

  /** Down to 90 % of the budget: hysteresis, so it does not run on every append. */
  summarise(maxBytes: number): OutboxSummary | null {
    return this.store.db.transaction((): OutboxSummary | null => {
      let bytes = this.bytes();
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
      const ranges = seqRanges(removed.map((r) => r.seq));
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

  depth(): OutboxDepth {
    const r = this.depthQ.get()!;
    return { count: r.n, oldest_ts: r.oldest, first_seq: r.first };
  }

  lastSeq(): number {
    return Number(this.store.meta(SEQ_KEY) ?? '1') - 1;
  }
}

function toStored(r: Row): StoredRecord {
  return { seq: r.seq, id: r.id, stream: r.stream, type: r.type, ts: r.ts, text: r.payload };
}
