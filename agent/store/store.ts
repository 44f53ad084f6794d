/**
 * The local SQLite store (better-sqlite3 12.x: 13 segfaults on Node 20). WAL with synchronous=FULL:
 * the usage ledger and the outbox must survive a power cut right after a commit.
 *
 * The store owns all SQL: the connection is private, and each table group has a small repository that
 * prepares its statements once (`outbox`, `sessions`, `schedules`, `deviceStates`, `alerts`, `events`,
 * `retention`, `seenTransactions`, `chain`, plus `meta`). Work spanning repositories runs in `transaction(fn)`; nested transactions
 * become savepoints, so `outbox.append` inside it commits with the rest or not at all.
 */
import Database from 'better-sqlite3';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { AlertRepository } from './alerts.js';
import { ChainRepository } from './chain.js';
import { DeviceStateRepository } from './device-states.js';
import { EventRepository } from './events.js';
import { MetaRepository } from './meta.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import type { Db } from './prepared.js';
import { RetentionRepository } from './retention.js';
import { ScheduleRepository } from './schedules.js';
import { SeenTransactionRepository } from './seen-transactions.js';
import { SessionRepository } from './sessions.js';
import { SqliteOutbox } from './sqlite-outbox.js';

export type { Db } from './prepared.js';

export interface StoreOptions {
  readonly?: boolean;
  /** For tests of migrations: stop at this schema version. */
  targetVersion?: number;
}

export const DB_FILE = 'station.db';

/** The data dir: the agent's user writes, its group (stationctl users) reads, nobody else enters. */
export const DATA_DIR_MODE = 0o750;
/** The database and its -wal/-shm: the usage ledger is readable by the group, by nobody else. */
export const DB_FILE_MODE = 0o640;

/**
 * Creates `dir` when missing, mode 0750 whatever the umask (the agent may run outside systemd, whose
 * StateDirectoryMode would set it), and checks it is writable; one clear error line otherwise. An
 * existing folder keeps its mode: it is the administrator's.
 */
export function ensureDataDir(dir: string): void {
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
      chmodSync(dir, DATA_DIR_MODE);
    }
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new AgentError(ErrorCodes.data_dir, `data_dir ${dir} cannot be created or written (${e.code ?? e.message})`, { cause: err });
  }
}

export class Store {
  readonly #db: Db;
  readonly #meta: MetaRepository;
  readonly path: string;
  /** Durable records (usage and events) until the county acknowledges them; the usage ledger for good. */
  readonly outbox: SqliteOutbox;
  readonly sessions: SessionRepository;
  readonly schedules: ScheduleRepository;
  readonly deviceStates: DeviceStateRepository;
  readonly alerts: AlertRepository;
  readonly events: EventRepository;
  readonly retention: RetentionRepository;
  /** County request transactions seen recently (the replay cache). */
  readonly seenTransactions: SeenTransactionRepository;
  /** The evidence chain: the usage stream read back, and its head (agent/evidence/). */
  readonly chain: ChainRepository;

  private constructor(db: Db, path: string) {
    this.#db = db;
    this.path = path;
    this.#meta = new MetaRepository(db);
    this.outbox = new SqliteOutbox(db, this.#meta);
    this.sessions = new SessionRepository(db);
    this.schedules = new ScheduleRepository(db);
    this.deviceStates = new DeviceStateRepository(db);
    this.alerts = new AlertRepository(db);
    this.events = new EventRepository(db);
    this.retention = new RetentionRepository(db);
    this.seenTransactions = new SeenTransactionRepository(db);
    this.chain = new ChainRepository(db, this.#meta);
  }

  static open(dataDir: string, options: StoreOptions = {}): Store {
    const path = join(dataDir, DB_FILE);
    let db: Db;
    if (options.readonly) {
      try {
        db = new Database(path, { readonly: true, fileMustExist: true });
      } catch (err) {
        throw new AgentError(ErrorCodes.db_open, `cannot open database ${path} read-only: ${(err as Error).message}`, { cause: err });
      }
      try {
        checkVersion(db, path);
      } catch (err) {
        db.close();
        throw err;
      }
      return new Store(db, path);
    }
    ensureDataDir(dataDir);
    try {
      db = new Database(path);
    } catch (err) {
      throw new AgentError(ErrorCodes.db_open, `cannot open database ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      // Before WAL mode creates the -wal and -shm files: SQLite gives them the database file's mode.
      restrictDbFiles(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db, options.targetVersion ?? SCHEMA_VERSION, path);
      restrictDbFiles(path);
    } catch (err) {
      db.close();
      throw err;
    }
    return new Store(db, path);
  }

  /**
   * Runs `fn` in one transaction and returns its result; a throw rolls everything back. Inside another
   * transaction it is a savepoint. Synchronous only: nothing may await in between.
   */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  meta(key: string): string | undefined {
    return this.#meta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.#meta.set(key, value);
  }

  /** Increments a persisted counter and returns the new value (e.g. `boot`). */
  increment(key: string): number {
    return this.transaction(() => {
      const next = Number(this.meta(key) ?? '0') + 1;
      this.setMeta(key, String(next));
      return next;
    });
  }

  schemaVersion(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  /** The durability settings of this connection: WAL and synchronous=FULL (2) unless read-only. */
  durability(): { journal_mode: string; synchronous: number } {
    return {
      journal_mode: this.#db.pragma('journal_mode', { simple: true }) as string,
      synchronous: this.#db.pragma('synchronous', { simple: true }) as number,
    };
  }

  integrityCheck(): string[] {
    const rows = this.#db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

/**
 * The database, -wal and -shm at mode 0640, whatever the umask (0644 outside systemd, 0660 under its
 * UMask=0007): stationctl reads them through the group, nobody else may. Files owned by someone else
 * (a database copied in as root) are left as they are; the agent could not change them anyway.
 */
function restrictDbFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o777) !== DB_FILE_MODE) chmodSync(file, DB_FILE_MODE);
    } catch {
      /* absent (no -wal yet) or not ours */
    }
  }
}

function checkVersion(db: Db, path: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new AgentError(ErrorCodes.db_too_new,
      `database ${path} has schema version ${version}, newer than this agent understands (${SCHEMA_VERSION}); upgrade the agent or restore a backup`,
    );
  }
  return version;
}

function migrate(db: Db, target: number, path: string): void {
  const current = checkVersion(db, path);
  if (current >= target) return;
  db.transaction(() => {
    for (let v = current; v < target; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${target}`);
  })();
}
