/**
 * The `status` report, assembled in one place for the daemon (from its live parts) and for stationctl
 * when the daemon is down (from the store opened read-only, through the same repositories the daemon
 * reads and writes).
 */
import type { DeviceState } from '../drivers/types.js';
import type { StatusReport } from './control/protocol.js';
import type { Store } from './store/store.js';

export interface StatusParts {
  agent: StatusReport['agent'];
  county: StatusReport['county'];
  devices: DeviceState[];
  openSession: string | null;
}

export function statusReport(station: { id: string; name: string }, parts: StatusParts): StatusReport {
  return {
    station_id: station.id,
    station_name: station.name,
    agent: parts.agent,
    county: parts.county,
    devices: parts.devices,
    open_session: parts.openSession,
  };
}

/** The county part while no county link runs: only the outbox depth is known. */
export function countyWithoutLink(store: Store): StatusReport['county'] {
  return { configured: false, connected: false, outbox_depth: store.outbox.depth().count };
}

/** Every device's last saved state; the daemon is down, so nothing is online whatever was recorded. */
export function storedDevices(store: Store): DeviceState[] {
  return store.deviceStates.all().map((s) => ({ ...s, online: false }));
}

/** What the database alone says, for stationctl while the daemon is down. */
export function storedStatusParts(store: Store): StatusParts {
  return {
    agent: { version: '', uptime_s: 0, boot: Number(store.meta('agent_boot') ?? 0), pid: 0 },
    county: countyWithoutLink(store),
    devices: storedDevices(store),
    openSession: store.sessions.latestOpen()?.id ?? null,
  };
}
