/**
 * Pieces the county benchmarks share (county.ts, ceiling.ts, flood.ts): the store under test (a SQLite
 * file, or a real PostgreSQL 15 from the test kit, durable settings), child processes that print one
 * JSON line per second (collectors, fleets, load), and an MQTT spy that measures, per durable record,
 * the time from its delivery to the ack that covers it (what a station waits for).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { PACKAGE_ROOT } from '../../agent/version.js';
import { FleetTopics, Topics } from '../../protocol/topics.js';
import { Cleanup, Mosquitto, Postgres, sleep, tempDir, waitFor } from '../lib/kit/index.js';
import { percentile } from './stats.js';

export type StoreKind = 'sqlite' | 'postgres';

/** A fresh, empty collector database; removed by the cleanup. */
export async function benchStore(kind: StoreKind, cleanup: Cleanup): Promise<{ db: string; pgPid?: number }> {
  if (kind === 'sqlite') return { db: join(cleanup.dir(tempDir('bench-county-')), 'county.db') };
  const server = await Postgres.start({ durable: true });
  cleanup.add(() => server.dispose());
  return { db: await server.createDatabase('county'), pgPid: server.pid! };
}

/** The broker settings the county benches run with: queues that never drop, no in-flight window. */
export const BENCH_BROKER = ['max_queued_messages 1000000', 'max_inflight_messages 0', 'max_connections -1'];

/**
 * An edge mosquitto bridged to the county's broker (`url`), as a province runs one broker per region in
 * front of its county brokers: one mosquitto process holds at most `ulimit -n` (20,000 here) connections,
 * so a fleet of 20,000 stations is split over two. What stations publish goes up (`out`), the county's
 * acks and requests come down (`in`); each topic is listed once, so nothing loops. Resolves once a
 * request published at the county broker reaches a subscriber at the edge.
 */
export async function startEdgeBroker(url: string, cleanup: Cleanup, prefix = 'stations'): Promise<Mosquitto> {
  const county = new URL(url);
  const f = new FleetTopics(prefix);
  const up = ['status', 'inventory', 'heartbeat', 'usage', 'events', 'device_state', 'response'] as const;
  const down = ['ack', 'request'] as const;
  const edge = await Mosquitto.start({
    extra: [
      ...BENCH_BROKER,
      'connection county',
      `address ${county.hostname}:${county.port}`,
      'cleansession true',
      'try_private true',
      ...up.map((k) => `topic ${f.filter(k)} out 1`),
      ...down.map((k) => `topic ${f.filter(k)} in 1`),
    ],
  });
  cleanup.add(() => edge.dispose());
  const below = await mqtt.connectAsync(edge.url, { reconnectPeriod: 0, clean: true });
  const above = await mqtt.connectAsync(url, { reconnectPeriod: 0, clean: true });
  try {
    let arrived = false;
    const probe = new Topics(prefix, 'bridge-probe').request('ping');
    below.on('message', () => (arrived = true));
    await below.subscribeAsync(probe, { qos: 0 });
    await waitFor('the edge broker to bridge to the county broker', async () => {
      await above.publishAsync(probe, 'ping', { qos: 0 });
      await sleep(100);
      return arrived;
    }, 30_000, 0);
  } finally {
    await Promise.all([below.endAsync(), above.endAsync()]);
  }
  return edge;
}

/** A node child running a dist/scripts/bench script that prints JSON lines. */
export class LineChild<T extends { final?: boolean }> {
  readonly lines: T[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(script: string, args: string[], cleanup: Cleanup, nodeArgs: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, join(PACKAGE_ROOT, 'dist', 'scripts', 'bench', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as T);
      } catch {
        /* not ours */
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    cleanup.add(() => {
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    });
  }

  get last(): T | undefined {
    return this.lines.at(-1);
  }

  get errors(): string {
    return this.stderr;
  }

  /** SIGTERM, then the `final` line (or the exit). */
  async finish(timeoutMs = 60_000): Promise<T | undefined> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await waitFor(`${this.child.spawnfile} to finish`, () => this.child.exitCode !== null || this.last?.final === true, timeoutMs, 50).catch(() => undefined);
    // The process exits right after its final line; give it that moment (a --cpu-prof profile is written then).
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 15_000).unref())]);
    return this.lines.find((l) => l.final) ?? this.last;
  }
}

/** What fleet-child.ts prints (the fleet simulator's stats). */
export interface FleetLine {
  t: number;
  final: boolean;
  connected: number;
  allocated: number;
  published_records: number;
  heartbeats: number;
  states: number;
  replayed: number;
  resent_records: number;
  duplicates_sent: number;
}

/** What collector-child.ts prints. */
export interface CollectorLine {
  t: number;
  final: boolean;
  received: number;
  /** Of them, messages of the shared topics (heartbeats, usage, events). */
  shared: number;
  stored: number;
  duplicates: number;
  quarantined: number;
  malformed: number;
  shed: number;
  resend_unknown: number;
  store_errors: number;
  acks: number;
  pending: number;
  lag_p50: number | null;
  lag_p99: number | null;
  /** The heartbeat lags of that second (ms). */
  lag_ms: number[];
  cpu_s: number;
  lag_all_p50?: number | null;
  lag_all_p99?: number | null;
}

/**
 * Node options for the collector processes only, from `BENCH_COLLECTOR_NODE_ARGS` (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where a collector's time goes (NODE_OPTIONS refuses --cpu-prof).
 */
const collectorNodeArgs = (): string[] => (process.env['BENCH_COLLECTOR_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');

export function startCollectorChild(url: string, db: string, cleanup: Cleanup): LineChild<CollectorLine> {
  return new LineChild<CollectorLine>('collector-child.js', ['--url', url, '--db', db, '--group', 'bench'], cleanup, collectorNodeArgs());
}

/** Waits for every collector's first line (it prints once subscribed). */
export async function collectorsReady(cs: ReadonlyArray<LineChild<CollectorLine>>): Promise<void> {
  await waitFor(
    'the collectors to subscribe',
    () => {
      const dead = cs.find((c) => c.child.exitCode !== null);
      if (dead) throw new Error(`collector exited: ${dead.errors}`);
      return cs.every((c) => c.lines.length > 0);
    },
    60_000,
    50,
  );
}

/** Waits until the collector has nothing left to write and received nothing new for a second. */
export async function drained(c: LineChild<CollectorLine>, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    'the collector to drain',
    () => {
      const [x, y] = c.lines.slice(-2);
      return x !== undefined && y !== undefined && y.pending === 0 && x.received === y.received;
    },
    timeoutMs,
    200,
  ).catch(() => undefined);
}

export const sum = <T>(xs: readonly T[], f: (x: T) => number): number => xs.reduce((n, x) => n + f(x), 0);

/**
 * Record delivery → covering ack, per record, as a non-shared subscriber sees both: the time a station
 * waits before its outbox can drop the record. The first delivery of a seq counts (replays do not).
 */
export class AckLagSpy {
  private readonly pending = new Map<string, Map<number, number>>();
  private readonly acked = new Map<string, number>();
  private lags: number[] = [];
  private hbLags: number[] = [];
  private constructor(
    readonly client: MqttClient,
    private readonly times: (station: string) => boolean,
  ) {}

  /** `times`: the stations whose record → ack lag this spy measures (default all; heartbeats: all). */
  static async start(url: string, prefix = 'stations', times: (station: string) => boolean = () => true): Promise<AckLagSpy> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, clean: true });
    const spy = new AckLagSpy(client, times);
    const f = new FleetTopics(prefix);
    client.on('message', (topic, buf) => spy.onMessage(f, topic, buf));
    await client.subscribeAsync([f.filter('usage'), f.filter('events'), f.filter('ack'), f.filter('heartbeat')], { qos: 0 });
    return spy;
  }

  private onMessage(f: FleetTopics, topic: string, buf: Buffer): void {
    const t = f.parse(topic);
    if (!t) return;
    if (t.kind === 'heartbeat') {
      // The same lag as the collector's (arrival − the heartbeat's ts) at a subscriber that stores nothing:
      // what the load generator and the broker add, the reference for the collector's figure.
      const ts = /"ts":"([^"]+)"/.exec(buf.toString('utf8', 0, 120));
      if (ts) this.hbLags.push(Date.now() - Date.parse(ts[1]!));
      return;
    }
    if (!this.times(t.station)) return;
    const m = /"seq":(\d+)/.exec(buf.toString('utf8', 0, 400));
    if (!m) return;
    const seq = Number(m[1]);
    const now = performance.now();
    if (t.kind === 'ack') {
      this.acked.set(t.station, Math.max(seq, this.acked.get(t.station) ?? 0));
      const p = this.pending.get(t.station);
      if (!p) return;
      for (const [s, at] of p) {
        if (s > seq) continue;
        this.lags.push(now - at);
        p.delete(s);
      }
      return;
    }
    if (seq <= (this.acked.get(t.station) ?? 0)) return;
    let p = this.pending.get(t.station);
    if (!p) this.pending.set(t.station, (p = new Map()));
    if (!p.has(seq)) p.set(seq, now);
  }

  /** Lags measured since the last take (ms), and resets them. */
  take(): number[] {
    const out = this.lags;
    this.lags = [];
    return out;
  }

  /** Heartbeat lags seen by the spy since the last call (ms), and resets them. */
  takeHeartbeats(): number[] {
    const out = this.hbLags;
    this.hbLags = [];
    return out;
  }

  /** Records delivered and not yet covered by an ack. */
  get unacked(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.size;
    return n;
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export const p = (xs: number[], q: number): number => (xs.length ? percentile(xs, q) : Number.NaN);
