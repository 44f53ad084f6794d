/**
 * Maintenance alerts: lamp and filter hours past their thresholds, device-reported faults (PJLink
 * ERST, ESC/VP21 ERR codes …) and devices offline longer than `offline_warn_min`. Each is one durable
 * event when it is raised and one when it clears, never one per poll. Raised alerts live in the
 * `alerts` table, so a restart neither repeats them nor forgets to clear them.
 */
import type { Logger } from 'pino';
import type { DeviceKind, DeviceState } from '../drivers/types.js';
import type { EventBus } from './bus.js';
import type { Clock } from './clock.js';
import type { EventLog } from './events.js';
import type { EventType } from '../protocol/event-record.js';
import type { AlertRow } from './store/alerts.js';
import type { Store } from './store/store.js';

export interface AlertDevice {
  id: string;
  kind: DeviceKind;
  lamp_warn_hours?: number | undefined;
  filter_warn_hours?: number | undefined;
  offline_warn_min: number;
}

export interface AlertChange {
  key: string;
  device: string;
  code: string;
  type: EventType;
  severity: 'info' | 'warning' | 'error';
  message: string;
  data?: Record<string, unknown>;
}

/** Faults the supervisor sets itself when a link is down: the offline alert covers those. */
const LINK_CODES = new Set(['link_lost', 'unreachable']);

const faultKey = (device: string, code: string) => `fault:${device}:${code}`;
export const offlineKey = (device: string) => `offline:${device}`;

/**
 * Which alerts a new state raises or clears, given those already raised. Pure: the whole rule set is
 * unit-tested without a database.
 */
export function evaluateAlerts(
  device: AlertDevice,
  state: DeviceState,
  raised: ReadonlySet<string>,
): { raise: AlertChange[]; clear: AlertChange[] } {
  const raise: AlertChange[] = [];
  const clear: AlertChange[] = [];
  const hours = (what: 'lamp' | 'filter', value: number | null | undefined, limit: number | undefined) => {
    if (limit === undefined || typeof value !== 'number') return;
    const key = `${what}:${device.id}`;
    const data = { [`${what}_hours`]: value, [`${what}_warn_hours`]: limit };
    if (value >= limit && !raised.has(key)) {
      raise.push({
        key,
        device: device.id,
        code: `${what}_hours`,
        type: `${what}_warning`,
        severity: 'warning',
        message: `${device.id}: ${what} at ${value} h (warning from ${limit} h)`,
        data,
      });
    } else if (value < limit && raised.has(key)) {
      // The counter went back under the threshold: the lamp or filter was replaced and reset.
      clear.push({
        key,
        device: device.id,
        code: `${what}_hours`,
        type: `${what}_warning_cleared`,
        severity: 'info',
        message: `${device.id}: ${what} at ${value} h, below ${limit} h again`,
        data,
      });
    }
  };
  hours('lamp', state.lamp_hours, device.lamp_warn_hours);
  hours('filter', state.filter_hours, device.filter_warn_hours);

  const present = new Map(state.errors.filter((e) => !LINK_CODES.has(e.code)).map((e) => [e.code, e]));
  for (const [code, fault] of present) {
    const key = faultKey(device.id, code);
    if (raised.has(key)) continue;
    raise.push({
      key,
      device: device.id,
      code,
      type: 'device_fault',
      severity: fault.severity,
      message: `${device.id}: ${fault.text}`,
      data: { code, text: fault.text, fault_severity: fault.severity },
    });
  }
  // Only a device that answers can tell us its fault is gone; offline, it keeps what it had.
  if (state.online) {
    const prefix = `fault:${device.id}:`;
    for (const key of raised) {
      if (!key.startsWith(prefix)) continue;
      const code = key.slice(prefix.length);
      if (present.has(code)) continue;
      clear.push({ key, device: device.id, code, type: 'device_fault_cleared', severity: 'info', message: `${device.id}: fault ${code} cleared`, data: { code } });
    }
  }
  return { raise, clear };
}

export interface MaintenanceAlertsDeps {
  store: Store;
  events: EventLog;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  devices: readonly AlertDevice[];
  /** Current device states at start (the supervisor's). */
  states?: () => DeviceState[];
}

export class MaintenanceAlerts {
  private readonly raised = new Set<string>();
  private readonly offlineTimers = new Map<string, NodeJS.Timeout>();
  private readonly byId: Map<string, AlertDevice>;
  private running = false;

  constructor(private readonly deps: MaintenanceAlertsDeps) {
    this.byId = new Map(deps.devices.map((d) => [d.id, d]));
  }

  start(): void {
    this.running = true;
    for (const key of this.deps.store.alerts.keys()) this.raised.add(key);
    const current = new Map((this.deps.states?.() ?? []).map((s) => [s.id, s]));
    for (const d of this.deps.devices) {
      const s = current.get(d.id);
      if (s) this.onState(s);
      // Not heard from since the agent started: as good as offline until it answers.
      else this.armOffline(d);
    }
    this.deps.bus.on('device.state', this, (s) => this.onState(s));
  }

  stop(): void {
    this.running = false;
    this.deps.bus.removeAll(this);
    for (const t of this.offlineTimers.values()) clearTimeout(t);
    this.offlineTimers.clear();
  }

  /** Raised alerts, for status and doctor. */
  active(): AlertRow[] {
    return this.deps.store.alerts.active();
  }

  private onState(state: DeviceState): void {
    if (!this.running) return;
    const device = this.byId.get(state.id);
    if (!device) return;
    const { raise, clear } = evaluateAlerts(device, state, this.raised);
    for (const c of clear) this.clear(c);
    for (const r of raise) this.raise(r);
    if (state.online) {
      const t = this.offlineTimers.get(device.id);
      if (t) clearTimeout(t);
      this.offlineTimers.delete(device.id);
      if (this.raised.has(offlineKey(device.id))) {
        this.clear({
          key: offlineKey(device.id),
          device: device.id,
          code: 'offline',
          type: 'device_online',
          severity: 'info',
          message: `${device.id} is back online`,
        });
      }
    } else {
      this.armOffline(device);
    }
  }

  private armOffline(device: AlertDevice): void {
    if (this.offlineTimers.has(device.id) || this.raised.has(offlineKey(device.id))) return;
    const t = setTimeout(() => {
      this.offlineTimers.delete(device.id);
      this.raise({
        key: offlineKey(device.id),
        device: device.id,
        code: 'offline',
        type: 'device_offline',
        severity: 'warning',
        message: `${device.id} has been offline for more than ${device.offline_warn_min} min`,
        data: { offline_warn_min: device.offline_warn_min },
      });
    }, device.offline_warn_min * 60_000);
    t.unref?.();
    this.offlineTimers.set(device.id, t);
  }

  /** The alert row and its event commit together: a restart never repeats nor loses the raise. */
  private raise(a: AlertChange): void {
    try {
      this.deps.store.transaction(() => {
        if (!this.deps.store.alerts.raise(a.key, a.device, a.code, this.deps.clock.now().toISOString(), a.data)) return;
        // Last in the transaction: the event announces itself on the bus, nothing after it may fail.
        this.deps.events.append({ type: a.type, severity: a.severity, device: a.device, message: a.message, ...(a.data ? { data: a.data } : {}) });
      });
      this.raised.add(a.key);
      this.deps.log.warn({ device: a.device, code: a.code }, a.message);
    } catch (err) {
      this.deps.log.error({ err, key: a.key }, 'cannot record alert');
    }
  }

  private clear(a: AlertChange): void {
    try {
      this.deps.store.transaction(() => {
        if (!this.deps.store.alerts.clear(a.key)) return;
        this.deps.events.append({ type: a.type, severity: a.severity, device: a.device, message: a.message, ...(a.data ? { data: a.data } : {}) });
      });
      this.raised.delete(a.key);
      this.deps.log.info({ device: a.device, code: a.code }, a.message);
    } catch (err) {
      this.deps.log.error({ err, key: a.key }, 'cannot clear alert');
    }
  }
}
