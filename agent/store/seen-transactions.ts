/**
 * County request transactions seen recently (the replay cache of agent/county/requests.ts), one row
 * each: admitting a request writes one small row, where the cache used to be one meta value of up to
 * 1.3 MB rewritten whole on every request. The county link sees it through its `SeenTransactions`
 * interface; the bounds (count, bytes, age) are the replay cache's.
 */
import { lazy, type Db } from './prepared.js';

export class SeenTransactionRepository {
  readonly #has;
  readonly #add;
  readonly #prune;
  readonly #evict;
  readonly #totals;

  constructor(db: Db) {
    this.#has = lazy<[string, number], { one: number }>(db, 'SELECT 1 AS one FROM seen_transactions WHERE tx = ? AND expires_ms > ?');
    this.#add = lazy<[string, number]>(db, 'INSERT OR REPLACE INTO seen_transactions(tx, expires_ms) VALUES (?, ?)');
    this.#prune = lazy<[number]>(db, 'DELETE FROM seen_transactions WHERE expires_ms <= ?');
    this.#evict = lazy<[number]>(
      db,
      'DELETE FROM seen_transactions WHERE tx IN (SELECT tx FROM seen_transactions ORDER BY expires_ms LIMIT ?)',
    );
    this.#totals = lazy<[], { n: number; b: number | null }>(db, 'SELECT count(*) AS n, sum(length(tx)) AS b FROM seen_transactions');
  }

  /** Whether `tx` was seen and its entry has not expired at `nowMs`. */
  has(tx: string, nowMs: number): boolean {
    return this.#has().get(tx, nowMs) !== undefined;
  }

  /** Remembers `tx` until `expiresMs`: one row, one small write. */
  add(tx: string, expiresMs: number): void {
    this.#add().run(tx, expiresMs);
  }

  /** Forgets entries expired at `nowMs`; returns how many. */
  prune(nowMs: number): number {
    return this.#prune().run(nowMs).changes;
  }

  /** Forgets the `count` entries that expire first; returns how many. */
  evictOldest(count: number): number {
    return this.#evict().run(count).changes;
  }

  /** Entries kept and the characters of their transactions (ASCII: bytes). */
  totals(): { count: number; bytes: number } {
    const r = this.#totals().get()!;
    return { count: r.n, bytes: r.b ?? 0 };
  }
}
