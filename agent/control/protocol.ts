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
