/**
 * Collectors on PostgreSQL 15 (a real server from the test kit) fed by the fleet simulator over a real
 * mosquitto: two collectors in one shared-subscription group write to one database; every durable
 * record is stored exactly once, every station's watermark reaches its last seq over injected gaps,
 * and the acks a station sees never go down. Plus the versioned migrations: a newer schema is refused.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { Mosquitto, Postgres, waitFor } from '../../../scripts/lib/kit/index.js';
import { startCollector, type Collector } from '../../../county/collector.js';
import { openPgCollectorStore } from '../../../county/pg-store.js';
import type { CollectorWrite } from '../../../county/store.js';
import { PG_MIGRATIONS, VERSION_TABLE } from '../../../county/pg-schema.js';
import { startFleet } from '../../../scripts/fleet-sim.js';
import { ROOT } from '../../helpers/agent.js';
import { legacyRows, rollupWrites, snapshot } from './rollup-fixture.js';
import { eventWrite, TEST_LEDGER } from '../../contract/event-writes.js';

let broker: Mosquitto;
let server: Postgres;
const running: Array<{ stop(): Promise<void> }> = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  [broker, server] = await Promise.all([Mosquitto.start(), Postgres.start()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([broker?.dispose(), server?.dispose()]);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  for (const r of running.splice(0)) await r.stop();
});

describe('collectors on PostgreSQL', () => {
  it('an ack claim holds its stations until the broker has the acks: a newer ack cannot overtake it, and a failed publish gives the claim back', async () => {
    const url = await server.createDatabase('ack_claims');
    const [a, b] = await Promise.all([openPgCollectorStore(url), openPgCollectorStore(url)]);
    const watch = new pg.Client({ connectionString: url });
    await watch.connect();
    const waitingOnLocks = async (): Promise<number> =>
      (await watch.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n as number;
    /** The next usage record of station `ra` after `after`. */
    const L = { ledger: TEST_LEDGER, ledger_base: 0 };
    const nextOf = (after: number): CollectorWrite[] => {
      const w = rollupWrites().find((x) => x.kind === 'record' && x.station === 'ra' && x.stream === 'usage') as Extract<CollectorWrite, { kind: 'record' }>;
      const record = { ...w.record, seq: after + 1, id: `01ROLLUP-NEXT-${after + 1}` } as typeof w.record;
      return [{ ...w, record, raw: JSON.stringify(record) } as CollectorWrite];
    };
    try {
      await a.apply(rollupWrites());
      const wm = (await a.station('ra'))!.watermark;
      let release!: () => void;
      const pubacks = new Promise<void>((r) => (release = r));
      let handed: Array<{ station_id: string; watermark: number }> = [];
      const first = a.publishAcks(async (claims) => {
        handed = claims;
        await pubacks;
      });
      await waitFor('the claim to reach publish', () => handed.length === 2);
      expect(handed).toContainEqual({ station_id: 'ra', watermark: wm, ...L });

      // Meanwhile collector B stores ra's next record; its ack (wm + 1) must not reach the broker before A's (wm).
      let applied = false;
      const applying = b.apply(nextOf(wm)).then(() => (applied = true));
      await waitFor("B's batch to wait for ra's row, or to finish", async () => applied || (await waitingOnLocks()) > 0);
      expect(applied).toBe(false);
      expect(await b.claimAcks()).toEqual([]);
      release();
      expect((await first).map((c) => c.station_id).sort()).toEqual(['ra', 'rb']);
      await applying;
      expect(await b.claimAcks()).toEqual([{ station_id: 'ra', watermark: wm + 1, ...L }]);

      // A publish that fails (no PUBACK in time) undoes the claim: the next pass, here B's, claims it again.
      await a.apply(nextOf(wm + 1));
      await expect(a.publishAcks(async () => Promise.reject(new Error('no PUBACK')))).rejects.toThrow('no PUBACK');
      expect(await b.claimAcks()).toEqual([{ station_id: 'ra', watermark: wm + 2, ...L }]);
    } finally {
      await watch.end();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('two collectors in one $share group store every durable record once, and each station sees its acks only grow', async () => {
    const prefix = `pg-${process.pid}/stations`;
    const url = await server.createDatabase('share_group');
    const collector = async (): Promise<Collector> => {
      const c = await startCollector({ url: broker.url, db: url, prefix, group: 'g1', gapGraceMs: 300, resendRetryMs: 1_000, ackIntervalMs: 50 });
      running.push(c);
      return c;
    };
    const [a, b] = await Promise.all([collector(), collector()]);

    const spy = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    clients.push(spy);
    const acks = new Map<string, number[]>();
    spy.on('message', (topic, payload) => {
      const seq = (JSON.parse(payload.toString()) as { seq: number }).seq;
      (acks.get(topic) ?? acks.set(topic, []).get(topic)!).push(seq);
    });
    await spy.subscribeAsync(`${prefix}/+/ack`, { qos: 1 });

    const fleet = await startFleet({
      url: broker.url,
      prefix,
      stations: 20,
      recordsPerStation: 30,
      seed: 'pg-share',
      intervals: { recordMs: 25, heartbeatMs: 200, stateMs: 150 },
      connectSpreadMs: 100,
      gaps: [
        { station: 3, seq: 7 },
        { station: 11, seq: 20, lost: true },
      ],
      duplicateEvery: 5,
    });
    running.unshift(fleet); // stopped before the collectors
    await fleet.allAllocated();
    await waitFor('every record acked', () => fleet.stats().acked === 600, 30_000);
    await Promise.all([a.flush(), b.flush()]);

    const sa = a.stats();
    const sb = b.stats();
    // Both did part of the work, and together exactly all of it.
    expect(sa.stored).toBeGreaterThan(0);
    expect(sb.stored).toBeGreaterThan(0);
    expect(sa.stored + sb.stored).toBe(599);
    expect(sa.conflicts + sb.conflicts).toBe(0);
    expect(sa.duplicates + sb.duplicates).toBeGreaterThan(0);
    expect(await a.store.countRecords()).toBe(599);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const dup = await db.query('SELECT count(*)::int AS n FROM (SELECT station_id, seq FROM records GROUP BY 1, 2 HAVING count(*) > 1) d');
      expect(dup.rows[0].n).toBe(0);
      const usage = await db.query('SELECT count(*)::int AS n FROM usage');
      const events = await db.query('SELECT count(*)::int AS n FROM events');
      expect(usage.rows[0].n + events.rows[0].n).toBe(599);
    } finally {
      await db.end();
    }
    expect((await a.store.lost()).map((r) => [r.station_id, r.from_seq, r.to_seq])).toEqual([['st-0012', 20, 20]]);
    const rows = await b.store.stations();
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.watermark === 30 && r.max_seq === 30 && r.acked_seq === 30)).toBe(true);

    // What each station saw: never a lower ack after a higher one, and the last one is 30.
    expect(acks.size).toBe(20);
    for (const [topic, seqs] of acks) {
      expect(seqs, topic).toEqual([...seqs].sort((x, y) => x - y));
      expect(seqs.at(-1), topic).toBe(30);
    }
    const gapStation = acks.get(`${prefix}/st-0004/ack`)!;
    expect(gapStation.some((s) => s === 6)).toBe(true);

    // The command line reads the same database through --db postgres://…
    const out = execFileSync(process.execPath, [join(ROOT, 'dist', 'county', 'collector.js'), 'fleet', '--db', url, '--json'], { encoding: 'utf8' });
    const table = JSON.parse(out) as Array<{ station_id: string; watermark: number; missing: number }>;
    expect(table.map((r) => [r.station_id, r.watermark, r.missing])).toEqual(rows.map((r) => [r.station_id, 30, 0]));
  });

  it('migration 2 fills the usage month totals and the latest lamp events, and moves the documents, as the write path keeps them', async () => {
    const written = await openPgCollectorStore(await server.createDatabase('rollups_written'));
    await written.apply(rollupWrites());
    const expected = await snapshot(written);
    await written.close();
    expect((expected as { lamps: string[] }).lamps).toEqual(['ra "p1"', 'ra "p2"', 'ra (none)', 'rb "p2"', 'rb (none)']);
    // The same records in a version-1 database, as the collector of that version stored them.
    const url = await server.createDatabase('rollups_v1');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await db.query(PG_MIGRATIONS[0]!);
      await db.query(`CREATE TABLE ${VERSION_TABLE} (version INTEGER NOT NULL); INSERT INTO ${VERSION_TABLE} VALUES (1)`);
      const rows = legacyRows();
      for (const st of rows.stations) {
        const inv = st.inventory === null ? null : (JSON.parse(st.inventory) as { station: Record<string, string> }).station;
        await db.query(
          'INSERT INTO stations (station_id, first_seen_at, watermark, max_seq, acked_seq, town, timezone, inventory, inventory_at, heartbeat) VALUES ($1, $2, $3, $3, $3, $4, $5, $6, $7, $8)',
          [st.station_id, 'x', st.max_seq, inv?.['town'] ?? null, inv?.['timezone'] ?? null, st.inventory, 'y', '{"v":1}'],
        );
      }
      for (const r of rows.records) await db.query('INSERT INTO records VALUES ($1, $2, $3, $4, false, $5, $6)', [r[0], r[1], r[2], r[3], 'z', r[4]]);
      for (const u of rows.usage) await db.query('INSERT INTO usage VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', u);
      for (const e of rows.events) await db.query('INSERT INTO events VALUES ($1, $2, $3, $4, $5, $6)', e);
    } finally {
      await db.end();
    }
    const migrated = await openPgCollectorStore(url);
    try {
      expect(await snapshot(migrated)).toEqual(expected);
    } finally {
      await migrated.close();
    }
  });

  it('the ledgers migration puts what an older database holds in each station\'s legacy ledger: a re-imaged station\'s records then go above it', async () => {
    const url = await server.createDatabase('ledgers_migration');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      // The database as it was before the ledgers migration (found by what it makes: later ones follow it).
      const before = PG_MIGRATIONS.findIndex((m) => m.includes('CREATE TABLE ledgers'));
      for (const m of PG_MIGRATIONS.slice(0, before)) await db.query(m);
      await db.query(`CREATE TABLE ${VERSION_TABLE} (version INTEGER NOT NULL); INSERT INTO ${VERSION_TABLE} VALUES (${before})`);
      await db.query("INSERT INTO stations (station_id, first_seen_at, watermark, max_seq, acked_seq) VALUES ('s', 'x', 3, 3, 3), ('quiet', 'x', 0, 0, 0)");
      for (const seq of [1, 2, 3]) {
        const w = eventWrite('s', seq, 'agent_start', undefined, { ledger: null, id: `01OLD-${seq}` });
        await db.query('INSERT INTO records (station_id, seq, stream, id, historical, received_at, payload) VALUES ($1, $2, $3, $4, false, $5, $6)', ['s', seq, 'events', w.record.id, 'z', w.raw]);
      }
    } finally {
      await db.end();
    }
    const store = await openPgCollectorStore(url);
    try {
      expect(await store.station('s')).toMatchObject({ ledger: '', ledger_base: 0, ledger_changed_at: null, watermark: 3, acked_seq: 3 });
      expect(await store.station('quiet')).toMatchObject({ ledger: null, ledger_base: 0 });
      expect(await store.ackedStations()).toEqual([{ station_id: 's', acked_seq: 3, ledger: '', ledger_base: 0 }]);
      const fresh = eventWrite('s', 1, 'agent_start', undefined, { ledger: '01NEWLEDGER0000000000000BB', id: '01NEW-1' });
      expect(await store.apply([fresh])).toEqual([{ kind: 'record', outcome: 'stored' }]);
      expect(await store.station('s')).toMatchObject({ ledger: '01NEWLEDGER0000000000000BB', ledger_base: 3, watermark: 4 });
      expect((await store.record('s', 1))!.id).toBe('01OLD-1');
      expect((await store.record('s', 4))!.id).toBe('01NEW-1');
    } finally {
      await store.close();
    }
  });

  it('migrates a new database once, even with collectors starting together, and refuses a newer schema', async () => {
    const url = await server.createDatabase('migrations');
    const stores = await Promise.all([openPgCollectorStore(url), openPgCollectorStore(url), openPgCollectorStore(url)]);
    await Promise.all(stores.map((s) => s.close()));
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      expect((await db.query(`SELECT version FROM ${VERSION_TABLE}`)).rows).toEqual([{ version: PG_MIGRATIONS.length }]);
      await db.query(`UPDATE ${VERSION_TABLE} SET version = $1`, [PG_MIGRATIONS.length + 1]);
      await expect(openPgCollectorStore(url)).rejects.toThrow(`schema version ${PG_MIGRATIONS.length + 1}, newer than this collector (${PG_MIGRATIONS.length})`);
      expect((await db.query(`SELECT version FROM ${VERSION_TABLE}`)).rows).toEqual([{ version: PG_MIGRATIONS.length + 1 }]);
    } finally {
      await db.end();
    }
  });
});
