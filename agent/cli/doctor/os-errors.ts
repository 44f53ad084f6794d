/**
 * System and SQLite errors as a technician reads them, in either language. The raw message ("database
 * disk image is malformed", "EACCES: permission denied, open …") is English and goes to `--json` only
 * (DoctorCheck.raw); the row's text names the error's class.
 *
 * SQLite's classes are its primary result codes and their standard messages (sqlite.org/rescode.html;
 * sqlite3ErrStr in SQLite's main.c): better-sqlite3 puts the code on the error (`SQLITE_CORRUPT` …), and a
 * message forwarded by the daemon over the control socket still carries the standard text.
 */
import type { MessageKey, Translate } from '../../i18n/index.js';

const OS_CODES = new Set(['ENOENT', 'EACCES', 'ENOSPC', 'EROFS', 'EIO', 'EBUSY', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN']);

/** An errno code (`ENOENT`, `ECONNREFUSED` …) as words in the reader's language. */
export function osWhy(t: Translate, code: string | undefined): string {
  const c = code === 'EPERM' ? 'EACCES' : code;
  return c && OS_CODES.has(c) ? t(`os.${c}` as MessageKey) : t('os.other');
}

/** The errno code of an error, or the one named in its message. */
export function errnoOf(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (typeof e?.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return e.code;
  return /\b(E[A-Z]{3,}(?:_[A-Z]+)?)\b/.exec(String(e?.message ?? err ?? ''))?.[1];
}

export interface DbClass {
  cause: 'db_corrupt' | 'db_not_a_database' | 'db_locked' | 'db_readonly' | 'db_io_error' | 'db_disk_full' | 'db_cannot_open' | 'db_too_new' | 'db_error';
  detail: MessageKey;
}

/** SQLite result code or standard message → the class a fix can be named for. */
const SQLITE: Array<[cause: DbClass['cause'], detail: MessageKey, codes: RegExp, message: RegExp]> = [
  ['db_corrupt', 'doctor.db.corrupt_class', /^SQLITE_CORRUPT/, /database disk image is malformed|malformed database schema/i],
  ['db_not_a_database', 'doctor.db.not_a_database', /^SQLITE_NOTADB/, /file is not a database|file is encrypted/i],
  ['db_locked', 'doctor.db.locked', /^SQLITE_(BUSY|LOCKED)/, /database is locked|database table is locked/i],
  ['db_readonly', 'doctor.db.readonly', /^SQLITE_(READONLY|PERM)/, /readonly database|access permission denied/i],
  ['db_io_error', 'doctor.db.io_error', /^SQLITE_IOERR/, /disk I\/O error/i],
  ['db_disk_full', 'doctor.db.full', /^SQLITE_FULL/, /database or disk is full/i],
  ['db_cannot_open', 'doctor.db.cannot_open', /^SQLITE_CANTOPEN/, /unable to open database file/i],
];

/** Classifies what opening or checking the database threw (a SqliteError, an AgentError wrapping one, a message). */
export function dbClass(err: unknown): DbClass {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | undefined;
  if (e?.code === 'db_too_new') return { cause: 'db_too_new', detail: 'doctor.db.too_new' };
  const codes = [e?.code, e?.cause?.code].filter((c): c is string => typeof c === 'string');
  const message = String(e?.message ?? err ?? '');
  for (const [cause, detail, code, text] of SQLITE) {
    if (codes.some((c) => code.test(c)) || text.test(message)) return { cause, detail };
  }
  return { cause: 'db_error', detail: 'doctor.db.failed' };
}
