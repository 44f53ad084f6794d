/**
 * The outbox on SQLite: the `records` table of the station database, written with synchronous=FULL.
 * `seq` is allocated from meta (`next_seq`), so it never goes back even when rows are pruned, and only
 * `append` moves it; `published_seq` in meta is the highest seq the broker took. The rows
 * stay after they are acknowledged (usage records are the ledger the county pays on, kept for good).
 * Built by the Store (`store.outbox`), which owns the connection.
 */
import { ulid } from 'ulid';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { MetaRepository } from './meta.js';
import { lazy, type Db } from './prepared.js';
import { MAX_SEQ, summaryOf, type DurableRecord, type Outbox, type OutboxDepth, type OutboxSummary, type RemovedRecord, type StoredRecord, type Stream } from './outbox.js';

interface Row {
  seq: number;
  id: string;
  stream: Stream;
  type: string;
  ts: string;
  payload: string;
}

const SEQ_KEY = 'next_seq';
/** The ledger's identity, made by migration 4 (agent/store/migrations.ts). */
const LEDGER_KEY = 'ledger';
/** The highest seq the broker took (migration 3 starts it at the highest published or acknowledged record). */
const PUBLISHED_KEY = 'published_seq';

export class SqliteOutbox implements Outbox {
  readonly #db: Db;
  readonly #meta: MetaRepository;
  readonly #insert;
  readonly #pendingAfter;
  readonly #markPub;
  readonly #ackTo;
  readonly #depth;
  readonly #bySeq;
  readonly #count;
  readonly #getOne;
  readonly #editOne;
  readonly #ackOne;
  readonly #bytes;
  readonly #candidates;
  readonly #deleteOne;
  #ledger: string | undefined;

  constructor(db: Db, meta: MetaRepository) {
    this.#db = db;
    this.#meta = meta;
    this.#insert = lazy<[number, string, Stream, string, string, string]>(db, 'INSERT INTO records(seq, id, stream, type, ts, payload) VALUES (?, ?, ?, ?, ?, ?)');
    this.#pendingAfter = lazy<[number, number], Row>(db, 'SELECT seq, id, stream, type, ts, payload FROM records WHERE acked = 0 AND seq > ? ORDER BY seq LIMIT ?');
    this.#markPub = lazy<[number]>(db, 'UPDATE records SET published = 1 WHERE seq = ?');
    this.#ackTo = lazy<[number]>(db, 'UPDATE records SET acked = 1 WHERE acked = 0 AND seq <= ?');
    this.#depth = lazy<[], { n: number; oldest: string | null; first: number | null }>(
      db,
      'SELECT count(*) AS n, min(ts) AS oldest, min(seq) AS first FROM records WHERE acked = 0',
    );
    this.#bySeq = lazy<[number, number, number], Row>(db, 'SELECT seq, id, stream, type, ts, payload FROM records WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?');
    this.#count = lazy<[number, number], { n: number }>(db, 'SELECT count(*) AS n FROM records WHERE seq BETWEEN ? AND ?');
    this.#getOne = lazy<[number], { acked: number; payload: string }>(db, 'SELECT acked, payload FROM records WHERE seq = ?');
    this.#editOne = lazy<[string, number]>(db, 'UPDATE records SET payload = ?, published = 0 WHERE seq = ? AND acked = 0');
    this.#ackOne = lazy<[number]>(db, 'UPDATE records SET acked = 1 WHERE seq = ?');
    this.#bytes = lazy<[], { b: number | null }>(db, 'SELECT sum(length(payload)) AS b FROM records WHERE acked = 0');
    // Lowest priority first: info before warning before error, oldest first. Usage records and earlier
    // summaries are never candidates: usage is the evidence, and a summary explains the gaps.
    this.#candidates = lazy<[], RemovedRecord>(
      db,
      `SELECT seq, type, ts, length(payload) AS bytes, json_extract(payload, '$.severity') AS severity
         FROM records
        WHERE acked = 0 AND stream = 'events' AND type <> 'outbox_summarised'
        ORDER BY CASE json_extract(payload, '$.severity') WHEN 'info' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, seq`,
    );
    this.#deleteOne = lazy<[number]>(db, "DELETE FROM records WHERE seq = ? AND acked = 0 AND stream = 'events'");
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
    build: (seq: number, id: string, ledger: string) => Record<string, unknown>,
    id: string = ulid(),
  ): DurableRecord {
    const ledger = this.ledger();
    return this.#db.transaction(() => {
      const seq = Number(this.#meta.get(SEQ_KEY) ?? '1');
      if (!Number.isSafeInteger(seq) || seq < 1 || seq > MAX_SEQ) {
        throw new AgentError(ErrorCodes.internal, `outbox seq counter ${this.#meta.get(SEQ_KEY)} is not a safe integer; the database was edited or damaged`);
      }
      this.#meta.set(SEQ_KEY, String(seq + 1));
      const payload = build(seq, id, ledger);
      this.#insert().run(seq, id, stream, type, ts, JSON.stringify(payload));
      return { seq, id, stream, type, ts, payload };
    })();
  }

  ledger(): string {
    this.#ledger ??= this.#meta.get(LEDGER_KEY);
    if (this.#ledger === undefined) throw new AgentError(ErrorCodes.internal, 'the station database has no ledger id; it was edited or damaged');
    return this.#ledger;
  }

  pending(afterSeq: number, limit: number): StoredRecord[] {
    return this.#pendingAfter().all(afterSeq, limit).map(toStored);
  }

  stored(fromSeq: number, toSeq: number, limit: number): StoredRecord[] {
    return this.#bySeq().all(fromSeq, toSeq, limit).map(toStored);
  }

  countStored(fromSeq: number, toSeq: number): number {
    return this.#count().get(fromSeq, toSeq)?.n ?? 0;
  }

  /** One transaction (one fsync) for a batch of PUBACKs, the published watermark included. */
  markPublished(seqs: readonly number[], acked: boolean): void {
    if (seqs.length === 0) return;
    this.#db.transaction(() => {
      let highest = this.publishedSeq();
      const before = highest;
      for (const seq of seqs) {
        if (this.#markPub().run(seq).changes > 0) highest = Math.max(highest, seq);
        if (acked) this.#ackOne().run(seq);
      }
      if (highest > before) this.#meta.set(PUBLISHED_KEY, String(highest));
    })();
  }

  publishedSeq(): number {
    return Number(this.#meta.get(PUBLISHED_KEY) ?? '0');
  }

  editUnacked(seq: number, edit: (payload: Record<string, unknown>) => Record<string, unknown>): Record<string, unknown> | null {
    return this.#db.transaction(() => {
      const row = this.#getOne().get(seq);
      if (!row || row.acked !== 0) return null;
      const payload = edit(JSON.parse(row.payload) as Record<string, unknown>);
      this.#editOne().run(JSON.stringify(payload), seq);
      return payload;
    })();
  }

  /** The county's watermark: every record with seq <= `seq` is stored there. Returns rows newly acked. */
  ackUpTo(seq: number): number {
    return this.#ackTo().run(seq).changes;
  }

  bytes(): number {
    return this.#bytes().get()?.b ?? 0;
  }

  /** Down to 90 % of the budget: hysteresis, so it does not run on every append. */
  summarise(maxBytes: number): OutboxSummary | null {
    return this.#db.transaction((): OutboxSummary | null => {
      let bytes = this.bytes();
      if (bytes <= maxBytes) return null;
      const target = Math.floor(maxBytes * 0.9);
      const removed: RemovedRecord[] = [];
      for (const c of this.#candidates().iterate()) {
        if (bytes <= target) break;
        removed.push(c);
        bytes -= c.bytes;
      }
      if (removed.length === 0) return null;
      for (const r of removed) this.#deleteOne().run(r.seq);
      return summaryOf(removed, bytes);
    })();
  }

  depth(): OutboxDepth {
    const r = this.#depth().get()!;
    return { count: r.n, oldest_ts: r.oldest, first_seq: r.first };
  }

  lastSeq(): number {
    return Number(this.#meta.get(SEQ_KEY) ?? '1') - 1;
  }
}

function toStored(r: Row): StoredRecord {
  return { seq: r.seq, id: r.id, stream: r.stream, type: r.type, ts: r.ts, text: r.payload };
}
