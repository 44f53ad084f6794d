/**
 * The outbox in memory, with the semantics of SqliteOutbox (the same conformance suite,
 * tests/contract/outbox.contract.ts, runs against both): for the fleet simulator, whose thousands of
 * stations need an outbox each but no disk. Nothing survives the process.
 */
import { ulid } from 'ulid';
import { MAX_SEQ, summaryOf, type DurableRecord, type Outbox, type OutboxDepth, type OutboxSummary, type RemovedRecord, type StoredRecord, type Stream } from './outbox.js';

interface Entry {
  record: StoredRecord;
  /** Characters of the payload, as SQLite's length() counts them (code points). */
  chars: number;
  published: boolean;
  acked: boolean;
}

export class MemoryOutbox implements Outbox {
  /** Every stored record by seq; seqs only grow, so insertion order is seq order. */
  readonly #records = new Map<number, Entry>();
  /** The unacknowledged part, also in seq order. */
  readonly #unacked = new Map<number, Entry>();
  readonly #ids = new Set<string>();
  #nextSeq = 1;
  #published = 0;
  #bytes = 0;
  /** A new ledger per outbox, as a new station database gets (ULID: 26 letters and digits), unless given. */
  readonly #ledger: string;

  constructor(ledger: string = ulid()) {
    this.#ledger = ledger;
  }

  ledger(): string {
    return this.#ledger;
  }

  append(
    stream: Stream,
    type: string,
    ts: string,
    build: (seq: number, id: string, ledger: string) => Record<string, unknown>,
    id: string = ulid(),
  ): DurableRecord {
    // Like the SQLite transaction: a duplicate id or a failing build allocates nothing.
    if (this.#ids.has(id)) throw new Error(`outbox: a record with id ${id} is already stored`);
    const seq = this.#nextSeq;
    if (seq > MAX_SEQ) throw new Error(`outbox seq counter ${seq} is past Number.MAX_SAFE_INTEGER`);
    const payload = build(seq, id, this.#ledger);
    const text = JSON.stringify(payload);
    const entry: Entry = { record: { seq, id, stream, type, ts, text }, chars: codePoints(text), published: false, acked: false };
    this.#nextSeq = seq + 1;
    this.#ids.add(id);
    this.#records.set(seq, entry);
    this.#unacked.set(seq, entry);
    this.#bytes += entry.chars;
    return { seq, id, stream, type, ts, payload };
  }

  pending(afterSeq: number, limit: number): StoredRecord[] {
    return take(this.#unacked.values(), (e) => e.record.seq > afterSeq, limit);
  }

  stored(fromSeq: number, toSeq: number, limit: number): StoredRecord[] {
    const from = Math.max(1, Math.ceil(fromSeq));
    const to = Math.min(this.lastSeq(), Math.floor(toSeq));
    // A short range (one record, a resend) is looked up seq by seq instead of walking every record kept.
    if (to - from < this.#records.size) {
      const max = limit < 0 ? Infinity : limit;
      const out: StoredRecord[] = [];
      for (let seq = from; seq <= to && out.length < max; seq++) {
        const e = this.#records.get(seq);
        if (e) out.push({ ...e.record });
      }
      return out;
    }
    return take(this.#records.values(), (e) => e.record.seq >= fromSeq && e.record.seq <= toSeq, limit);
  }

  countStored(fromSeq: number, toSeq: number): number {
    let n = 0;
    for (const seq of this.#records.keys()) if (seq >= fromSeq && seq <= toSeq) n++;
    return n;
  }

  markPublished(seqs: readonly number[], acked: boolean): void {
    for (const seq of seqs) {
      const e = this.#records.get(seq);
      if (!e) continue;
      e.published = true;
      this.#published = Math.max(this.#published, seq);
      if (acked) this.#ack(e);
    }
  }

  publishedSeq(): number {
    return this.#published;
  }

  ackUpTo(seq: number): number {
    let n = 0;
    // Deleting the entry just visited is safe while iterating a Map.
    for (const e of this.#unacked.values()) {
      if (e.record.seq > seq) break;
      this.#ack(e);
      n++;
    }
    return n;
  }

  summarise(maxBytes: number): OutboxSummary | null {
    let bytes = this.#bytes;
    if (bytes <= maxBytes) return null;
    const target = Math.floor(maxBytes * 0.9);
    // Lowest priority first: info before warning before error, oldest first. Usage records and earlier
    // summaries are never candidates (as in SqliteOutbox).
    const candidates: RemovedRecord[] = [];
    for (const e of this.#unacked.values()) {
      const r = e.record;
      if (r.stream !== 'events' || r.type === 'outbox_summarised') continue;
      candidates.push({ seq: r.seq, type: r.type, ts: r.ts, bytes: e.chars, severity: severityOf(r.text) });
    }
    candidates.sort((a, b) => rank(a.severity) - rank(b.severity) || a.seq - b.seq);
    const removed: RemovedRecord[] = [];
    for (const c of candidates) {
      if (bytes <= target) break;
      removed.push(c);
      bytes -= c.bytes;
    }
    if (removed.length === 0) return null;
    for (const r of removed) {
      const e = this.#unacked.get(r.seq)!;
      this.#unacked.delete(r.seq);
      this.#records.delete(r.seq);
      this.#ids.delete(e.record.id);
      this.#bytes -= e.chars;
    }
    return summaryOf(removed, this.#bytes);
  }

  depth(): OutboxDepth {
    let oldest: string | null = null;
    for (const e of this.#unacked.values()) if (oldest === null || e.record.ts < oldest) oldest = e.record.ts;
    const first = this.#unacked.keys().next();
    return { count: this.#unacked.size, oldest_ts: oldest, first_seq: first.done ? null : first.value };
  }

  bytes(): number {
    return this.#bytes;
  }

  lastSeq(): number {
    return this.#nextSeq - 1;
  }

  editUnacked(seq: number, edit: (payload: Record<string, unknown>) => Record<string, unknown>): Record<string, unknown> | null {
    const e = this.#unacked.get(seq);
    if (!e) return null;
    const payload = edit(JSON.parse(e.record.text) as Record<string, unknown>);
    const text = JSON.stringify(payload);
    const chars = codePoints(text);
    this.#bytes += chars - e.chars;
    e.record = { ...e.record, text };
    e.chars = chars;
    e.published = false;
    return payload;
  }

  #ack(e: Entry): void {
    if (e.acked) return;
    e.acked = true;
    this.#unacked.delete(e.record.seq);
    this.#bytes -= e.chars;
  }
}

function take(entries: Iterable<Entry>, keep: (e: Entry) => boolean, limit: number): StoredRecord[] {
  // SQLite's LIMIT: a negative one means no limit.
  const max = limit < 0 ? Infinity : limit;
  const out: StoredRecord[] = [];
  for (const e of entries) {
    if (out.length >= max) break;
    if (keep(e)) out.push({ ...e.record });
  }
  return out;
}

/** SQLite's length() of text: code points, so a character outside the BMP counts once. */
function codePoints(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

/** json_extract(payload, '$.severity') as the SQLite outbox sees it (text, or null when absent). */
function severityOf(text: string): string | null {
  const v = (JSON.parse(text) as Record<string, unknown>)['severity'];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? '1' : '0';
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}

function rank(severity: string | null): number {
  return severity === 'info' ? 0 : severity === 'warning' ? 1 : 2;
}
