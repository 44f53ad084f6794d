/**
 * hostile: issue row 4, one station's 300 device states of 4,000 faults each (each under the payload cap
 * and the rate limit), against a county of 50 ordinary stations. The console runs in its own process
 * (console-child.ts) so its RSS is its own; each page is fetched RUNS times on a fresh connection and its
 * bytes and wall time are taken, the console's RSS sampled every 20 ms. Three scenarios, same run:
 *   clean   the 50 stations alone (the reference);
 *   door    the hostile station publishes through mosquitto into the real collector (SQLite);
 *   stored  the same states written straight into the store, as a collector without the caps stored them.
 * Run it on the code before the caps to get the "before" figures of the door scenario.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';
import { startCollector } from '../../county/collector.js';
import { upsertAccount } from '../../county/console/accounts.js';
import { openCollectorStore } from '../../county/open-store.js';
import { FleetTopics } from '../../protocol/topics.js';
import type { DeviceStatePayload } from '../../protocol/payloads.js';
import { seedConsoleDb } from '../console/seed.js';
import { DEFAULT_SHAPE, deviceState, SIM_DEVICES, stationIdentity } from '../fleet/generate.js';
import { Cleanup, Mosquitto, figure, percentile, round, sampleProcess, tempDir, waitFor, type BenchOptions, type BenchResult, type Figure } from './common.js';

const RUNS = 5;
const STATES = 300;
const FAULTS = 4_000;
const HOSTILE = 'hostile-1';
const CHILD_JS = join(import.meta.dirname, 'console-child.js');

function get(url: string, cookie: string): Promise<{ status: number; bytes: number; ms: number; body: string; cookies: string[] }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { cookie } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, bytes: body.length, ms: performance.now() - t0, body: body.length < 1e6 ? body.toString() : '', cookies: res.headers['set-cookie'] ?? [] });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function signIn(base: string): Promise<string> {
  const page = await get(`${base}/login`, '');
  const pre = page.cookies.map((c) => c.split(';')[0]).join('; ');
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const body = new URLSearchParams({ _csrf: token, user: 'bench', password: 'bench-password', back: '/fleet' }).toString();
  return new Promise((resolve, reject) => {
    const req = request(`${base}/login`, { method: 'POST', agent: false, headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      res.resume();
      resolve((res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; '));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Measured {
  bytes: number;
  p50_ms: number;
  max_ms: number;
  rss_idle_mb: number;
  rss_peak_mb: number;
  statuses: number[];
}

/** A fresh console process on `db`: /fleet RUNS times, its RSS sampled throughout. */
async function measure(db: string, users: string): Promise<Measured> {
  const child = spawn(process.execPath, [CHILD_JS, '--db', db, '--users', users], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`console-child exited ${code}`)));
    });
    const { url } = JSON.parse(line) as { url: string };
    const cookie = await signIn(url);
    const sampler = sampleProcess(child.pid!, 20);
    const times: number[] = [];
    const statuses: number[] = [];
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const r = await get(`${url}/fleet`, cookie);
      times.push(r.ms);
      statuses.push(r.status);
      bytes = r.bytes;
    }
    const samples = sampler.stop();
    return {
      bytes,
      p50_ms: round(percentile(times, 50), 0),
      max_ms: round(Math.max(...times), 0),
      rss_idle_mb: round(samples[0]!.rss_kb / 1024, 0),
      rss_peak_mb: round(Math.max(...samples.map((s) => s.rss_kb)) / 1024, 0),
      statuses,
    };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

function hostileStates(nowMs: number): DeviceStatePayload[] {
  const st = { ...stationIdentity(DEFAULT_SHAPE, 900), id: HOSTILE };
  return Array.from({ length: STATES }, (_, i) => ({
    ...deviceState(st, SIM_DEVICES[0], true, nowMs),
    id: `p-${i}`,
    errors: Array.from({ length: FAULTS }, (_, k) => ({ code: `f${k}`, severity: 'error' as const, text: `part ${k}` })),
  }));
}

export async function hostileStation(o: BenchOptions): Promise<BenchResult> {
  const started = Date.now();
  const cleanup = new Cleanup();
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    const dir = cleanup.dir(tempDir('bench-hostile-'));
    const db = join(dir, 'county.db');
    const users = join(dir, 'users');
    await upsertAccount(users, 'bench', 'viewer', 'bench-password');
    const store = await openCollectorStore(db);
    cleanup.add(() => store.close());
    await seedConsoleDb(store, { stations: 50, days: 3, historyHours: 0 });
    const clean = await measure(db, users);
    o.log(`clean: /fleet ${clean.bytes} B, p50 ${clean.p50_ms} ms, console RSS peak ${clean.rss_peak_mb} MB`);

    const broker = await Mosquitto.start({ extra: ['max_queued_messages 100000'] });
    cleanup.add(() => broker.dispose());
    const fleet = new FleetTopics('stations');
    const collector = await startCollector({ url: broker.url, db, prefix: fleet.prefix });
    cleanup.add(() => collector.stop());
    const states = hostileStates(Date.now());
    const station = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanup.add(() => station.endAsync(true));
    const t0 = Date.now();
    for (const s of states) await station.publishAsync(fleet.station(HOSTILE).deviceState(s.id), JSON.stringify(s), { qos: 1, retain: true });
    await waitFor('the collector to take the states', () => collector.stats().received >= STATES, 300_000);
    await collector.flush();
    const st = collector.stats();
    notes.push(`door: ${STATES} states published and taken in ${round((Date.now() - t0) / 1000, 1)} s; malformed ${st.malformed} (${JSON.stringify(st.malformed_by_reason)})`);
    const door = await measure(db, users);
    o.log(`door: /fleet ${door.bytes} B, p50 ${door.p50_ms} ms, console RSS peak ${door.rss_peak_mb} MB`);

    const at = new Date().toISOString();
    await store.apply(states.map((s) => ({ kind: 'device_state' as const, station: HOSTILE, device: s.id, state: s, receivedAt: at })));
    const stored = await measure(db, users);
    o.log(`stored: /fleet ${stored.bytes} B, p50 ${stored.p50_ms} ms, console RSS peak ${stored.rss_peak_mb} MB`);

    for (const [label, m] of [['door', door], ['stored', stored]] as const) {
      figures.push(figure({ metric: `${label} /fleet bytes`, value: m.bytes, unit: 'B', reference: 'clean county', reference_value: clean.bytes, goal: '< 300,000 B', pass: m.bytes < 300_000 }));
      figures.push(figure({ metric: `${label} /fleet p50`, value: m.p50_ms, unit: 'ms', reference: 'clean county p50', reference_value: clean.p50_ms }));
      figures.push(figure({ metric: `${label} /fleet max`, value: m.max_ms, unit: 'ms', reference: 'clean county max', reference_value: clean.max_ms }));
      figures.push(figure({ metric: `${label} console RSS peak`, value: m.rss_peak_mb, unit: 'MB', reference: 'clean county peak', reference_value: clean.rss_peak_mb }));
      if (m.statuses.some((s) => s !== 200)) notes.push(`${label}: HTTP statuses ${m.statuses.join(',')}`);
    }
    notes.push(`console RSS idle (after start): clean ${clean.rss_idle_mb} MB, door ${door.rss_idle_mb} MB, stored ${stored.rss_idle_mb} MB`);
    return { name: 'hostile', elapsed_s: round((Date.now() - started) / 1000, 1), figures, notes };
  } catch (err) {
    return { name: 'hostile', elapsed_s: round((Date.now() - started) / 1000, 1), figures, notes, error: (err as Error).message };
  } finally {
    await cleanup.run();
  }
}
