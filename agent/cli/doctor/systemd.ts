/** The systemd unit: installed, enabled and active. No row on hosts without systemd. */
import { existsSync } from 'node:fs';
import { CMD, rowMaker, type Check, type DoctorCheck, type DoctorContext } from './check.js';
import { execText } from './probes.js';

const SYSTEMD_UNIT = 'station-agent.service';

async function unitRow({ t }: DoctorContext): Promise<DoctorCheck> {
  const r = rowMaker(t, 'systemd', 'doctor.check.systemd');
  let props: Record<string, string>;
  try {
    const text = await execText('systemctl', ['show', SYSTEMD_UNIT, '-p', 'LoadState', '-p', 'ActiveState', '-p', 'SubState', '-p', 'UnitFileState']);
    props = Object.fromEntries(text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  } catch (err) {
    return r.warn(t('doctor.systemd.unknown'), undefined, { cause: 'service_unknown', raw: (err as Error).message });
  }
  const state = `${props.ActiveState ?? '?'}/${props.SubState ?? '?'}, ${props.UnitFileState || '-'}`;
  const detail = t('doctor.systemd.state', { unit: SYSTEMD_UNIT, state });
  if (props.LoadState === 'not-found') {
    return r.warn(t('doctor.systemd.not_installed', { unit: SYSTEMD_UNIT }), t('doctor.systemd.fix_install', { cmd: 'sudo scripts/install.sh' }), { cause: 'service_not_installed' });
  }
  if (props.ActiveState === 'active') {
    return props.UnitFileState === 'enabled' ? r.pass(detail) : r.warn(detail, t('doctor.systemd.fix_enable', { cmd: CMD.enable }), { cause: 'service_disabled' });
  }
  const failed = props.ActiveState === 'failed';
  return r.fail(
    detail,
    t(failed ? 'doctor.systemd.fix_failed' : 'doctor.systemd.fix_enable', { cmd: failed ? 'journalctl -u station-agent -n 50' : CMD.enable, cmd2: 'sudo systemctl restart station-agent' }),
    { cause: failed ? 'service_failed' : 'service_inactive' },
  );
}

export const systemdCheck: Check = {
  family: 'systemd',
  run: async (ctx) => (ctx.env.STATION_AGENT_NO_SYSTEMD === '1' || !existsSync('/run/systemd/system') ? [] : [await unitRow(ctx)]),
};
