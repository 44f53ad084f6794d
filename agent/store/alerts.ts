/** The `alerts` table: maintenance alerts raised and not yet cleared, one row each. */
import { lazy, type Db } from './prepared.js';

export interface AlertRow {
  key: string;
  device: string | null;
  code: string;
  raised_at: string;
  data: unknown;
}

export class AlertRepository {
  readonly #insert;
  readonly #remove;
  readonly #all;
  readonly #keys;

  constructor(db: Db) {
    this.#insert = lazy<[string, string | null, string, string, string | null]>(
      db,
      'INSERT INTO alerts(key, device, code, raised_at, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING',
    );
    this.#remove = lazy<[string]>(db, 'DELETE FROM alerts WHERE key = ?');
    this.#all = lazy<[], { key: string; device: string | null; code: string; raised_at: string; data: string | null }>(
      db,
      'SELECT key, device, code, raised_at, data FROM alerts ORDER BY raised_at',
    );
    this.#keys = lazy<[], { key: string }>(db, 'SELECT key FROM alerts');
  }

  /** Keys of the raised alerts. */
  keys(): string[] {
    return this.#keys().all().map((r) => r.key);
  }

  /** Records a raised alert. Returns false when it was already raised. */
  raise(key: string, device: string | null, code: string, raisedAt: string, data: Record<string, unknown> | undefined): boolean {
    return this.#insert().run(key, device, code, raisedAt, data ? JSON.stringify(data) : null).changes > 0;
  }

  /** Returns false when the alert was not raised. */
  clear(key: string): boolean {
    return this.#remove().run(key).changes > 0;
  }

  /** Raised alerts, oldest first. */
  active(): AlertRow[] {
    return this.#all().all().map((r) => ({ ...r, data: r.data ? (JSON.parse(r.data) as unknown) : null }));
  }
}
