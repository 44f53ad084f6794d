/** The data directory: present and writable by this user, and enough free space on its file system. */
import { existsSync } from 'node:fs';
import { access, constants, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { userInfo } from 'node:os';
import { rowMaker, type Check, type CheckStatus, type DoctorCheck, type DoctorContext } from './check.js';
import { errnoOf, osWhy } from './os-errors.js';

/** Below these, the data dir's file system fails / warns (the ledger must never stop on a full disk). */
export const DISK_FAIL_MB = 100;
export const DISK_WARN_MB = 1024;

function mb(bytes: number): number {
  return bytes / 2 ** 20;
}

/** `0.4 MB`, `87 MB`, `12.3 GB`: small amounts keep a decimal, a nearly full disk must not read "0 MB". */
export function sizeText(bytes: number): string {
  const m = mb(bytes);
  if (m >= 10 * 1024) return `${(m / 1024).toFixed(1)} GB`;
  return m < 10 ? `${m.toFixed(1)} MB` : `${Math.round(m)} MB`;
}

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

async function writable({ t, config }: DoctorContext): Promise<DoctorCheck> {
  const dir = config.data_dir;
  const r = rowMaker(t, 'data_dir', 'doctor.check.data_dir');
  if (!existsSync(dir)) {
    return r.warn(t('doctor.data_dir.missing', { dir }), t('doctor.data_dir.fix_missing', { cmd: `sudo install -d -o station-agent -g station-agent ${dir}` }), {
      cause: 'data_dir_missing',
    });
  }
  try {
    await access(dir, constants.W_OK | constants.R_OK);
    return r.pass(t('doctor.data_dir.ok', { dir }));
  } catch (err) {
    return r.fail(
      t('doctor.data_dir.not_writable', { dir, user: userInfo().username, code: osWhy(t, errnoOf(err)) }),
      t('doctor.data_dir.fix_writable', { cmd: `sudo chown -R station-agent:station-agent ${dir}` }),
      { cause: 'data_dir_not_writable', raw: (err as Error).message },
    );
  }
}

async function freeSpace({ t, config }: DoctorContext): Promise<DoctorCheck> {
  const dir = config.data_dir;
  const r = rowMaker(t, 'disk_space', 'doctor.check.disk');
  try {
    const s = await statfs(nearestExisting(dir));
    const bytes = s.bavail * s.bsize;
    const free = mb(bytes);
    const status: CheckStatus = free < DISK_FAIL_MB ? 'fail' : free < DISK_WARN_MB ? 'warn' : 'pass';
    const size = sizeText(bytes);
    if (status === 'pass') return r.pass(t('doctor.disk.free', { size, dir }));
    return r.of(status, t(status === 'fail' ? 'doctor.disk.full' : 'doctor.disk.free', { size, dir }), t('doctor.disk.fix', { cmd: 'sudo journalctl --vacuum-size=100M' }), {
      cause: status === 'fail' ? 'disk_full' : 'disk_low',
    });
  } catch (err) {
    return r.warn(t('doctor.disk.unknown', { dir, why: osWhy(t, errnoOf(err)) }), undefined, { cause: 'disk_unknown', raw: (err as Error).message });
  }
}

export const dataDirCheck: Check = {
  family: 'data_dir',
  run: async (ctx) => [await writable(ctx), await freeSpace(ctx)],
};
