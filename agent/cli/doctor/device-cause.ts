/**
 * What is wrong with one device, and the fix aimed at that: the device's own faults from its state
 * (lamp, fan, temperature … as its protocol reported them) when it answers, and, when it does not, the
 * precise reason its driver gave (drivers/faults.ts, from the daemon's `devices.diagnose`): a refused
 * password names password_file, a silent relay unit on a bus where another unit answers says the wiring
 * is fine, a missing adapter says to plug it in. Pure: the caller brings the states.
 */
import type { DeviceConfig } from '../../../config/schema.js';
import type { DeviceFault, DeviceState } from '../../../drivers/types.js';
import type { DeviceDiagnosis } from '../../control/protocol.js';
import { CATALOGUES, type MessageKey, type Translate } from '../../i18n/index.js';
import { faultKey, faultText } from '../../../protocol/words/faults.js';
import type { CheckStatus } from './check.js';

export interface DeviceFinding {
  status: CheckStatus;
  cause: string;
  detail: string;
  fix?: string;
  raw?: string;
}

/** The serial port (or CEC adapter node) a device is configured on, if any. */
export function serialOf(d: DeviceConfig): string | undefined {
  if ('serial' in d && d.serial) return d.serial.path;
  if (d.driver === 'cec' && d.adapter) return d.adapter;
  return undefined;
}

export function whereOf(d: DeviceConfig): string {
  const serial = serialOf(d);
  if (serial) return serial;
  if ('host' in d && d.host) return `${d.host}${'port' in d && d.port ? `:${d.port}` : ''}`;
  return d.driver;
}

/** The protocol a device's network control is called in its menu. */
const PROTOCOL_NAME: Record<string, string> = { pjlink: 'PJLink', escvp21: 'ESC/VP.net', nec: 'NEC', novastar: 'NovaStar' };

/** A device's own faults, most telling first: the lamp is why it stood by abnormally, not the other way round. */
const PRIORITY = ['lamp', 'temperature', 'fan', 'cover_open', 'filter', 'power_supply', 'projector_failure', 'power_on_failed', 'abnormal_standby', 'other'];
const rank = (f: DeviceFault): number => {
  const i = PRIORITY.indexOf(f.code);
  return (f.severity === 'error' ? 0 : 100) + (i < 0 ? PRIORITY.length : i);
};

/** Cause codes of a device's own faults; the catalogue's fix key goes by the same name. */
function faultCause(f: DeviceFault): string {
  if (f.code === 'lamp' && f.severity === 'warning') return 'lamp_warning';
  if (f.code === 'other') return 'device_fault';
  return faultKey(f) ? f.code : 'fault_unknown';
}

function faultFix(t: Translate, f: DeviceFault): string {
  const cause = faultCause(f);
  const key = cause === 'device_fault' ? 'doctor.fix.other' : `doctor.fix.${cause}`;
  const params = { cmd: cause === 'ping_missing' ? 'sudo apt install iputils-ping' : 'sudo apt install cec-utils', pkg: 'cec-utils', key: 'media.mediamtx', key2: 'media_path' };
  // A code with no fix of its own (a supervisor code on a device that answers again): the general advice.
  return key in CATALOGUES.en ? t(key as MessageKey, params) : t('doctor.fix.unknown');
}

function online(t: Translate, d: DeviceConfig, s: DeviceState): DeviceFinding {
  const faults = [...s.errors].sort((a, b) => rank(a) - rank(b));
  const first = faults[0];
  if (first) {
    const texts = faults.filter((f) => f.severity === first.severity).map((f) => faultText(t, f));
    let detail = [...new Set(texts)].join(t('list.separator'));
    if (first.code === 'lamp' && typeof s.lamp_hours === 'number') detail = t('doctor.dev.lamp_hours', { fault: detail, hours: s.lamp_hours });
    return {
      status: first.severity === 'error' ? 'fail' : 'warn',
      cause: faultCause(first),
      detail,
      fix: faultFix(t, first),
      raw: faults.map((f) => `[${f.code}] ${f.text}`).join('; '),
    };
  }
  const ident = [s.model, s.serial_number].filter((v): v is string => typeof v === 'string' && v !== '');
  if (ident.length === 0) return { status: 'warn', cause: 'unidentified', detail: t('doctor.device.unidentified'), fix: t('doctor.device.fix_identify') };
  return { status: 'pass', cause: 'ok', detail: t('doctor.device.ok', { model: s.model ?? '-', serial: s.serial_number ?? '-' }) };
}

/** Relay units on the same RS-485 bus (same serial path) that answer right now. */
function answeringPeers(d: DeviceConfig, configs: readonly DeviceConfig[], states: readonly DeviceState[]): string[] {
  const path = serialOf(d);
  return configs
    .filter((c) => c.id !== d.id && c.driver === 'modbus_relay' && serialOf(c) === path && states.find((s) => s.id === c.id)?.online)
    .map((c) => String('unit_id' in c ? c.unit_id : c.id));
}

function offline(t: Translate, d: DeviceConfig, s: DeviceState, diag: DeviceDiagnosis | undefined, configs: readonly DeviceConfig[], states: readonly DeviceState[]): DeviceFinding {
  const serial = serialOf(d);
  const where = whereOf(d);
  const supervisorFault = s.errors[0];
  const raw = diag?.failure?.message ?? supervisorFault?.text;
  const file = 'password_file' in d && d.password_file ? d.password_file : '-';
  const unit = 'unit_id' in d ? d.unit_id : '-';
  const f = (cause: string, detail: MessageKey, fix: MessageKey, params: Record<string, string | number> = {}): DeviceFinding => ({
    status: 'fail',
    cause,
    detail: t(detail, { where, path: serial ?? where, driver: d.driver, file, unit, ...params }),
    fix: t(fix, { where, path: serial ?? where, file, unit, ...params }),
    ...(raw ? { raw } : {}),
  });
  if (supervisorFault?.code === 'driver_unavailable') return f('driver_unavailable', 'doctor.dev.driver_unavailable', 'doctor.fix.driver_unavailable', { key: 'driver:' });
  const fault = diag?.failure?.fault ?? (supervisorFault?.code === 'auth_failed' ? 'password_rejected' : undefined);
  switch (fault) {
    case 'adapter_missing':
      return f(fault, 'doctor.dev.adapter_missing', 'doctor.fix.adapter_missing', { cmd: 'stationctl ports', key: 'serial.path' });
    case 'port_locked':
      return f(fault, 'doctor.dev.port_locked', 'doctor.fix.port_locked', { cmd: `sudo fuser -v ${serial ?? where}` });
    case 'port_permission':
      return f(fault, 'doctor.dev.port_permission', 'doctor.fix.port_permission', { group: 'dialout', cmd: 'sudo usermod -aG dialout station-agent' });
    case 'password_rejected':
    case 'password_required':
    case 'password_invalid':
    case 'secret_unreadable':
      return f(fault, `doctor.dev.${fault}`, `doctor.fix.${fault}`, { key: 'password_file', group: 'station-agent' });
    case 'connection_refused':
      return f(fault, 'doctor.dev.connection_refused', 'doctor.fix.connection_refused', { protocol: PROTOCOL_NAME[d.driver] ?? d.driver });
    case 'host_unreachable':
      return f(fault, 'doctor.dev.host_unreachable', 'doctor.fix.host_unreachable');
    case 'host_not_found':
      return f(fault, 'doctor.dev.host_not_found', 'doctor.fix.host_not_found', { key: 'host:' });
    case 'unit_silent': {
      const others = answeringPeers(d, configs, states);
      if (others.length > 0) return f('modbus_unit_silent', 'doctor.dev.unit_silent', 'doctor.fix.unit_silent', { others: others.join(', ') });
      return f('modbus_bus_silent', 'doctor.dev.bus_silent', 'doctor.fix.bus_silent', { bus: 'RS-485', key: 'serial.baud_rate' });
    }
    case 'reply_corrupted':
      return f('modbus_reply_corrupted', 'doctor.dev.reply_corrupted', 'doctor.fix.reply_corrupted', { bus: 'RS-485', key: 'serial.baud_rate / serial.parity' });
    case 'unit_exception':
      return f('modbus_unit_exception', 'doctor.dev.unit_exception', 'doctor.fix.unit_exception', { coil: 'coil' in d ? d.coil : '-', key: 'unit_id / coil' });
    case 'no_answer':
      return serial
        ? f(fault, 'doctor.dev.no_answer_serial', 'doctor.fix.no_answer_serial', { key: 'serial.baud_rate', cmd: `stationctl probe ${serial}` })
        : f(fault, 'doctor.dev.no_answer_net', 'doctor.fix.no_answer_net');
    case 'bad_reply':
      return serial
        ? f(fault, 'doctor.dev.bad_reply', 'doctor.fix.bad_reply', { key: 'driver:', cmd: `stationctl probe ${serial}` })
        : f(fault, 'doctor.dev.bad_reply', 'doctor.fix.bad_reply_net', { key: 'driver:' });
  }
  const fix = serial ? t('doctor.device.fix_serial', { path: serial, cmd: `stationctl probe ${serial}` }) : t('doctor.device.fix_net', { where });
  if (supervisorFault?.code === 'link_lost') return { status: 'fail', cause: 'link_lost', detail: t('doctor.dev.link_lost', { where }), fix, ...(raw ? { raw } : {}) };
  return { status: 'fail', cause: 'offline', detail: t('doctor.device.offline', { where }), fix, ...(raw ? { raw } : {}) };
}

/** The finding for one device the daemon reports on. */
export function deviceFinding(
  t: Translate,
  d: DeviceConfig,
  states: readonly DeviceState[],
  diagnoses: readonly DeviceDiagnosis[] | undefined,
  configs: readonly DeviceConfig[],
): DeviceFinding {
  const s = states.find((x) => x.id === d.id);
  if (!s) return { status: 'fail', cause: 'offline', detail: t('doctor.device.offline', { where: whereOf(d) }), fix: t('doctor.device.fix_net', { where: whereOf(d) }) };
  if (s.online) return online(t, d, s);
  return offline(t, d, s, diagnoses?.find((x) => x.id === d.id), configs, states);
}
