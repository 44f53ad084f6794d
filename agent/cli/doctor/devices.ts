/**
 * One row per configured device. With the daemon running its state is the truth (online, identified);
 * without it a network device can still be checked for reachability, but nothing can be identified.
 */
import type { DeviceConfig } from '../../../config/schema.js';
import type { DeviceState } from '../../../drivers/types.js';
import type { Translate } from '../../i18n/index.js';
import { CMD, rowMaker, type Check, type DoctorCheck } from './check.js';
import { tcpProbe } from './probes.js';

/** The serial port (or CEC adapter node) a device is configured on, if any. */
export function serialOf(d: DeviceConfig): string | undefined {
  if ('serial' in d && d.serial) return d.serial.path;
  if (d.driver === 'cec' && d.adapter) return d.adapter;
  return undefined;
}

function hostOf(d: DeviceConfig): { host: string; port: number | undefined } | undefined {
  if ('host' in d && d.host) return { host: d.host, port: 'port' in d ? d.port : undefined };
  return undefined;
}

async function deviceRow(t: Translate, d: DeviceConfig, states: DeviceState[] | undefined, timeoutMs: number): Promise<DoctorCheck> {
  const r = rowMaker(t, `device:${d.id}`, 'doctor.check.device', { id: d.id });
  const serial = serialOf(d);
  const net = hostOf(d);
  const where = serial ?? (net ? `${net.host}${net.port ? `:${net.port}` : ''}` : d.driver);
  const fix = serial ? t('doctor.device.fix_serial', { path: serial, cmd: `stationctl probe ${serial}` }) : t('doctor.device.fix_net', { where });
  if (states) {
    const s = states.find((x) => x.id === d.id);
    if (!s || !s.online) return r.fail(t('doctor.device.offline', { where }), fix);
    const ident = [s.model, s.serial_number].filter((v): v is string => typeof v === 'string' && v !== '');
    if (ident.length === 0) return r.warn(t('doctor.device.unidentified'), t('doctor.device.fix_identify'));
    return r.pass(t('doctor.device.ok', { model: s.model ?? '-', serial: s.serial_number ?? '-' }));
  }
  if (net && net.port !== undefined) {
    const err = await tcpProbe(net.host, net.port, timeoutMs);
    if (err) return r.fail(t('doctor.device.unreachable', { where, code: err }), fix);
    return r.warn(t('doctor.device.reachable_only', { where }), t('doctor.agent.fix', { cmd: CMD.start }));
  }
  return r.warn(t('doctor.device.not_checked'), t('doctor.agent.fix', { cmd: CMD.start }));
}

export const devicesCheck: Check = {
  family: 'devices',
  run: async ({ t, config, devices, timeoutMs }) => {
    const out: DoctorCheck[] = [];
    for (const d of config.devices) out.push(await deviceRow(t, d, devices, timeoutMs));
    return out;
  },
};
