/**
 * The control socket's protocol, shared by the daemon (server.ts) and stationctl (client.ts):
 * newline-delimited JSON, one request `{id?, command, args?}` per line, one response
 * `{id, status, data|error}` per line, and the shapes of the answers stationctl reads.
 */
import type { DeviceState } from '../../drivers/types.js';

/** Longest request line the daemon reads. */
export const MAX_LINE = 1024 * 1024;

export interface ControlRequest {
  id?: string | number;
  command: string;
  args?: unknown;
}

export interface ControlResponse {
  id: string | number | null;
  status: 'ok' | 'error';
  data?: unknown;
  error?: { code: string; message: string };
}

/** `status`: station, agent, county link and devices (`stationctl status --json` adds `agent.running`). */
export interface StatusReport {
  station_id: string;
  station_name: string;
  agent: { version: string; uptime_s: number; boot: number; pid: number };
  county: { configured: boolean; connected: boolean; outbox_depth: number; last_error?: string };
  devices: DeviceState[];
  open_session: string | null;
}

/**
 * What a device command (`device.power`, `device.input` …) answers, on the control socket and to the
 * county: the device's state right after the device accepted the command, and whether it is done. A
 * projector accepts `power on` at once but is `warming` for up to 100 s: `done: false` with `target:
 * 'on'`; follow `power` (stationctl does) until it reaches `target`.
 */
export type DeviceCommandResult = DeviceState & {
  accepted: true;
  done: boolean;
  /** Power commands: the power state the device is on its way to. */
  target?: 'on' | 'off';
};

/** `devices.diagnose`: why each device is offline, as precisely as its driver could tell. */
export interface DeviceDiagnosis {
  id: string;
  online: boolean;
  /** The last failure while offline: the error code, its fault (drivers/faults.ts) and the raw message. */
  failure: { code: string; fault: string | null; message: string } | null;
}
