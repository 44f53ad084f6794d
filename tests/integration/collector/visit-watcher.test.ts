/**
 * The collector keeps the visit items itself, with no console looking: on a real mosquitto, a station's
 * device state with a fault opens an item within the collector's pass, and the state without it clears
 * that item as recovered (no operator, no page view), on the collector's own SQLite database.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type Collector } from '../../../county/collector.js';
import type { ConsoleStore } from '../../../county/store.js';
import { FleetTopics } from '../../../protocol/topics.js';
import { DEFAULT_SHAPE, deviceState, SIM_DEVICES, stationIdentity } from '../../../scripts/fleet/generate.js';
import { Mosquitto, waitFor } from '../../../scripts/lib/kit/index.js';
import { tempDir } from '../../helpers/temp.js';

let broker: Mosquitto;
beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker.dispose();
});

describe('the collector’s visit pass', () => {
  it('opens an item for a device fault and clears it when the station reports the device well again', async () => {
    const collector: Collector = await startCollector({ url: broker.url, db: join(tempDir('visit-watcher-'), 'county.db'), visits: { intervalMs: 100 } });
    const store = collector.store as Collector['store'] & ConsoleStore;
    const station = mqtt.connect(broker.url);
    try {
      const st = stationIdentity(DEFAULT_SHAPE, 0);
      const projector = SIM_DEVICES[0];
      const topic = new FleetTopics('stations').station(st.id).deviceState(projector.id);
      const state = deviceState(st, projector, false, Date.now());
      const publish = async (errors: typeof state.errors) =>
        station.publishAsync(topic, JSON.stringify({ ...state, errors, ts: new Date().toISOString() }), { qos: 1, retain: true });
      const at = new Date().toISOString();
      const online = { v: 1, online: true, station_id: st.id, boot: 1, agent_boot: 1, agent_version: 't', started_at: at, ts: at, clock: 'synced' };
      await station.publishAsync(new FleetTopics('stations').station(st.id).status, JSON.stringify(online), { qos: 1, retain: true });
      await publish([{ code: 'lamp', severity: 'error', text: 'lamp failure' }]);
      const opened = await waitFor('an item for the fault', async () => (await store.liveVisits(st.id)).find((v) => v.cause === `fault:${projector.id}`), 10_000);
      expect(opened).toMatchObject({ kind: 'fault', cleared_at: null, acked_at: null });
      await publish([]);
      await waitFor('the item cleared', async () => (await store.liveVisits(st.id)).length === 0, 10_000);
      expect(await store.station(st.id)).toMatchObject({ online: true });
      expect((await store.visitHistory(st.id, 5))[0]).toMatchObject({ id: opened.id, cleared_by: null, cleared_at: expect.any(String) });
    } finally {
      await station.endAsync(true);
      await collector.stop();
    }
  });
});
