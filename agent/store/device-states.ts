/** The `device_state` table: each device's latest state, written on change only (flash wear). */
import type { DeviceState } from '../../drivers/types.js';
import { lazy, type Db } from './prepared.js';

export class DeviceStateRepository {
  readonly #save;
  readonly #all;

  constructor(db: Db) {
    this.#save = lazy<[string, string, string]>(
      db,
      'INSERT INTO device_state(id, state, updated_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
    );
    this.#all = lazy<[], { state: string }>(db, 'SELECT state FROM device_state ORDER BY id');
  }

  save(state: DeviceState, updatedAt: string): void {
    this.#save().run(state.id, JSON.stringify(state), updatedAt);
  }

  /** Every device's last saved state, by id (also devices no longer configured). */
  all(): DeviceState[] {
    return this.#all().all().map((r) => JSON.parse(r.state) as DeviceState);
  }
}
