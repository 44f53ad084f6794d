/** Reading durable events back for `stationctl events` (they are written through the outbox). */
import { lazy, type Db } from './prepared.js';

export class EventRepository {
  readonly #recent;

  constructor(db: Db) {
    this.#recent = lazy<[string, number], { payload: string }>(
      db,
      "SELECT payload FROM records WHERE stream = 'events' AND ts >= ? ORDER BY seq DESC LIMIT ?",
    );
  }

  /** Wire payloads (JSON text) of events with `ts >= since`, newest first, at most `limit`. */
  newest(since: string, limit: number): string[] {
    return this.#recent().all(since, limit).map((r) => r.payload);
  }
}
