/**
 * A county as one hostile station meets it: a real mosquitto, the real collector (startCollector) writing
 * a SQLite file, the real console over HTTP on the same file with a signed-in viewer, and the built
 * `collector report` CLI. Shared by the per-row tests and the property test of one-station bounds.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startCollector, type Collector } from '../../../county/collector.js';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { openCollectorStore } from '../../../county/open-store.js';
import { startConsole, type ConsoleServer } from '../../../county/console/server.js';
import { FleetTopics } from '../../../protocol/topics.js';
import { removeDir, tempDir, waitFor, type Mosquitto } from '../../../scripts/lib/kit/index.js';
import { ROOT } from '../../helpers/agent.js';

const COLLECTOR_JS = join(ROOT, 'dist', 'county', 'collector.js');

/** A signed-in browser: GETs a page and returns its status, size and time. */
export class Viewer {
  private cookie = '';
  constructor(readonly base: string) {}

  static async signIn(base: string, user: string, password: string): Promise<Viewer> {
    const v = new Viewer(base);
    const login = await fetch(`${base}/login`);
    v.cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const token = /name="_csrf" value="([^"]+)"/.exec(await login.text())![1]!;
    const res = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: v.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token, user, password, back: '/fleet' }).toString(),
    });
    if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
    v.cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    return v;
  }

  /** A fresh connection per page (no keep-alive): a pooled one the server closed while a test wrote rows would reset. */
  get(path: string): Promise<{ status: number; bytes: number; ms: number; text: string }> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(this.base + path, { agent: false, headers: { cookie: this.cookie } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, bytes: body.length, ms: performance.now() - t0, text: body.toString('utf8') });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }
}

export interface County {
  dir: string;
  db: string;
  fleet: FleetTopics;
  collector: Collector;
  /** The console's own store on the same file (writes through it bypass the collector's door: rows stored before). */
  store: ConsoleDb;
  console: ConsoleServer;
  viewer: Viewer;
  station: MqttClient;
  stop(): Promise<void>;
}

let n = 0;

/** A county on a SQLite file in a temp folder, or on `pgUrl` (a PostgreSQL database of the kit's server). */
export async function startCounty(broker: Mosquitto, pgUrl?: string): Promise<County> {
  const dir = tempDir('hostile-county-');
  const db = pgUrl ?? join(dir, 'county.db');
  const fleet = new FleetTopics(`hostile${++n}-${process.pid}/stations`);
  const stops: Array<() => Promise<unknown> | unknown> = [() => removeDir(dir)];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const collector = await startCollector({ url: broker.url, db, prefix: fleet.prefix, flushMs: 5 });
    stops.push(() => collector.stop());
    const store = await openCollectorStore(db);
    stops.push(() => store.close());
    const users = join(dir, 'users');
    await upsertAccount(users, 'clerk', 'viewer', 'clerk-password-1');
    const server = await startConsole({ store, accounts: new AccountFile(users), port: 0 });
    stops.push(() => server.close());
    const viewer = await Viewer.signIn(server.url, 'clerk', 'clerk-password-1');
    const station = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    stops.push(() => station.endAsync(true));
    return { dir, db, fleet, collector, store, console: server, viewer, station, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Publishes as station `stationId` (retained like the agent does for its state topics) and waits until
 * the collector has received and written `count` more messages.
 */
export async function publish(c: County, messages: ReadonlyArray<{ topic: string; payload: string; retain?: boolean }>): Promise<void> {
  const before = c.collector.stats().received;
  for (const m of messages) await c.station.publishAsync(m.topic, m.payload, { qos: 1, retain: m.retain ?? true });
  await waitFor('the collector to receive them', () => c.collector.stats().received >= before + messages.length, 120_000);
  await c.collector.flush();
}

/** The built `collector report` CLI on the county's database. */
export function report(db: string, month: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [COLLECTOR_JS, 'report', '--db', db, '--month', month], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
