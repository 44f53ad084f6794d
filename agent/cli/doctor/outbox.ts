/**
 * Records the county has not acknowledged, read from the outbox on the database opened read-only (WAL:
 * safe beside a running agent). Old unacknowledged records mean the county has not heard from the station.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DB_FILE, Store } from '../../store/store.js';
import type { OutboxDepth } from '../../store/outbox.js';
import { localTime } from '../time.js';
import { rowMaker, type Check, type DoctorCheck, type DoctorContext } from './check.js';
import { errnoOf, osWhy } from './os-errors.js';

/** An unacknowledged record older than this means the county has not heard from the station. */
export const OUTBOX_WARN_H = 24;

function outboxRow({ t, config }: DoctorContext): DoctorCheck {
  const r = rowMaker(t, 'outbox', 'doctor.check.outbox');
  if (!existsSync(join(config.data_dir, DB_FILE))) return r.pass(t('doctor.outbox.empty'));
  let depth: OutboxDepth;
  try {
    const store = Store.open(config.data_dir, { readonly: true });
    try {
      depth = store.outbox.depth();
    } finally {
      store.close();
    }
  } catch (err) {
    return r.warn(t('doctor.outbox.unreadable', { why: osWhy(t, errnoOf(err)) }), undefined, { cause: 'outbox_unreadable', raw: (err as Error).message });
  }
  if (depth.count === 0) return r.pass(t('doctor.outbox.empty'));
  if (!config.county) return r.pass(t('doctor.outbox.local_only', { count: depth.count }));
  const ageH = depth.oldest_ts ? (Date.now() - Date.parse(depth.oldest_ts)) / 3_600_000 : 0;
  const oldest = localTime(depth.oldest_ts, config.station.timezone);
  const detail = t('doctor.outbox.waiting', { count: depth.count, seq: depth.first_seq ?? '-', oldest, hours: Math.max(0, Math.round(ageH)) });
  if (ageH > OUTBOX_WARN_H) return r.warn(detail, t('doctor.outbox.fix'), { cause: 'outbox_stale' });
  return r.pass(detail);
}

export const outboxCheck: Check = {
  family: 'outbox',
  run: async (ctx) => [outboxRow(ctx)],
};
