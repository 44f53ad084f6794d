/**
 * Issue rows 3 and 4 on PostgreSQL 15 (the kit's real server): the same hostile station through the
 * collector's door, and as rows stored before the door checked, against the console over HTTP and the
 * built `collector report`. (The SQLite runs and the property test: hostile-station / hostile-property.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceStatePayload, Inventory } from '../../../protocol/payloads.js';
import { localMonth } from '../../../county/console/time.js';
import { DEFAULT_SHAPE, deviceState, inventory, SIM_DEVICES, stationIdentity } from '../../../scripts/fleet/generate.js';
import { Mosquitto, Postgres } from '../../../scripts/lib/kit/index.js';
import { publish, report, startCounty, type County } from './hostile-kit.js';

const PAGE_BYTES = 300_000;

let broker: Mosquitto;
let pg: Postgres;
let dbs = 0;
const counties: County[] = [];
beforeAll(async () => {
  broker = await Mosquitto.start({ extra: ['max_queued_messages 100000'] });
  pg = await Postgres.start();
}, 120_000);
afterAll(async () => {
  await pg?.dispose();
  await broker?.dispose();
});
afterEach(async () => {
  for (const c of counties.splice(0)) await c.stop();
});

async function county(): Promise<County> {
  const c = await startCounty(broker, await pg.createDatabase(`hostile_${++dbs}`));
  counties.push(c);
  return c;
}

const now = Date.now();
const at = new Date(now).toISOString();
const good = stationIdentity(DEFAULT_SHAPE, 0);
const bad = { ...stationIdentity(DEFAULT_SHAPE, 1), id: 'hostile-1' };
const month = localMonth(now, 'Asia/Shanghai');
const mars = (): Inventory => {
  const inv = inventory(bad, 1, now - 60_000, now);
  return { ...inv, station: { ...inv.station, timezone: 'Mars/Olympus' } };
};
const faulty = (i: number, faults: number): DeviceStatePayload => ({
  ...deviceState(bad, SIM_DEVICES[0], true, now),
  id: `p-${i}`,
  errors: Array.from({ length: faults }, (_, k) => ({ code: `f${k}`, severity: 'error' as const, text: `part ${k}` })),
});

async function monthlyAnswers(c: County): Promise<void> {
  for (const path of [`/monthly?month=${month}`, `/monthly.csv?month=${month}`, `/station?id=${bad.id}`]) expect((await c.viewer.get(path)).status, path).toBe(200);
  const cli = await report(c.db, month);
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  expect(cli.stdout).toContain(`,${bad.id},`);
}

describe('one hostile station on PostgreSQL', () => {
  it('row 3 through the collector: Mars/Olympus replaced at the door; monthly views and collector report answer', async () => {
    const c = await county();
    await publish(c, [{ topic: c.fleet.station(bad.id).inventory, payload: JSON.stringify(mars()) }]);
    expect((await c.store.station(bad.id))?.timezone).toBe('Asia/Shanghai');
    await monthlyAnswers(c);
  }, 120_000);

  it('row 3 stored before the door checked: monthly views and collector report answer, the row says so', async () => {
    const c = await county();
    await c.store.apply([
      { kind: 'inventory', station: good.id, inventory: inventory(good, 1, now - 60_000, now), receivedAt: at },
      { kind: 'inventory', station: bad.id, inventory: mars(), receivedAt: at },
    ]);
    await monthlyAnswers(c);
    expect((await c.viewer.get(`/monthly?month=${month}`)).text).toContain('站点报的时区“Mars/Olympus”无法识别');
  }, 120_000);

  it('row 4: 300 states × 4,000 faults refused at the door; stored before it, /fleet stays small with 另有 k 项', async () => {
    const c = await county();
    const states = Array.from({ length: 300 }, (_, i) => faulty(i, 4_000));
    await publish(c, states.map((s) => ({ topic: c.fleet.station(bad.id).deviceState(s.id), payload: JSON.stringify(s) })));
    expect(c.collector.stats().malformed_by_reason['invalid_device_state']).toBe(300);
    expect(await c.store.devices(bad.id)).toEqual([]);
    await c.store.apply(states.map((s) => ({ kind: 'device_state' as const, station: bad.id, device: s.id, state: s, receivedAt: at })));
    const fleet = await c.viewer.get('/fleet');
    expect(fleet.status).toBe(200);
    expect(fleet.bytes).toBeLessThan(PAGE_BYTES);
    expect(fleet.text).toContain('另有 3990 项');
  }, 300_000);
});
