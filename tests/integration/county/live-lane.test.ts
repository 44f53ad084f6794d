import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Mosquitto, freePort, waitFor } from '../../../scripts/lib/kit/index.js';
import {
  DeviceStatePayloadSchema,
  HeartbeatSchema,
  InventorySchema,
  StatusOnlineSchema,
  type InventorySchedule,
  StatusWillSchema,
} from '../../../protocol/payloads.js';
import { CountyConsumer, makeStation, projector, writeSecret, type Station } from './harness.js';
import { tempDir } from '../../helpers/temp.js';

let broker: Mosquitto;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker.dispose();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function station(opts: Parameters<typeof makeStation>[0]): Promise<Station> {
  const s = makeStation(opts);
  cleanups.push(() => s.close());
  return s;
}
async function consumer(url = broker.url): Promise<CountyConsumer> {
  const c = await CountyConsumer.connect(url);
  cleanups.push(() => c.close());
  return c;
}

describe('county link live lane', () => {
  it('publishes retained status, inventory and device states on connect, then heartbeats', async () => {
    const county = await consumer();
    const s = await station({ url: broker.url, devices: [projector('proj1', { power: 'on', model: 'EB-X41' })] });
    await s.link.start();

    const status = await county.waitFor('/village-01/status');
    expect(status.retain).toBe(false); // live delivery to an existing subscriber is not flagged retained
    const st = StatusOnlineSchema.parse(status.payload);
    expect(st).toMatchObject({ online: true, boot: 1, agent_boot: 1, agent_version: '0.1.0-test', station_id: 'village-01' });
    expect(st.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const inv = InventorySchema.parse((await county.waitFor('/village-01/inventory')).payload);
    expect(inv.station).toMatchObject({ id: 'village-01', town: '城关镇', level: 'village' });
    expect(inv.host.cpu.model).toBe('Intel Core i3');
    expect(inv.devices).toEqual([
      expect.objectContaining({ id: 'proj1', kind: 'projector', driver: 'pjlink', model: 'EB-X41', serial_number: null }),
    ]);

    const state = DeviceStatePayloadSchema.parse((await county.waitFor('/village-01/devices/proj1/state')).payload);
    expect(state).toMatchObject({ id: 'proj1', power: 'on', online: true, v: 1 });

    await waitFor(() => county.on('/village-01/heartbeat').length >= 2, 5_000);
    const hb = county.on('/village-01/heartbeat');
    expect(hb[0]!.qos).toBe(0);
    const beat = HeartbeatSchema.parse(hb[0]!.payload);
    expect(beat).toMatchObject({ boot: 1, devices: { total: 1, online: 1, on: 1, faults: 0 }, outbox: { depth: 0, last_seq: 0 }, open_session: null });
    // The agent's own memory rides along, so a fleet-wide leak is visible at the county.
    expect(beat.agent!.rss_mb).toBeGreaterThan(10);
    expect(beat.agent!.heap_used_mb).toBeGreaterThan(1);
    expect(s.link.status()).toMatchObject({ connected: true, outbox_depth: 0 });

    // A late subscriber gets the retained live-lane topics.
    const late = await consumer();
    await late.waitFor('/village-01/status', (r) => r.retain);
    await late.waitFor('/village-01/inventory', (r) => r.retain);
    await late.waitFor('/village-01/devices/proj1/state', (r) => r.retain);
  });

  it('publishes a retained state on every device change and refreshes the inventory when identity changes', async () => {
    const county = await consumer();
    const s = await station({ url: broker.url });
    await s.link.start();
    await county.waitFor('/inventory');
    county.clear();
    const next = projector('proj1', { power: 'warming', serial_number: 'SN-42', firmware: '1.07' });
    s.devices[0] = next;
    s.bus.emit('device.state', next, undefined);
    const st = await county.waitFor('/devices/proj1/state');
    expect(st.payload).toMatchObject({ power: 'warming', serial_number: 'SN-42' });
    const inv = await county.waitFor('/inventory', undefined, 5_000);
    expect(InventorySchema.parse(inv.payload).devices[0]).toMatchObject({ serial_number: 'SN-42', firmware: '1.07' });
  });

  it('lists what each device takes and the installed schedules, and republishes them when the schedules change', async () => {
    const county = await consumer();
    const installed: { list: InventorySchedule[]; more: number } = {
      list: [{ id: 'tuesday', name: '周二晚课', source: 'config', cron: '0 20 * * 2', duration_min: 90, enabled: true, steps: [{ device: 'proj1', action: 'power', value: 'on', wait_for: 'on' }] }],
      more: 0,
    };
    const s = await station({
      url: broker.url,
      stationId: 'village-77',
      devices: [projector('proj1')],
      controls: (id) => (id === 'proj1' ? { actions: ['power', 'input', 'mute'], inputs: [{ code: '31', kind: 'digital', n: 1 }] } : undefined),
      schedules: () => installed,
    });
    await s.link.start();
    const inv = InventorySchema.parse((await county.waitFor('/village-77/inventory')).payload);
    expect(inv.devices[0]!.controls).toEqual({ actions: ['power', 'input', 'mute'], inputs: [{ code: '31', kind: 'digital', n: 1 }] });
    expect(inv.schedules).toEqual(installed.list);
    expect(inv.schedules_more).toBeUndefined();
    county.clear();
    // schedule.set added one: the daemon tells the link, which publishes the inventory again.
    installed.list.push({ ...installed.list[0]!, id: 'thursday', source: 'county', cron: '0 20 * * 4' });
    installed.more = 3;
    s.link.inventoryChanged();
    const again = InventorySchema.parse((await county.waitFor('/village-77/inventory', undefined, 5_000)).payload);
    expect(again.schedules!.map((x) => [x.id, x.source])).toEqual([['tuesday', 'config'], ['thursday', 'county']]);
    expect(again.schedules_more).toBe(3);
  });

  it('counts MQTT sessions in boot, persisted across link restarts, and says goodbye on stop', async () => {
    const county = await consumer();
    const dataDir = tempDir();
    const s1 = makeStation({ url: broker.url, dataDir });
    await s1.link.start();
    await county.waitFor('/status', (r) => r.payload?.['online'] === true && r.payload['boot'] === 1);
    const t0 = Date.now();
    await s1.link.stop();
    expect(Date.now() - t0).toBeLessThan(2_500);
    const bye = StatusWillSchema.parse((await county.waitFor('/status', (r) => r.payload?.['online'] === false)).payload);
    expect(bye).toEqual({ v: 1, online: false, station_id: 'village-01', boot: 1, reason: 'agent_stop' });
    s1.store.close();

    const s2 = makeStation({ url: broker.url, dataDir });
    cleanups.push(() => s2.close());
    await s2.link.start();
    await county.waitFor('/status', (r) => r.payload?.['online'] === true && r.payload['boot'] === 2);
  });

  it('start() does not wait for an unreachable broker and reports a clear error; it connects once the broker is up', async () => {
    const port = await freePort();
    const s = await station({ url: `mqtt://127.0.0.1:${port}` });
    const t0 = Date.now();
    await s.link.start();
    expect(Date.now() - t0).toBeLessThan(1_000);
    await waitFor(() => s.link.status().last_error?.includes('connection refused'), 5_000);
    expect(s.link.status().connected).toBe(false);
    const late = await Mosquitto.start({ port });
    cleanups.push(() => late.dispose());
    await waitFor(() => s.link.status().connected, 5_000);
    expect(s.link.status().last_error).toBeUndefined();
    expect(s.link.status().last_connect).toMatch(/Z$/);
  });

  it('reports refused credentials clearly and keeps retrying', async () => {
    const secure = await Mosquitto.start({ users: { 'village-01': 'right-password' } });
    cleanups.push(() => secure.dispose());
    const dir = tempDir();
    const wrong = writeSecret(dir, 'pw', 'wrong-password\n');
    const s = await station({ url: secure.url, county: { username: 'village-01', password_file: wrong } });
    await s.link.start();
    await waitFor(() => s.link.status().last_error?.includes('county.password_file'), 5_000);
    // Fix the password file: the next attempt reads it again.
    writeSecret(dir, 'pw', 'right-password\n');
    await waitFor(() => s.link.status().connected, 5_000);
  });

  it('notices a half-open connection and reconnects', async () => {
    // A TCP relay that can freeze: sockets stay open but nothing passes, like a dead NAT mapping.
    const relayPort = await freePort();
    let frozen = false;
    const sockets: Socket[] = [];
    const relay: Server = createServer((down) => {
      const up = connect(broker.port, '127.0.0.1');
      sockets.push(down, up);
      down.on('data', (d) => {
        if (!frozen) up.write(d);
      });
      up.on('data', (d) => {
        if (!frozen) down.write(d);
      });
      const close = (): void => {
        down.destroy();
        up.destroy();
      };
      down.on('error', close);
      up.on('error', close);
      down.on('close', close);
      up.on('close', close);
    });
    await new Promise<void>((r) => relay.listen(relayPort, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const so of sockets) so.destroy();
      await new Promise<void>((r) => relay.close(() => r()));
    });
    const county = await consumer();
    const s = await station({ url: `mqtt://127.0.0.1:${relayPort}`, tuning: { keepaliveS: 1 } });
    await s.link.start();
    await county.waitFor('/status', (r) => r.payload?.['boot'] === 1);
    frozen = true;
    const t0 = Date.now();
    await waitFor(() => !s.link.status().connected, 8_000);
    const detectMs = Date.now() - t0;
    expect(detectMs).toBeLessThan(6_000);
    // The broker eventually publishes the Will of the frozen session; unfreeze for new connections.
    for (const so of sockets.splice(0)) so.destroy();
    frozen = false;
    await county.waitFor('/status', (r) => r.payload?.['online'] === true && r.payload['boot'] === 2, 8_000);
  });
});
