/**
 * Retention: acknowledged events go after a while; usage records are the evidence the county pays on
 * and stay for good (a year of a busy station is well under a megabyte); nothing the county has not
 * acknowledged is ever deleted. The seq counter is in meta, so pruning never lets a seq come back.
 */
import { lazy, type Db } from './prepared.js';

export class RetentionRepository {
  readonly #prune;

  constructor(db: Db) {
    this.#prune = lazy<[string]>(db, "DELETE FROM records WHERE stream = 'events' AND acked = 1 AND ts < ?");
  }

  /** Deletes acknowledged events older than `beforeIso`. Returns the rows removed. */
  pruneAckedEvents(beforeIso: string): number {
    return this.#prune().run(beforeIso).changes;
  }
}
