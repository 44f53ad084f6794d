/** Whether the wall clock is synchronised: session times and TLS certificates depend on it. */
import { existsSync } from 'node:fs';
import { localTime } from '../time.js';
import { rowMaker, type Check } from './check.js';
import { execText } from './probes.js';

/**
 * systemd-timesyncd's flag file, else timedatectl. STATION_AGENT_CLOCK_SYNCED=0|1 overrides both (tests,
 * and hosts synchronised some other way). Undefined when nothing can tell.
 */
export async function clockSynced(env: NodeJS.ProcessEnv = process.env): Promise<boolean | undefined> {
  const o = env.STATION_AGENT_CLOCK_SYNCED;
  if (o === '1' || o === '0') return o === '1';
  if (existsSync('/run/systemd/timesync/synchronized')) return true;
  try {
    const v = await execText('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
    if (v === 'yes') return true;
    if (v === 'no') return false;
  } catch {
    /* no timedatectl (container, minimal image) */
  }
  return undefined;
}

export const clockCheck: Check = {
  family: 'clock',
  run: async ({ t, env, config }) => {
    const synced = await clockSynced(env);
    const now = localTime(new Date().toISOString(), config.station.timezone, true);
    const r = rowMaker(t, 'clock', 'doctor.check.clock');
    const fix = t('doctor.clock.fix', { cmd: 'sudo timedatectl set-ntp true' });
    if (synced === true) return [r.pass(t('doctor.clock.ok', { now }))];
    if (synced === false) return [r.fail(t('doctor.clock.unsynced', { now }), fix, { cause: 'clock_unsynced' })];
    return [r.warn(t('doctor.clock.unknown', { now }), fix, { cause: 'clock_unknown' })];
  },
};
