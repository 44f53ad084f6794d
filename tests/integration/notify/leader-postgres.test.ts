/**
 * Two collectors on one PostgreSQL 15 database (real server, real processes: `node dist/county/
 * collector.js run --notify`, one shared-subscription group on a real mosquitto): one of them sends the
 * group notifications (the holder of a session-level advisory lock), so every message reaches the
 * WeCom stand-in once; when that collector dies (SIGKILL: its connection ends, the server releases the
 * lock) the other takes over and the next messages arrive, once.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openCollectorStore, type CountyStore } from '../../../county/open-store.js';
import { startFleet, type Fleet } from '../../../scripts/fleet-sim.js';
import { Mosquitto, Postgres, sleep, waitFor } from '../../../scripts/lib/kit/index.js';
import { spawnCaptured, type Captured } from '../../../scripts/lib/kit/process.js';
import { RobotStandIns } from '../../../scripts/lib/kit/robots.js';
import { ROOT } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';

const COLLECTOR_JS = join(ROOT, 'dist', 'county', 'collector.js');
const SENDS = 'group notifications: this collector sends';
const cleanups: Array<() => unknown> = [];
let broker: Mosquitto;
let robots: RobotStandIns;
let url: string;
let notifyFile: string;
let reader: CountyStore;

function collector(name: string): Captured {
  const c = spawnCaptured(process.execPath, [COLLECTOR_JS, 'run', '--url', broker.url, '--db', url, '--group', 'county', '--notify', notifyFile, '--print-s', '0'], { ...process.env, COLLECTOR_NAME: name });
  cleanups.push(() => c.stop('SIGKILL'));
  return c;
}

async function connected(c: Captured): Promise<void> {
  await waitFor('a collector to connect', () => {
    if (c.proc.exitCode !== null) throw new Error(`collector exited: ${c.output()}`);
    return c.output().includes('collector connected');
  }, 30_000);
}

/** A fleet of `n` simulated stations (heartbeats every 2 s), online at the county. */
async function fleetOf(prefix: string, n: number): Promise<Fleet> {
  const f = await startFleet({ url: broker.url, stations: n, seed: prefix, shape: { idPrefix: prefix, towns: 2 }, recordsPerStation: 0, intervals: { heartbeatMs: 2_000, recordMs: 3_600_000, stateMs: 3_600_000 } });
  cleanups.push(() => f.stop({ abrupt: true }));
  await waitFor(`${prefix} stations online at the county`, async () => {
    const rows = await reader.stations();
    return f.identities.every((id) => rows.find((r) => r.station_id === id.id)?.online === true);
  }, 30_000);
  return f;
}

/** Messages since the `from`-th received naming `name` (the simulated fleets name their stations alike). */
const told = (name: string, from: number) => robots.received.slice(from).filter((r) => r.kind === 'wecom' && r.text.includes(name));

/** Every station of `fleet` told once since `from` (after the queue drained and an observation window). */
async function eachToldOnce(fleet: Fleet, from: number): Promise<void> {
  await waitFor('every station told', () => fleet.identities.every((id) => told(id.name, from).length > 0), 45_000, 200);
  await waitFor('the queue drained', async () => (await reader.notify.notifyQueued(10)).length === 0, 10_000);
  await sleep(3 * 2_500); // an observation window of three scans, not a wait for something to happen
  for (const id of fleet.identities) {
    expect(told(id.name, from), id.name).toHaveLength(1);
    expect(told(id.name, from)[0]!.text).toContain(id.town);
  }
}

beforeAll(async () => {
  const pgServer = await Postgres.start();
  cleanups.push(() => pgServer.dispose());
  url = await pgServer.createDatabase('notify_leader');
  broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  robots = new RobotStandIns();
  await robots.start();
  cleanups.push(() => robots.stop());
  const dir = tempDir('notify-leader-');
  writeFileSync(join(dir, 'county.url'), `${robots.add('wecom', 'county')}\n`, { mode: 0o600 });
  notifyFile = join(dir, 'notify.yaml');
  const beijing = new Date(Date.now() + 8 * 3_600_000);
  writeFileSync(
    notifyFile,
    stringify({
      targets: [{ id: 'county', kind: 'wecom', url_file: 'county.url', towns: 'all' }],
      // Offline news only: no fault codes, the digest and the month's progress well away from this run.
      rules: { station_offline_after_s: 10, faults: [], daily_digest: `${String((beijing.getUTCHours() + 12) % 24).padStart(2, '0')}:00`, monthly: { day: ((beijing.getUTCDate() + 13) % 28) + 1, time: '09:00' } },
    }),
  );
  // The first collector migrates the database; the second starts once it exists.
  reader = await openCollectorStore(url);
  cleanups.push(() => reader.close());
}, 90_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 60_000);

describe('two collectors on one PostgreSQL', () => {
  it('send each message once; when the sender dies the other takes over', async () => {
    const a = collector('a');
    const b = collector('b');
    await Promise.all([connected(a), connected(b)]);
    await waitFor('one collector to send', () => a.output().includes(SENDS) || b.output().includes(SENDS), 15_000);
    await sleep(3 * 2_000); // an observation window of three lead checks: the other must not lead too
    const [leader, other] = a.output().includes(SENDS) ? [a, b] : [b, a];
    expect(other.output()).not.toContain(SENDS);

    // A power cut: three stations gone at once (their Wills), each told once, by the leader alone.
    const first = await fleetOf('cut-', 3);
    let from = robots.received.length;
    await first.stop({ abrupt: true });
    await eachToldOnce(first, from);

    // The sender dies; the other takes over within its next lead checks and tells the next cut, once.
    const second = await fleetOf('again-', 3);
    await leader.stop('SIGKILL');
    await waitFor('the other collector to take over', () => other.output().includes(SENDS), 15_000);
    from = robots.received.length;
    await second.stop({ abrupt: true });
    await eachToldOnce(second, from);
    expect(robots.answers.filter((x) => !x.endsWith(' 0'))).toEqual([]);
  }, 180_000);
});
