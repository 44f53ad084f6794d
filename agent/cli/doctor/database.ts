/**
 * Database integrity: asked of the daemon when it runs (it holds the database), otherwise checked on
 * the file opened read-only.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageKey } from '../../i18n/index.js';
import { DB_FILE, Store } from '../../store/store.js';
import { CMD, rowMaker, type Check, type DoctorCheck, type DoctorContext } from './check.js';

async function integrity({ t, config, daemon, status }: DoctorContext): Promise<DoctorCheck> {
  const dbPath = join(config.data_dir, DB_FILE);
  const r = rowMaker(t, 'database', 'doctor.check.database');
  const fix = () => t('doctor.db.fix', { path: dbPath, cmd: `sqlite3 ${dbPath} .recover | sqlite3 ${dbPath}.recovered` });
  let result: string[];
  let via: MessageKey;
  try {
    if (status) {
      result = ((await daemon('db.integrity')) as { result: string[] }).result;
      via = 'doctor.db.via_agent';
    } else {
      if (!existsSync(dbPath)) return r.warn(t('doctor.db.missing', { path: dbPath }), t('doctor.agent.fix', { cmd: CMD.start }));
      const store = Store.open(config.data_dir, { readonly: true });
      try {
        result = store.integrityCheck();
      } finally {
        store.close();
      }
      via = 'doctor.db.via_file';
    }
  } catch (err) {
    return r.fail(t('doctor.db.open_failed', { path: dbPath, message: (err as Error).message }), fix());
  }
  if (result.length === 1 && result[0] === 'ok') return r.pass(`${t('doctor.db.ok', { path: dbPath })} (${t(via)})`);
  return r.fail(t('doctor.db.corrupt', { path: dbPath, first: result[0] ?? '?' }), fix());
}

export const databaseCheck: Check = {
  family: 'database',
  run: async (ctx) => [await integrity(ctx)],
};
