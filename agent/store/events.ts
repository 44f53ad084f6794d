/** Reading durable events back for `stationctl events` (they are written through the outbox). */
import { lazy, type Db } from './prepared.js';

export class EventRepository {
  readonly #nth;
  readonly #page;

  constructor(db: Db) {
    // The unary + keeps SQLite off the (stream, ts) index: through it, every page sorted all the events
    // in a temp B-tree (48 ms a page at 100,000 events); walking seq (the rowid) stops at the page's end (0.7 ms).
    this.#nth = lazy<[string, number], { seq: number }>(db, "SELECT seq FROM records WHERE +stream = 'events' AND +ts >= ? ORDER BY seq DESC LIMIT 1 OFFSET ?");
    this.#page = lazy<[string, number, number], { seq: number; payload: string }>(
      db,
      "SELECT seq, payload FROM records WHERE +stream = 'events' AND +ts >= ? AND seq > ? ORDER BY seq LIMIT ?",
    );
  }

  /** The seq of the `n`-th newest event with `ts >= since` (1 = the newest), undefined when there are fewer. */
  nthNewestSeq(since: string, n: number): number | undefined {
    return this.#nth().get(since, n - 1)?.seq;
  }

  /** Events with `ts >= since` and `seq > after`, oldest first, at most `limit`: one page of a listing. */
  page(since: string, after: number, limit: number): Array<{ seq: number; payload: string }> {
    return this.#page().all(since, after, limit);
  }
}
