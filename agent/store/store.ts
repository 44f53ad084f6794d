/**
 * The local SQLite store (better-sqlite3 12.x: 13 segfaults on Node 20). WAL with synchronous=FULL:
 * the usage ledger and the outbox must survive a power cut right after a commit.
 */
import Database from 'better-sqlite3';
import { mkdirSync, accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { AgentError, ErrorCodes } from '../../drivers/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type Db = Database.Database;

export interface StoreOptions {
  readonly?: boolean;
  /** For tests of migrations: stop at this schema version. */
  targetVersion?: number;
}

export const DB_FILE = 'station.db';

/** Creates `dir` when missing and checks it is writable; one clear error line otherwise. */
export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new AgentError(ErrorCodes.data_dir, `data_dir ${dir} cannot be created or written (${e.code ?? e.message})`, { cause: err });
  }
}

export class Store {
  readonly db: Db;
  readonly path: string;
  private readonly getMeta: Database.Statement<[string], { value: string }>;
  private readonly putMeta: Database.Statement<[string, string]>;

  private constructor(db: Db, path: string) {
    this.db = db;
    this.path = path;
    this.getMeta = db.prepare('SELECT value FROM meta WHERE key = ?');
    this.putMeta = db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
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
      checkVersion(db, path);
      return new Store(db, path);
    }
    ensureDataDir(dataDir);
    try {
      db = new Database(path);
    } catch (err) {
      throw new AgentError(ErrorCodes.db_open, `cannot open database ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db, options.targetVersion ?? SCHEMA_VERSION, path);
    } catch (err) {
      db.close();
      throw err;
    }
    return new Store(db, path);
  }

  meta(key: string): string | undefined {
    return this.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.putMeta.run(key, value);
  }

  /** Increments a persisted counter and returns the new value (e.g. `boot`). */
  increment(key: string): number {
    return this.db.transaction(() => {
      const next = Number(this.meta(key) ?? '0') + 1;
      this.setMeta(key, String(next));
      return next;
    })();
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  integrityCheck(): string[] {
    const rows = this.db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check);
  }

  close(): void {
    if (this.db.open) this.db.close();
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
