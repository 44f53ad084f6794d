/** The `meta` table: small persisted values (boot counters, the next seq, the county link's state). */
import { lazy, type Db } from './prepared.js';

export class MetaRepository {
  readonly #get;
  readonly #put;

  constructor(db: Db) {
    this.#get = lazy<[string], { value: string }>(db, 'SELECT value FROM meta WHERE key = ?');
    this.#put = lazy<[string, string]>(db, 'INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  }

  get(key: string): string | undefined {
    return this.#get().get(key)?.value;
  }

  set(key: string, value: string): void {
    this.#put().run(key, value);
  }
}
