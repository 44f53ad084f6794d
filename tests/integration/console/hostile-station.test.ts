/**
 * Issue rows 3 and 4: one hostile station against the real county (mosquitto, collector, SQLite, console
 * over HTTP, the built `collector report`). Before the fix, a retained inventory with time zone
 * "Mars/Olympus" made /monthly, /monthly.csv and `collector report` fail for everyone, and 300 device
 * states of 4,000 faults each made every /fleet page tens of megabytes. Each case is played twice: through
 * the collector's door (now refused or corrected there) and as rows already stored before the door
 * checked (written straight into the store), which the pages must survive as well.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceStatePayload, Inventory } from '../../../protocol/payloads.js';
import { PAYLOAD_CAPS } from '../../../protocol/payloads.js';
import { localMonth } from '../../../county/console/time.js';
import { deviceState, inventory, SIM_DEVICES, stationIdentity, DEFAULT_SHAPE } from '../../../scripts/fleet/generate.js';
import { Mosquitto } from '../../../scripts/lib/kit/index.js';
import { publish, report, startCounty, type County } from './hostile-kit.js';

/** What a clerk's page may weigh and take whatever one station stored (the whole page, 2 stations). */
const PAGE_BYTES = 300_000;
const PAGE_MS = 5_000;

let broker: Mosquitto;
const counties: County[] = [];
beforeAll(async () => {
  broker = await Mosquitto.start({ extra: ['max_queued_messages 100000'] });
});
afterAll(async () => {
  await broker.dispose();
});
afterEach(async () => {
  for (const c of counties.splice(0)) await c.stop();
});

async function county(): Promise<County> {
  const c = await startCounty(broker);
  counties.push(c);
  return c;
}

const now = Date.now();
const good = stationIdentity(DEFAULT_SHAPE, 0);
const bad = { ...stationIdentity(DEFAULT_SHAPE, 1), id: 'hostile-1' };
const month = localMonth(now, 'Asia/Shanghai');

function marsInventory(): Inventory {
  const inv = inventory(bad, 1, now - 60_000, now);
  return { ...inv, station: { ...inv.station, timezone: 'Mars/Olympus' } };
}

/** Device state `i` of the hostile station with `faults` faults (about 45 bytes each on the wire). */
function faultyState(i: number, faults: number): DeviceStatePayload {
  const base = deviceState(bad, SIM_DEVICES[0], true, now);
  return {
    ...base,
    id: `p-${i}`,
    errors: Array.from({ length: faults }, (_, k) => ({ code: `f${k}`, severity: 'error' as const, text: `part ${k}` })),
  };
}

async function pagesAnswer(c: County): Promise<void> {
  for (const path of [`/monthly?month=${month}`, `/monthly.csv?month=${month}`, `/station?id=${bad.id}`, '/fleet']) {
    const r = await c.viewer.get(path);
    expect(r.status, path).toBe(200);
  }
  const cli = await report(c.db, month);
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  expect(cli.stdout).toContain(`${month},station,${bad.town},${bad.id},`);
}

describe('row 3: a station with time zone "Mars/Olympus"', () => {
  it('through the collector: the zone is replaced by the county\'s at the door, every monthly view answers, the station page says what was claimed', async () => {
    const c = await county();
    const fleet = c.fleet;
    await publish(c, [
      { topic: fleet.station(good.id).inventory, payload: JSON.stringify(inventory(good, 1, now - 60_000, now)) },
      { topic: fleet.station(bad.id).inventory, payload: JSON.stringify(marsInventory()) },
    ]);
    expect((await c.store.station(bad.id))?.timezone).toBe('Asia/Shanghai');
    expect((await c.store.inventory(bad.id))?.['station']).toMatchObject({ timezone: 'Asia/Shanghai', timezone_claimed: 'Mars/Olympus' });
    await pagesAnswer(c);
  });

  it('already stored before the door checked: /monthly, /monthly.csv, the station page and `collector report` still answer, and the row says so', async () => {
    const c = await county();
    await c.store.apply([
      { kind: 'inventory', station: good.id, inventory: inventory(good, 1, now - 60_000, now), receivedAt: new Date(now).toISOString() },
      { kind: 'inventory', station: bad.id, inventory: marsInventory(), receivedAt: new Date(now).toISOString() },
    ]);
    expect((await c.store.station(bad.id))?.timezone).toBe('Mars/Olympus');
    await pagesAnswer(c);
    const monthly = await c.viewer.get(`/monthly?month=${month}`);
    expect(monthly.text).toContain('站点报的时区“Mars/Olympus”无法识别，按县时区 Asia/Shanghai 统计');
    const station = await c.viewer.get(`/station?id=${bad.id}`);
    expect(station.text).toMatch(/id="unknown-timezone">站点报的时区“Mars\/Olympus”无法识别/);
  });
});

describe('row 4: 300 device states of 4,000 faults each', () => {
  const states = Array.from({ length: 300 }, (_, i) => faultyState(i, 4_000));

  it('through the collector: refused at the door (each under the payload cap), and /fleet stays small', async () => {
    const c = await county();
    await publish(c, [{ topic: c.fleet.station(good.id).inventory, payload: JSON.stringify(inventory(good, 1, now - 60_000, now)) }]);
    const messages = states.map((s) => ({ topic: c.fleet.station(bad.id).deviceState(s.id), payload: JSON.stringify(s) }));
    expect(Math.max(...messages.map((m) => Buffer.byteLength(m.payload)))).toBeLessThan(256 * 1024);
    await publish(c, messages);
    expect(c.collector.stats().malformed_by_reason['invalid_device_state']).toBe(300);
    expect(await c.store.devices(bad.id)).toEqual([]);
    const fleet = await c.viewer.get('/fleet');
    expect(fleet.status).toBe(200);
    expect(fleet.bytes).toBeLessThan(PAGE_BYTES);
  }, 180_000);

  it(`through the collector: a station keeps at most ${PAYLOAD_CAPS.devices} devices; states of more device ids are refused`, async () => {
    const c = await county();
    const few = Array.from({ length: PAYLOAD_CAPS.devices + 6 }, (_, i) => faultyState(i, 1));
    await publish(c, few.map((s) => ({ topic: c.fleet.station(bad.id).deviceState(s.id), payload: JSON.stringify(s) })));
    expect((await c.store.devices(bad.id)).length).toBe(PAYLOAD_CAPS.devices);
    expect(c.collector.stats().malformed_by_reason['too_many_devices']).toBe(6);
    // A known device keeps being updated.
    await publish(c, [{ topic: c.fleet.station(bad.id).deviceState('p-0'), payload: JSON.stringify({ ...few[0]!, errors: [], ts: new Date(now + 1000).toISOString() }) }]);
    expect((await c.store.devices(bad.id)).find((d) => d.device_id === 'p-0')?.errors).toEqual([]);
  }, 120_000);

  it('already stored before the door checked: /fleet and the station page show at most 10 devices × 10 faults with "另有 k 项", within the budget', async () => {
    const c = await county();
    const at = new Date(now).toISOString();
    await c.store.apply([
      { kind: 'inventory', station: good.id, inventory: inventory(good, 1, now - 60_000, now), receivedAt: at },
      ...states.map((s) => ({ kind: 'device_state' as const, station: bad.id, device: s.id, state: s, receivedAt: at })),
    ]);
    const fleet = await c.viewer.get('/fleet');
    expect(fleet.status).toBe(200);
    expect(fleet.bytes).toBeLessThan(PAGE_BYTES);
    expect(fleet.ms).toBeLessThan(PAGE_MS);
    expect(fleet.text).toContain('另有 290 项'); // devices beyond the first 10
    expect(fleet.text).toContain('另有 3990 项'); // faults of one device beyond the first 10
    const station = await c.viewer.get(`/station?id=${bad.id}`);
    expect(station.status).toBe(200);
    expect(station.bytes).toBeLessThan(PAGE_BYTES);
    expect(station.text.match(/<tr data-device=/g)).toHaveLength(PAYLOAD_CAPS.devices);
    expect(station.text).toContain(`另有 ${300 - PAYLOAD_CAPS.devices} 项`);
    const cli = await report(c.db, month);
    expect(cli.code).toBe(0);
  }, 180_000);
});
