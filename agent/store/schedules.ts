/**
 * Schedules the county pushed (`county_schedules`, definitions as JSON text) and the runs of every
 * schedule (`schedule_runs`: started, then finished with its outcome). The scheduler validates what it
 * stores and reads back; the listing tolerates what it cannot parse.
 */
import { lazy, type Db } from './prepared.js';

export interface StoredSchedule {
  id: string;
  definition: string;
}

export interface RunRow {
  id: string;
  schedule_id: string;
  started_at: string;
  finished_at: string | null;
  outcome: string | null;
}

export class ScheduleRepository {
  readonly #db: Db;
  readonly #county;
  readonly #upsert;
  readonly #delete;
  readonly #deleteAll;
  readonly #lastRun;
  readonly #startRun;
  readonly #unfinished;
  readonly #saveRun;

  constructor(db: Db) {
    this.#db = db;
    this.#county = lazy<[], StoredSchedule>(db, 'SELECT id, definition FROM county_schedules ORDER BY id');
    this.#upsert = lazy<[string, string, string]>(
      db,
      'INSERT INTO county_schedules(id, definition, updated_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at',
    );
    this.#delete = lazy<[string]>(db, 'DELETE FROM county_schedules WHERE id = ?');
    this.#deleteAll = lazy<[]>(db, 'DELETE FROM county_schedules');
    this.#lastRun = lazy<[string], RunRow>(
      db,
      'SELECT id, schedule_id, started_at, finished_at, outcome FROM schedule_runs WHERE schedule_id = ? ORDER BY started_at DESC, rowid DESC LIMIT 1',
    );
    this.#startRun = lazy<[string, string, string, string]>(db, 'INSERT INTO schedule_runs(id, schedule_id, started_at, outcome) VALUES (?, ?, ?, ?)');
    this.#unfinished = lazy<[], RunRow>(
      db,
      'SELECT id, schedule_id, started_at, finished_at, outcome FROM schedule_runs WHERE finished_at IS NULL ORDER BY started_at',
    );
    this.#saveRun = lazy<[string, string | null, string]>(db, 'UPDATE schedule_runs SET outcome = ?, finished_at = ? WHERE id = ?');
  }

  /** The county's schedules, by id. */
  county(): StoredSchedule[] {
    return this.#county().all();
  }

  putCounty(id: string, definition: string, updatedAt: string): void {
    this.#upsert().run(id, definition, updatedAt);
  }

  /** Returns false when there was no county schedule with that id. */
  deleteCounty(id: string): boolean {
    return this.#delete().run(id).changes > 0;
  }

  /** All county schedules replaced by `schedules`, in one transaction. */
  replaceCounty(schedules: readonly StoredSchedule[], updatedAt: string): void {
    this.#db.transaction(() => {
      this.#deleteAll().run();
      for (const s of schedules) this.#upsert().run(s.id, s.definition, updatedAt);
    })();
  }

  /** The newest run of a schedule (the later row when two started in the same millisecond). */
  lastRun(scheduleId: string): RunRow | undefined {
    return this.#lastRun().get(scheduleId);
  }

  startRun(id: string, scheduleId: string, startedAt: string, outcome: string): void {
    this.#startRun().run(id, scheduleId, startedAt, outcome);
  }

  /** Runs the agent stopped in the middle of, oldest first. */
  unfinishedRuns(): RunRow[] {
    return this.#unfinished().all();
  }

  /** Saves a run's outcome so far; `finishedAt` set closes it. */
  saveRun(id: string, outcome: string, finishedAt: string | null): void {
    this.#saveRun().run(outcome, finishedAt, id);
  }
}
