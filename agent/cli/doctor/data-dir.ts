/** The data directory: present and writable by this user, and enough free space on its file system. */
import { existsSync } from 'node:fs';
import { access, constants, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { userInfo } from 'node:os';
import { rowMaker, type Check, type CheckStatus, type DoctorCheck, type DoctorContext } from './check.js';

/** Below these, the data dir's file system fails / warns (the ledger must never stop on a full disk). */
export const DISK_FAIL_MB = 100;
export const DISK_WARN_MB = 1024;

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

async function writable({ t, config }: DoctorContext): Promise<DoctorCheck> {
  const dir = config.data_dir;
  const r = rowMaker(t, 'data_dir', 'doctor.check.data_dir');
  if (!existsSync(dir)) return r.warn(t('doctor.data_dir.missing', { dir }), t('doctor.data_dir.fix_missing', { cmd: `sudo install -d -o station-agent -g station-agent ${dir}` }));
  try {
    await access(dir, constants.W_OK | constants.R_OK);
    return r.pass(t('doctor.data_dir.ok', { dir }));
  } catch (err) {
    return r.fail(
      t('doctor.data_dir.not_writable', { dir, user: userInfo().username, code: (err as NodeJS.ErrnoException).code ?? '' }),
      t('doctor.data_dir.fix_writable', { cmd: `sudo chown -R station-agent:station-agent ${dir}` }),
    );
  }
}

async function freeSpace({ t, config }: DoctorContext): Promise<DoctorCheck> {
  const dir = config.data_dir;
  const r = rowMaker(t, 'disk_space', 'doctor.check.disk');
  try {
    const s = await statfs(nearestExisting(dir));
    const free = mb(s.bavail * s.bsize);
    const status: CheckStatus = free < DISK_FAIL_MB ? 'fail' : free < DISK_WARN_MB ? 'warn' : 'pass';
    return r.of(status, t('doctor.disk.free', { size: `${free} MB`, dir }), status === 'pass' ? undefined : t('doctor.disk.fix', { cmd: 'sudo journalctl --vacuum-size=100M' }));
  } catch (err) {
    return r.warn((err as Error).message);
  }
}

export const dataDirCheck: Check = {
  family: 'data_dir',
  run: async (ctx) => [await writable(ctx), await freeSpace(ctx)],
};
