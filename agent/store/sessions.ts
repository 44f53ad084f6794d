/**
 * The `sessions` table (usage sessions: open, checkpointed, closed) and the per-station-day
 * `daily_summary`. Records and drafts travel as JSON text: the session tracker decides what they hold
 * (and copes with a damaged checkpoint), this only stores them.
 */
import { lazy, type Db } from './prepared.js';

export interface SessionRow {
  id: string;
  seq: number | null;
  state: 'open' | 'closed';
  record: string;
  annotation: string | null;
}

export interface DailySummary {
  day: string;
  sessions: number;
  short: number;
  total_s: number;
  signal_s: number;
  first_seq: number | null;
  last_seq: number | null;
}

/** One closed session added to its station day. */
export interface DayAddition {
  day: string;
  short: 0 | 1;
  total_s: number;
  signal_s: number;
  seq: number;
}

export class SessionRepository {
  readonly #insertOpen;
  readonly #checkpoint;
  readonly #close;
  readonly #insertClosed;
  readonly #byId;
  readonly #open;
  readonly #latestOpen;
  readonly #setAnnotation;
  readonly #setRecord;
  readonly #closedBetween;
  readonly #closedPage;
  readonly #addToDay;
  readonly #days;

  constructor(db: Db) {
    this.#insertOpen = lazy<[string, string, string, string]>(db, `INSERT INTO sessions(id, state, start, checkpoint_at, record) VALUES (?, 'open', ?, ?, ?)`);
    this.#checkpoint = lazy<[string, string, string]>(db, `UPDATE sessions SET checkpoint_at = ?, record = ? WHERE id = ? AND state = 'open'`);
    this.#close = lazy<[number, string, string, string, string]>(
      db,
      `UPDATE sessions SET state = 'closed', seq = ?, "end" = ?, start = ?, record = ? WHERE id = ? AND state = 'open'`,
    );
    this.#insertClosed = lazy<[string, number, string, string, string, string]>(
      db,
      `INSERT INTO sessions(id, seq, state, start, "end", checkpoint_at, record) VALUES (?, ?, 'closed', ?, ?, ?, ?)`,
    );
    this.#byId = lazy<[string], SessionRow>(db, 'SELECT id, seq, state, record, annotation FROM sessions WHERE id = ?');
    this.#open = lazy<[], SessionRow>(db, `SELECT id, seq, state, record, annotation FROM sessions WHERE state = 'open' ORDER BY start`);
    this.#latestOpen = lazy<[], { id: string; start: string }>(db, "SELECT id, start FROM sessions WHERE state = 'open' ORDER BY start DESC LIMIT 1");
    this.#setAnnotation = lazy<[string, string]>(db, 'UPDATE sessions SET annotation = ? WHERE id = ?');
    this.#setRecord = lazy<[string, string | null, string]>(db, 'UPDATE sessions SET record = ?, annotation = ? WHERE id = ?');
    this.#closedBetween = lazy<[string, string], { record: string; annotation: string | null }>(
      db,
      `SELECT record, annotation FROM sessions WHERE state = 'closed' AND start >= ? AND start < ? ORDER BY start, seq`,
    );
    // Keyset paging on (start, seq), the listing's order: a page costs the same however deep it is.
    this.#closedPage = lazy<[string, string, string, string, number, number], { seq: number; start: string; record: string; annotation: string | null }>(
      db,
      `SELECT seq, start, record, annotation FROM sessions
       WHERE state = 'closed' AND start >= ? AND start < ? AND (start > ? OR (start = ? AND seq > ?))
       ORDER BY start, seq LIMIT ?`,
    );
    this.#addToDay = lazy<[DayAddition]>(
      db,
      `INSERT INTO daily_summary(day, sessions, short, total_s, signal_s, first_seq, last_seq)
       VALUES (@day, 1, @short, @total_s, @signal_s, @seq, @seq)
       ON CONFLICT(day) DO UPDATE SET
         sessions = sessions + 1,
         short = short + excluded.short,
         total_s = total_s + excluded.total_s,
         signal_s = signal_s + excluded.signal_s,
         first_seq = min(coalesce(first_seq, excluded.first_seq), excluded.first_seq),
         last_seq = max(coalesce(last_seq, excluded.last_seq), excluded.last_seq)`,
    );
    this.#days = lazy<[string, string], DailySummary>(
      db,
      'SELECT day, sessions, short, total_s, signal_s, first_seq, last_seq FROM daily_summary WHERE day >= ? AND day <= ? ORDER BY day',
    );
  }

  insertOpen(id: string, start: string, checkpointAt: string, draft: string): void {
    this.#insertOpen().run(id, start, checkpointAt, draft);
  }

  checkpoint(id: string, checkpointAt: string, draft: string): void {
    this.#checkpoint().run(checkpointAt, draft, id);
  }

  /** Closes an open session with its usage record. Returns false when no open row had that id. */
  close(id: string, seq: number, start: string, end: string, record: string): boolean {
    return this.#close().run(seq, end, start, record, id).changes > 0;
  }

  /** A session closed without ever having had an open row (opened and closed in the same instant). */
  insertClosed(id: string, seq: number, start: string, end: string, record: string): void {
    this.#insertClosed().run(id, seq, start, end, end, record);
  }

  byId(id: string): SessionRow | undefined {
    return this.#byId().get(id);
  }

  /** Open sessions, oldest first (left open by a crash or power cut when read at start). */
  open(): SessionRow[] {
    return this.#open().all();
  }

  /** The newest open session, for status and `stationctl sessions` while the daemon is down. */
  latestOpen(): { id: string; start: string } | undefined {
    return this.#latestOpen().get();
  }

  setAnnotation(id: string, annotation: string): void {
    this.#setAnnotation().run(annotation, id);
  }

  setRecord(id: string, record: string, annotation: string | null): void {
    this.#setRecord().run(record, annotation, id);
  }

  /** Closed sessions with `since <= start < until` (ISO UTC), oldest first. */
  closedBetween(since: string, until: string): Array<{ record: string; annotation: string | null }> {
    return this.#closedBetween().all(since, until);
  }

  addToDailySummary(add: DayAddition): void {
    this.#addToDay().run(add);
  }

  dailySummaries(fromDay: string, toDay: string): DailySummary[] {
    return this.#days().all(fromDay, toDay);
  }

  /**
   * Closed sessions that started in [since, until), after the one at (afterStart, afterSeq) in
   * (start, seq) order, at most `limit`: one page of a listing (`afterStart` '' for the first).
   */
  closedPage(since: string, until: string, afterStart: string, afterSeq: number, limit: number): Array<{ seq: number; start: string; record: string; annotation: string | null }> {
    // The index range starts at the cursor, not at `since`: page 80 costs what page 1 does.
    const from = afterStart > since ? afterStart : since;
    return this.#closedPage().all(from, until, afterStart, afterStart, afterSeq, limit);
  }
}
