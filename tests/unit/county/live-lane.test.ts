/**
 * The live lane's timing rules, driven by a fake connection and fake timers: identity changes within a
 * second publish one inventory, the heartbeat keeps its rhythm and ends with the session, and a
 * heartbeat whose host sample outlived the session is dropped. What the county receives over a real
 * broker is proven in tests/integration/county/live-lane.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigSchema } from '../../../config/schema.js';
import type { DeviceState } from '../../../drivers/types.js';
import { LiveLane } from '../../../agent/county/live-lane.js';
import type { HostHealth, HostInfo, Inventory } from '../../../protocol/payloads.js';
import { Topics } from '../../../protocol/topics.js';
import { silentLogger } from '../../../agent/log.js';
import { FakeConnection, memoryMeta, syncedClock } from './fake-connection.js';

const clock = syncedClock;
const config = ConfigSchema.parse({
  station: { id: 'village-01', name: '站点', town: '城关镇' },
  data_dir: '/nonexistent',
  county: { url: 'mqtt://127.0.0.1:1' },
});
const HOST = { hostname: 'test-host' } as HostInfo;
const HEALTH = { cpu_pct: 1 } as HostHealth;

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

function setup(hostHealth: () => Promise<HostHealth> = async () => HEALTH) {
  const conn = new FakeConnection();
  const devices: DeviceState[] = [{ id: 'proj1', kind: 'projector', driver: 'pjlink', online: true, power: 'off', last_seen: new Date().toISOString(), errors: [] }];
  const lane = new LiveLane({
    config,
    topics: new Topics('stations', 'village-01'),
    connection: conn,
    meta: memoryMeta({ agent_boot: '3' }),
    outbox: { depth: () => ({ count: 0, oldest_ts: null, first_seq: null }), lastSeq: () => 0 },
    clock,
    log: silentLogger,
    agentVersion: '0.1.0-test',
    startedAtMs: Date.now(),
    devices: () => devices,
    openSessionId: () => null,
    hostInfo: async () => HOST,
    hostHealth,
    heartbeatMs: 60_000,
  });
  return { conn, lane, devices };
}

describe('live lane', () => {
  it('publishes one inventory for identity changes within a second, and a state for each change', async () => {
    const { conn, lane, devices } = setup();
    lane.birth();
    await vi.advanceTimersByTimeAsync(0);
    const client = conn.client!;
    expect(client.on('/inventory')).toHaveLength(1);
    for (const [i, serial] of ['SN-1', 'SN-2', 'SN-3', 'SN-4', 'SN-5'].entries()) {
      devices[0] = { ...devices[0]!, serial_number: serial, power: i % 2 ? 'on' : 'off' };
      lane.onDeviceState(devices[0]);
      await vi.advanceTimersByTimeAsync(150);
    }
    expect(client.on('/devices/proj1/state')).toHaveLength(1 + 5);
    expect(client.on('/inventory')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    const inventories = client.on('/inventory');
    expect(inventories).toHaveLength(2);
    // The one inventory carries the identity as it was when the debounce ran out.
    expect((JSON.parse(inventories[1]!.message) as Inventory).devices[0]).toMatchObject({ serial_number: 'SN-5' });
    // A state change that leaves the identity alone publishes no inventory.
    devices[0] = { ...devices[0]!, power: 'warming' };
    lane.onDeviceState(devices[0]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(client.on('/inventory')).toHaveLength(2);
  });

  it('heartbeats on its rhythm at QoS 0 and stops when the session ends', async () => {
    const { conn, lane } = setup();
    lane.birth();
    await vi.advanceTimersByTimeAsync(0);
    const client = conn.client!;
    await vi.advanceTimersByTimeAsync(120_000);
    const beats = client.on('/heartbeat');
    expect(beats).toHaveLength(3);
    expect(beats.every((b) => b.opts.qos === 0 && !b.opts.retain)).toBe(true);
    lane.connectionEnded();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(client.on('/heartbeat')).toHaveLength(3);
  });

  it('drops a heartbeat whose host sample finished after the session it was meant for', async () => {
    let finish: (h: HostHealth) => void = () => undefined;
    const { conn, lane } = setup(() => new Promise<HostHealth>((resolve) => (finish = resolve)));
    lane.birth();
    const old = conn.client!;
    const fresh = conn.reconnect();
    finish(HEALTH);
    await vi.advanceTimersByTimeAsync(0);
    expect(old.on('/heartbeat')).toHaveLength(0);
    expect(fresh.on('/heartbeat')).toHaveLength(0);
    lane.connectionEnded();
  });

  it('refuses rebirth while disconnected, with a retryable error', async () => {
    const { conn, lane } = setup();
    conn.connected = false;
    await expect(lane.rebirth()).rejects.toMatchObject({ code: 'disconnected', retryable: true });
    conn.connected = true;
    await expect(lane.rebirth()).resolves.toEqual({ published: 3 });
  });
});
