/**
 * Whether the daemon answers. Its answers are the truth about devices and the database when it runs,
 * so this runs before the `Check`s and hands them the live status and device states.
 */
import type { DeviceState } from '../../../drivers/types.js';
import { AgentError, ErrorCodes } from '../../../protocol/errors.js';
import type { DeviceDiagnosis, StatusReport } from '../../control/protocol.js';
import type { Translate } from '../../i18n/index.js';
import { CMD, rowMaker, type DaemonCall, type DoctorCheck } from './check.js';

export interface LiveState {
  row: DoctorCheck;
  status: StatusReport | undefined;
  devices: DeviceState[] | undefined;
  diagnoses: DeviceDiagnosis[] | undefined;
}

export async function agentCheck(t: Translate, daemon: DaemonCall): Promise<LiveState> {
  const r = rowMaker(t, 'agent', 'doctor.check.agent');
  let status: StatusReport;
  try {
    status = (await daemon('status')) as StatusReport;
  } catch (err) {
    if (!(err instanceof AgentError) || err.code !== ErrorCodes.daemon_unreachable) throw err;
    return { row: r.warn(t('doctor.agent.down'), t('doctor.agent.fix', { cmd: CMD.start }), { cause: 'agent_down' }), status: undefined, devices: undefined, diagnoses: undefined };
  }
  let devices: DeviceState[];
  try {
    devices = (await daemon('devices')) as DeviceState[];
  } catch {
    devices = status.devices;
  }
  let diagnoses: DeviceDiagnosis[] | undefined;
  try {
    diagnoses = (await daemon('devices.diagnose')) as DeviceDiagnosis[];
  } catch {
    // An agent older than this stationctl: the device rows fall back to the state's fault codes.
    diagnoses = undefined;
  }
  return { row: r.pass(t('doctor.agent.running', { version: status.agent.version, pid: status.agent.pid })), status, devices, diagnoses };
}
