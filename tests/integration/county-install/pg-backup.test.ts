/**
 * The install's database and its backup, as docs/county.md says to do them, against the kit's real
 * PostgreSQL 15: the collector reaches PostgreSQL over the local socket with the URL form the example
 * config uses (postgresql:///station_county?host=<socket dir>), stores a fleet's records, then
 * `pg_dump -Fc` → `pg_restore` into a new database, and the console's store reads the same rows from
 * the restored database as from the original.
 */
import { execFile } from 'node:child_process';
import { chownSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { parse as parsePgUrl } from 'pg-connection-string';
import { Mosquitto, Postgres, PG_BIN, waitFor } from '../../../scripts/lib/kit/index.js';
import { startCollector } from '../../../county/collector.js';
import { isPostgresUrl, openCollectorStore } from '../../../county/open-store.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { parseCountyConfig } from '../../../county/config.js';
import { startFleet } from '../../../scripts/fleet-sim.js';
import { tempDir } from '../../helpers/temp.js';

const run = promisify(execFile);
const STATIONS = 4;
const RECORDS = 15;

let socketDir: string;
let pg_: Postgres;
let broker: Mosquitto;

/** The socket folder must be writable by the server, which the kit runs as `postgres` when we are root. */
function serverOwned(dir: string): string {
  if (process.getuid?.() === 0) {
    // The kit's choice, in its order: postgres, else nobody.
    const lines = readFileSync('/etc/passwd', 'utf8').split('\n');
    const f = (lines.find((l) => l.startsWith('postgres:')) ?? lines.find((l) => l.startsWith('nobody:')))?.split(':');
    if (f) chownSync(dir, Number(f[2]), Number(f[3]));
  }
  return dir;
}

beforeAll(async () => {
  socketDir = serverOwned(tempDir('pg-sock-'));
  pg_ = await Postgres.start({ settings: { unix_socket_directories: socketDir } });
  broker = await Mosquitto.start();
}, 60_000);

afterAll(async () => {
  await broker?.dispose();
  await pg_?.dispose();
});

/** The example config's form, plus the kit's port and superuser (Debian's default port and peer auth need neither). */
const socketUrl = (db: string): string => `postgresql:///${db}?host=${socketDir}&port=${pg_.port}&user=postgres`;

async function consoleReads(store: ConsoleDb): Promise<unknown> {
  const stations = await store.stations();
  return {
    count: await store.countRecords(),
    fleet: await store.fleet(),
    records: await Promise.all(stations.map(async (s) => [s.station_id, await store.usageRecords(s.station_id, 1000), await store.events(s.station_id, 1000)])),
  };
}

describe('PostgreSQL over the local socket, and a pg_dump backup restored', () => {
  it('reads the socket URL of the example config as a socket folder and a database', () => {
    const example = parseCountyConfig(readFileSync(join(import.meta.dirname, '../../../county/county.example.yaml'), 'utf8'), '/etc/station-county/county.yaml');
    expect(isPostgresUrl(example.db!)).toBe(true);
    expect(parsePgUrl(example.db!)).toMatchObject({ host: '/var/run/postgresql', database: 'station_county' });
  });

  it('the collector writes over the socket; pg_dump and pg_restore give the console the same rows', async () => {
    await pg_.createDatabase('station_county');
    const collector = await startCollector({ url: broker.url, db: socketUrl('station_county'), prefix: 'bk/stations', gapGraceMs: 300, ackIntervalMs: 50 });
    const fleet = await startFleet({
      url: broker.url,
      prefix: 'bk/stations',
      stations: STATIONS,
      recordsPerStation: RECORDS,
      seed: 'backup',
      intervals: { recordMs: 20, heartbeatMs: 200, stateMs: 150 },
      connectSpreadMs: 50,
    });
    try {
      await waitFor(async () => (await collector.store.countRecords()) === STATIONS * RECORDS, 30_000);
      // It really came over the socket: PostgreSQL shows a unix-socket client with no address (and port -1).
      const admin = new pg.Client({ connectionString: pg_.url() });
      await admin.connect();
      try {
        const r = await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'station_county' AND application_name = 'county-collector' AND client_addr IS NULL AND client_port = -1",
        );
        expect(r.rows[0]!.n).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
    } finally {
      await fleet.stop();
      await collector.stop();
    }
    const dump = join(tempDir('pg-dump-'), 'county.dump');
    await run(join(PG_BIN, 'pg_dump'), ['-Fc', '-d', socketUrl('station_county'), '-f', dump]);
    await pg_.createDatabase('station_county_restored');
    await run(join(PG_BIN, 'pg_restore'), ['--no-owner', '-d', socketUrl('station_county_restored'), dump]);

    const original = await openCollectorStore(socketUrl('station_county'));
    const restored = await openCollectorStore(socketUrl('station_county_restored'));
    try {
      const before = await consoleReads(original);
      expect((before as { count: number }).count).toBe(STATIONS * RECORDS);
      expect(await consoleReads(restored)).toEqual(before);
    } finally {
      await original.close();
      await restored.close();
    }
  }, 90_000);
});
