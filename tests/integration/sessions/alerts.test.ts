import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { DeviceState } from '../../../drivers/types.js';
import { MaintenanceAlerts, type AlertDevice } from '../../../agent/alerts.js';
import { silentLogger } from '../../../agent/log.js';
import { tempDir, removeDir } from '../../../scripts/lib/kit/index.js';
import { Station, T0, TestClock } from './harness.js';

const MIN = 60_000;
const DEVS: AlertDevice[] = [
  { id: 'proj', kind: 'projector', lamp_warn_hours: 3000, offline_warn_min: 10 },
  { id: 'amp', kind: 'amplifier', offline_warn_min: 5 },
];

let dir: string;
let open: Array<{ st: Station; alerts: MaintenanceAlerts }> = [];

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  dir = tempDir('alerts-');
});
afterEach(() => {
  for (const { st, alerts } of open) {
    alerts.stop();
    st.close();
  }
  open = [];
  vi.useRealTimers();
  removeDir(dir);
});

function boot(states: DeviceState[] = []) {
  const st = new Station(dir, new TestClock());
  const alerts = new MaintenanceAlerts({ store: st.store, events: st.events, bus: st.bus, clock: st.clock, log: silentLogger, devices: DEVS, states: () => states });
  alerts.start();
  const h = { st, alerts };
  open.push(h);
  return h;
}

function shutdown(h: { st: Station; alerts: MaintenanceAlerts }): void {
  h.alerts.stop();
  h.st.close();
  open = open.filter((x) => x !== h);
}

const proj = (p: Partial<DeviceState>): DeviceState => ({ id: 'proj', kind: 'projector', driver: 'pjlink', online: true, power: 'on', last_seen: null, errors: [], ...p });
const amp = (p: Partial<DeviceState>): DeviceState => ({ id: 'amp', kind: 'amplifier', driver: 'modbus_relay', online: true, power: 'on', last_seen: null, errors: [], ...p });

describe('MaintenanceAlerts on a real database', () => {
  test('lamp warnings fire once per crossing and survive restarts without repeating', () => {
    const a = boot([proj({}), amp({})]);
    for (const h of [2990, 2999, 3000, 3001, 3002]) a.st.bus.emit('device.state', proj({ lamp_hours: h }), undefined);
    expect(a.st.eventsOf('lamp_warning')).toHaveLength(1);
    expect(a.st.eventsOf('lamp_warning')[0]).toMatchObject({ device: 'proj', severity: 'warning', data: { lamp_hours: 3000 } });
    shutdown(a);

    const b = boot([proj({ lamp_hours: 3003 }), amp({})]);
    b.st.bus.emit('device.state', proj({ lamp_hours: 3004 }), undefined);
    expect(b.st.eventsOf('lamp_warning')).toHaveLength(1);

    // Lamp replaced: the counter resets, the warning clears once; the next crossing warns again.
    b.st.bus.emit('device.state', proj({ lamp_hours: 0 }), undefined);
    b.st.bus.emit('device.state', proj({ lamp_hours: 1 }), undefined);
    expect(b.st.eventsOf('lamp_warning_cleared')).toHaveLength(1);
    b.st.bus.emit('device.state', proj({ lamp_hours: 3000 }), undefined);
    expect(b.st.eventsOf('lamp_warning')).toHaveLength(2);
    expect(b.alerts.active().map((x) => x.key)).toEqual(['lamp:proj']);
  });

  test('a device offline longer than offline_warn_min raises once, survives a restart, clears once when back', async () => {
    const a = boot([proj({}), amp({})]);
    a.st.bus.emit('device.state', amp({ online: false, errors: [{ code: 'unreachable', severity: 'error', text: 'timeout' }] }), undefined);
    await vi.advanceTimersByTimeAsync(4 * MIN);
    a.st.bus.emit('device.state', amp({ online: false, power: 'unknown' }), undefined);
    expect(a.st.eventsOf('device_offline')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2 * MIN);
    expect(a.st.eventsOf('device_offline')).toEqual([expect.objectContaining({ device: 'amp', type: 'device_offline' })]);
    expect(a.st.eventsOf('device_fault')).toHaveLength(0);
    shutdown(a);

    // After a restart the amplifier is still away: no second raise.
    const b = boot([proj({})]);
    await vi.advanceTimersByTimeAsync(30 * MIN);
    expect(b.st.eventsOf('device_offline')).toHaveLength(1);
    b.st.bus.emit('device.state', amp({}), undefined);
    b.st.bus.emit('device.state', amp({ volume: 3 }), undefined);
    expect(b.st.eventsOf('device_online')).toHaveLength(1);
    expect(b.alerts.active()).toEqual([]);
  });

  test('a device that never answers after start is reported offline', async () => {
    const a = boot([proj({})]);
    await vi.advanceTimersByTimeAsync(5 * MIN + 1000);
    expect(a.st.eventsOf('device_offline').map((e) => e.device)).toEqual(['amp']);
  });

  test('device faults are raised once and cleared once, not every poll', () => {
    const a = boot([proj({}), amp({})]);
    const fault = { code: 'lamp', severity: 'error' as const, text: 'lamp failure' };
    for (let i = 0; i < 5; i++) a.st.bus.emit('device.state', proj({ errors: [fault] }), undefined);
    a.st.bus.emit('device.state', proj({ online: false, errors: [{ code: 'link_lost', severity: 'error', text: 'x' }] }), undefined);
    for (let i = 0; i < 5; i++) a.st.bus.emit('device.state', proj({ errors: [fault] }), undefined);
    expect(a.st.eventsOf('device_fault')).toHaveLength(1);
    expect(a.st.eventsOf('device_fault')[0]).toMatchObject({ severity: 'error', device: 'proj' });
    a.st.bus.emit('device.state', proj({ errors: [] }), undefined);
    a.st.bus.emit('device.state', proj({ errors: [] }), undefined);
    expect(a.st.eventsOf('device_fault_cleared')).toHaveLength(1);
  });
});
