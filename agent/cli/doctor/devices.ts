/**
 * One row per configured device. With the daemon running its state is the truth, and the row names the
 * device's own fault with the fix aimed at it (device-cause.ts); without it a network device can still
 * be checked for reachability, but nothing can be identified.
 */
import type { DeviceConfig } from '../../../config/schema.js';
import type { Translate } from '../../i18n/index.js';
import { CMD, rowMaker, type Check, type DoctorCheck, type DoctorContext } from './check.js';
import { deviceFinding, serialOf, whereOf } from './device-cause.js';
import { osWhy } from './os-errors.js';
import { tcpProbe } from '../../../drivers/transport/tcp-probe.js';

export { serialOf };

async function withoutAgent(t: Translate, d: DeviceConfig, timeoutMs: number): Promise<DoctorCheck> {
  const r = rowMaker(t, `device:${d.id}`, 'doctor.check.device', { id: d.id });
  const where = whereOf(d);
  if ('host' in d && d.host && 'port' in d && d.port !== undefined) {
    const err = await tcpProbe(d.host, d.port, timeoutMs);
    if (err) {
      const cause = err === 'ECONNREFUSED' ? 'connection_refused' : 'host_unreachable';
      return r.fail(t('doctor.device.unreachable', { where, code: osWhy(t, err) }), t('doctor.device.fix_net', { where }), { cause, raw: err });
    }
    return r.warn(t('doctor.device.reachable_only', { where }), t('doctor.agent.fix', { cmd: CMD.start }), { cause: 'reachable_only' });
  }
  return r.warn(t('doctor.device.not_checked'), t('doctor.agent.fix', { cmd: CMD.start }), { cause: 'not_checked' });
}

async function deviceRows({ t, config, devices, diagnoses, timeoutMs }: DoctorContext): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  for (const d of config.devices) {
    if (!devices) {
      out.push(await withoutAgent(t, d, timeoutMs));
      continue;
    }
    const r = rowMaker(t, `device:${d.id}`, 'doctor.check.device', { id: d.id });
    const f = deviceFinding(t, d, devices, diagnoses, config.devices);
    out.push(r.of(f.status, f.detail, f.fix, { cause: f.cause, ...(f.raw ? { raw: f.raw } : {}) }));
  }
  return out;
}

export const devicesCheck: Check = { family: 'devices', run: deviceRows };
