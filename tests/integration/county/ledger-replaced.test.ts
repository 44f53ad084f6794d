/**
 * Issue row 7: a station's database replaced (a re-imaged PC) without any manual step. The new database
 * numbers its records from 1 again; the county still holds the old seq 1 and 2 and its retained ack says
 * `seq: 2`. Real parts: the station's county link (durable lane, ack gate) on a real SQLite database,
 * a real mosquitto, the real collector on a real SQLite file. Before ledgers, the new class's records were
 * taken at the county for duplicates (conflicts) of the old ones, and the old retained ack then marked
 * them delivered on the station: they reached the county nowhere, and nothing showed it.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { Mosquitto, removeDir, tempDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { startCollector } from '../../../county/collector.js';
import { openSqliteCollectorStore } from '../../../county/sqlite-store.js';
import { makeStation, type Station } from './harness.js';
import { DEFAULT_SHAPE, durableRecord, stationIdentity } from '../../../scripts/fleet/generate.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const STATION = 'village-01';

/** A station PC; closed once, by the test or by the cleanup. */
function station(url: string): Station & { closeOnce(): Promise<void> } {
  const s = makeStation({ url, stationId: STATION });
  let closed: Promise<void> | undefined;
  const closeOnce = (): Promise<void> => (closed ??= s.close());
  cleanups.push(closeOnce);
  return Object.assign(s, { closeOnce });
}

/** The retained ack on the broker right now, as a station subscribing would get it. */
async function retainedAck(url: string): Promise<Record<string, unknown>> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  try {
    const got = new Promise<Record<string, unknown>>((resolve) => c.on('message', (_t, p) => resolve(JSON.parse(p.toString('utf8')) as Record<string, unknown>)));
    await c.subscribeAsync(`stations/${STATION}/ack`, { qos: 1 });
    return await got;
  } finally {
    await c.endAsync(true);
  }
}

describe('a station whose database was replaced', () => {
  it('gets its new records to the county and counted, the old ones kept, and no ack meant for the old database marks the new one\'s', async () => {
    const broker = await Mosquitto.start();
    cleanups.push(() => broker.dispose());
    const dir = tempDir('ledger-replaced-');
    cleanups.push(() => removeDir(dir));
    const store = openSqliteCollectorStore(join(dir, 'county.db'));
    cleanups.push(() => store.close());
    const collector = await startCollector({ url: broker.url, store, prefix: 'stations', gapGraceMs: 200, resendRetryMs: 500, ackIntervalMs: 50 });
    cleanups.push(() => collector.stop());

    // The old PC: two classes, stored at the county and acked.
    const old = station(broker.url);
    await old.link.start();
    const oldRecords = old.appendUsage(2);
    await waitFor(() => old.ledger.depth().count === 0, 10_000);
    expect((await retainedAck(broker.url))['seq']).toBe(2);
    await old.closeOnce();

    // Re-imaged: a new, empty database, seqs from 1 again; nobody touches anything by hand.
    const fresh = station(broker.url);
    expect(fresh.ledger.ledger()).not.toBe(old.ledger.ledger());
    await fresh.link.start();
    const newRecords = fresh.appendUsage(2);
    expect(newRecords.map((r) => r.seq)).toEqual([1, 2]);

    // The county holds all four, the old ones where they were; the new ones are counted.
    await waitFor(async () => (await store.countRecords()) === 4, 10_000);
    expect((await store.record(STATION, 1))!.id).toBe(oldRecords[0]!.id);
    expect((await store.record(STATION, 2))!.id).toBe(oldRecords[1]!.id);
    const ids = (await store.usageRecords(STATION, 10)).map((u) => u['id']);
    expect(ids).toEqual(expect.arrayContaining([...oldRecords, ...newRecords].map((r) => r.id)));
    expect(collector.stats()).toMatchObject({ conflicts: 0 });
    expect(await store.station(STATION)).toMatchObject({ ledger: fresh.ledger.ledger(), ledger_base: 2, watermark: 4 });
    expect((await store.station(STATION))!.ledger_changed_at).not.toBeNull();
    const march = { startMs: Date.parse('2026-03-01T00:00:00.000Z'), endMs: Date.parse('2026-04-01T00:00:00.000Z'), timezone: 'Asia/Shanghai', defaultTimezone: 'Asia/Shanghai' };
    expect((await store.usageTotals(march)).find((t) => t.station_id === STATION)?.sessions).toBe(4);

    // The new records leave the station's outbox only on the county's ack for the new ledger.
    await waitFor(() => fresh.ledger.depth().count === 0, 10_000);
    expect(await retainedAck(broker.url)).toEqual({ seq: 2, ledger: fresh.ledger.ledger() });
  });

  it('records the old database\'s records that never arrived as lost, so the new ledger is acked over them', async () => {
    const broker = await Mosquitto.start();
    cleanups.push(() => broker.dispose());
    const dir = tempDir('ledger-replaced-');
    cleanups.push(() => removeDir(dir));
    const store = openSqliteCollectorStore(join(dir, 'county.db'));
    cleanups.push(() => store.close());
    const collector = await startCollector({ url: broker.url, store, prefix: 'stations', gapGraceMs: 200, resendRetryMs: 500, ackIntervalMs: 50 });
    cleanups.push(() => collector.stop());

    // The old PC sent seqs 1, 2 and 4; its seq 3 was still in its outbox when the disk died.
    const oldPc = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => oldPc.endAsync(true));
    const OLD = '01OLDLEDGER0000000000000AA';
    for (const seq of [1, 2, 4]) {
      const r = durableRecord(DEFAULT_SHAPE, stationIdentity(DEFAULT_SHAPE, 0), seq, 1);
      await oldPc.publishAsync(`stations/${STATION}/${r.stream}`, JSON.stringify({ ...r.payload, station_id: STATION, ledger: OLD }), { qos: 1 });
    }
    await waitFor(async () => (await store.station(STATION))?.max_seq === 4, 10_000);

    const fresh = station(broker.url);
    await fresh.link.start();
    fresh.appendUsage(2);
    // Nobody holds seq 3 any more: after the gap grace it is recorded lost, and the new records are acked.
    await waitFor(() => fresh.ledger.depth().count === 0, 10_000);
    expect((await store.lost()).map((l) => [l.from_seq, l.to_seq])).toEqual([[3, 3]]);
    expect(await store.station(STATION)).toMatchObject({ ledger: fresh.ledger.ledger(), ledger_base: 4, watermark: 6 });
    expect(collector.stats()).toMatchObject({ conflicts: 0 });
    expect(await retainedAck(broker.url)).toEqual({ seq: 2, ledger: fresh.ledger.ledger() });
  });
});
