/**
 * Database integrity: asked of the daemon when it runs (it holds the database), otherwise checked on
 * the file opened read-only. Errors are named by their SQLite class (os-errors.ts) in the reader's
 * language; SQLite's own English message goes to `--json` only.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageKey } from '../../i18n/index.js';
import { DB_FILE, Store } from '../../store/store.js';
import { CMD, rowMaker, type Check, type DoctorCheck, type DoctorContext } from './check.js';
import { dbClass, errnoOf, osWhy, type DbClass } from './os-errors.js';

async function integrity({ t, config, daemon, status }: DoctorContext): Promise<DoctorCheck> {
  const dbPath = join(config.data_dir, DB_FILE);
  const r = rowMaker(t, 'database', 'doctor.check.database');
  const recover = () => t('doctor.db.fix', { path: dbPath, cmd: `sqlite3 ${dbPath} .recover | sqlite3 ${dbPath}.recovered` });
  const fixFor = (c: DbClass['cause']): string => {
    switch (c) {
      case 'db_not_a_database':
        return t('doctor.db.fix_not_a_database', { path: dbPath });
      case 'db_locked':
        return t('doctor.db.fix_locked', { cmd: `sudo fuser -v ${dbPath}` });
      case 'db_readonly':
      case 'db_cannot_open':
        return t('doctor.data_dir.fix_writable', { cmd: `sudo chown -R station-agent:station-agent ${config.data_dir}` });
      case 'db_io_error':
        return t('doctor.db.fix_io', { path: dbPath });
      case 'db_disk_full':
        return t('doctor.disk.fix', { cmd: 'sudo journalctl --vacuum-size=100M' });
      case 'db_too_new':
        return t('doctor.db.fix_too_new', { path: dbPath });
      default:
        return recover();
    }
  };
  let result: string[];
  let via: MessageKey;
  try {
    if (status) {
      result = ((await daemon('db.integrity')) as { result: string[] }).result;
      via = 'doctor.db.via_agent';
    } else {
      if (!existsSync(dbPath)) return r.warn(t('doctor.db.missing', { path: dbPath }), t('doctor.agent.fix', { cmd: CMD.start }), { cause: 'db_missing' });
      const store = Store.open(config.data_dir, { readonly: true });
      try {
        result = store.integrityCheck();
      } finally {
        store.close();
      }
      via = 'doctor.db.via_file';
    }
  } catch (err) {
    const c = dbClass(err);
    return r.fail(t(c.detail, { path: dbPath, why: osWhy(t, errnoOf(err)) }), fixFor(c.cause), { cause: c.cause, raw: (err as Error).message });
  }
  if (result.length === 1 && result[0] === 'ok') return r.pass(`${t('doctor.db.ok', { path: dbPath })} (${t(via)})`);
  // integrity_check lists what it found wrong ("*** in database main *** Page 5: …"): a damaged file.
  return r.fail(t('doctor.db.corrupt_class', { path: dbPath }), recover(), { cause: 'db_corrupt', raw: result.slice(0, 5).join('; ') });
}

export const databaseCheck: Check = {
  family: 'database',
  run: async (ctx) => [await integrity(ctx)],
};
