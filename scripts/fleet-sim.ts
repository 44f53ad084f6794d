/**
 * N simulated stations in one process, each with its own MQTT connection and Last Will, publishing the
 * county contract of docs/design.md §5: retained status / inventory / device states, heartbeats, and durable
 * usage records and events with a per-station seq, kept in an in-memory outbox until the county acks
 * them and replayed (historical) after a reconnect; `request/sessions.resend` is answered.
 * Content is a pure function of the seed (scripts/fleet/generate.ts), so the expected monthly totals are
 * known without trusting the collector.
 *
 *   node dist/scripts/fleet-sim.js --url mqtt://127.0.0.1:1883 --stations 250 --rate 10 --duration 60 [--seed s]
 */
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import mqtt, { type MqttClient } from 'mqtt';
import {
  DEFAULT_SHAPE,
  deviceState,
  durableRecord,
  hasFault,
  heartbeat,
  inventory,
  rng,
  SIM_DEVICES,
  stationIdentity,
  type FleetShape,
  type StationIdentity,
} from './fleet/generate.js';

/** Intervals of a real station at rate 1 (docs/design.md: heartbeat_s 60; a few sessions and events a day). */
export const NORMAL_INTERVALS = { heartbeatMs: 60_000, recordMs: 600_000, stateMs: 300_000 } as const;

export interface FleetGap {
  /** Station index (0-based). */
  station: number;
  seq: number;
  /** The station "no longer has" it: never published, and a resend answers without it. */
  lost?: boolean;
}

export interface FleetOptions {
  url: string;
  stations: number;
  /** Multiplies the normal rates (heartbeats, records, state changes). Default 1. */
  rate?: number;
  /** Overrides the rate-derived intervals. */
  intervals?: Partial<Record<keyof typeof NORMAL_INTERVALS, number>>;
  /** Stop allocating durable records after this many per station (deterministic totals). */
  recordsPerStation?: number;
  /** Stop everything after this long (the CLI's --duration). */
  durationMs?: number;
  seed?: string;
  prefix?: string;
  shape?: Partial<Omit<FleetShape, 'seed'>>;
  /** Seqs withheld on first publish: the county sees a gap and must ask for them. */
  gaps?: FleetGap[];
  /** Publish every Nth record twice (duplicates must be harmless). */
  duplicateEvery?: number;
  /** Initial connects are spread over this long so a big fleet does not connect in one burst. */
  connectSpreadMs?: number;
  /** Scheduler resolution. Default 20 ms. */
  tickMs?: number;
}

export interface FleetStats {
  stations: number;
  connected: number;
  /** Durable records allocated (seq numbers handed out), all stations. */
  allocated: number;
  published_records: number;
  withheld: number;
  duplicates_sent: number;
  heartbeats: number;
  states: number;
  replayed: number;
  resends_answered: number;
  resent_records: number;
  /** Durable records not yet covered by the county ack. */
  outbox: number;
  /** Sum over stations of the county's ack watermark. */
  acked: number;
}

export interface ExpectedStation {
  station_id: string;
  town: string;
  sessions: number;
  duration_s: number;
  signal_s: number;
  short_sessions: number;
  short_duration_s: number;
}

export interface ExpectedMonthly {
  month: string;
  stations: ExpectedStation[];
  total: Omit<ExpectedStation, 'station_id' | 'town'>;
  /** Usage records whose UTC month differs from their Beijing month (checks the time-zone rule is exercised). */
  boundary_sessions: number;
}

export interface StationView {
  id: string;
  town: string;
  last_seq: number;
  acked: number;
  outbox: number;
  connected: boolean;
}

export interface Fleet {
  identities: StationIdentity[];
  stats(): FleetStats;
  station(index: number): StationView;
  /** Totals a collector must report for `month` (YYYY-MM, Asia/Shanghai), over every record allocated so far. */
  expectedMonthly(month: string): ExpectedMonthly;
  /** Cuts one station's TCP connection (the broker publishes its Will; mqtt.js reconnects). */
  dropConnection(index: number): void;
  /** Resolves once every station has allocated `recordsPerStation` records. */
  allAllocated(): Promise<void>;
  stop(options?: { abrupt?: boolean }): Promise<void>;
}

// Asia/Shanghai has had no DST since 1991: a fixed +8 h is exact for the simulated timeline, and keeps
// this expectation independent of the collector's Intl-based month bounds.
const SHANGHAI_OFFSET_MS = 8 * 3600_000;

class SimStation {
  client: MqttClient | undefined;
  boot = 0;
  readonly agentBoot = 1;
  lastSeq = 0;
  acked = 0;
  readonly outbox = new Set<number>();
  readonly withheld = new Set<number>();
  readonly lost = new Set<number>();
  nextHeartbeat = 0;
  nextRecord = 0;
  nextState = 0;
  readonly on = new Map<string, boolean>(SIM_DEVICES.map((d) => [d.id, false]));
  connectedOnce = false;

  constructor(
    readonly id: StationIdentity,
    readonly base: string,
    readonly startedAt: number,
  ) {}
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const shape: FleetShape = { ...DEFAULT_SHAPE, ...opts.shape, seed: opts.seed ?? DEFAULT_SHAPE.seed };
  const prefix = opts.prefix ?? 'stations';
  const rate = opts.rate ?? 1;
  const iv = {
    heartbeatMs: opts.intervals?.heartbeatMs ?? NORMAL_INTERVALS.heartbeatMs / rate,
    recordMs: opts.intervals?.recordMs ?? NORMAL_INTERVALS.recordMs / rate,
    stateMs: opts.intervals?.stateMs ?? NORMAL_INTERVALS.stateMs / rate,
  };
  const limit = opts.recordsPerStation ?? Infinity;
  const stats: FleetStats = {
    stations: opts.stations,
    connected: 0,
    allocated: 0,
    published_records: 0,
    withheld: 0,
    duplicates_sent: 0,
    heartbeats: 0,
    states: 0,
    replayed: 0,
    resends_answered: 0,
    resent_records: 0,
    outbox: 0,
    acked: 0,
  };
  const started = Date.now();
  const stations: SimStation[] = [];
  for (let i = 0; i < opts.stations; i++) {
    const s = new SimStation(stationIdentity(shape, i), `${prefix}/${stationIdentity(shape, i).id}`, started);
    // Phases spread each station's timers so the fleet does not publish in lockstep.
    const r = rng(shape.seed, 'phase', i);
    s.nextHeartbeat = started + r() * iv.heartbeatMs;
    s.nextRecord = started + r() * iv.recordMs;
    s.nextState = started + r() * iv.stateMs;
    stations.push(s);
  }
  for (const g of opts.gaps ?? []) {
    const s = stations[g.station];
    if (!s) throw new Error(`gap for station index ${g.station}, but the fleet has ${stations.length}`);
    s.withheld.add(g.seq);
    if (g.lost) s.lost.add(g.seq);
  }
  let stopped = false;
  const waiters: Array<() => void> = [];

  const publishRecord = (s: SimStation, seq: number, historical: boolean): void => {
    const rec = durableRecord(shape, s.id, seq, s.agentBoot);
    const payload = historical ? { ...rec.payload, historical: true } : rec.payload;
    s.client?.publish(`${s.base}/${rec.stream}`, JSON.stringify(payload), { qos: 1 });
  };

  const allocate = (s: SimStation): void => {
    const seq = ++s.lastSeq;
    stats.allocated++;
    s.outbox.add(seq);
    if (s.withheld.has(seq)) {
      stats.withheld++;
    } else if (s.client?.connected) {
      publishRecord(s, seq, false);
      stats.published_records++;
      if (opts.duplicateEvery && seq % opts.duplicateEvery === 0) {
        publishRecord(s, seq, false);
        stats.duplicates_sent++;
      }
    }
    // Not connected: it waits in the outbox and goes out with the replay after the reconnect.
    if (s.lastSeq >= limit && stations.every((x) => x.lastSeq >= limit)) waiters.splice(0).forEach((w) => w());
  };

  const publishState = (s: SimStation, device: (typeof SIM_DEVICES)[number]): void => {
    s.client?.publish(`${s.base}/devices/${device.id}/state`, JSON.stringify(deviceState(s.id, device, s.on.get(device.id)!, Date.now())), {
      qos: 1,
      retain: true,
    });
    stats.states++;
  };

  const onConnect = (s: SimStation): void => {
    const c = s.client!;
    c.subscribe([`${s.base}/ack`, `${s.base}/request/+`], { qos: 1 });
    c.publish(
      `${s.base}/status`,
      JSON.stringify({
        v: 1,
        online: true,
        station_id: s.id.id,
        boot: s.boot,
        agent_boot: s.agentBoot,
        agent_version: 'fleet-sim',
        started_at: new Date(s.startedAt).toISOString(),
        ts: new Date().toISOString(),
        clock: 'synced',
      }),
      { qos: 1, retain: true },
    );
    if (!s.connectedOnce) {
      s.connectedOnce = true;
      c.publish(`${s.base}/inventory`, JSON.stringify(inventory(s.id, s.agentBoot, s.startedAt, Date.now())), { qos: 1, retain: true });
      for (const d of SIM_DEVICES) publishState(s, d);
    }
    // The real agent waits briefly for the retained ack before replaying, so it does not resend what the
    // county already stored; so does the simulator.
    setTimeout(() => {
      if (!c.connected || stopped) return;
      for (const seq of [...s.outbox].sort((a, b) => a - b)) {
        if (s.withheld.has(seq)) continue;
        publishRecord(s, seq, true);
        stats.replayed++;
      }
    }, 300);
  };

  const onMessage = (s: SimStation, topic: string, payload: Buffer): void => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      return;
    }
    if (topic === `${s.base}/ack`) {
      const seq = msg['seq'];
      if (typeof seq !== 'number') return;
      s.acked = Math.max(s.acked, seq);
      for (const q of s.outbox) if (q <= seq) s.outbox.delete(q);
      return;
    }
    if (topic === `${s.base}/request/sessions.resend`) {
      const args = (msg['args'] ?? {}) as Record<string, unknown>;
      const from = typeof args['from_seq'] === 'number' ? args['from_seq'] : 1;
      const until = Math.min(typeof args['to_seq'] === 'number' ? args['to_seq'] : s.lastSeq, s.lastSeq);
      let count = 0;
      for (let seq = from; seq <= until; seq++) {
        if (s.lost.has(seq)) continue;
        // Delivered on request only: a withheld seq stays withheld for replays, like a record the broker dropped.
        s.withheld.delete(seq);
        publishRecord(s, seq, true);
        count++;
      }
      stats.resends_answered++;
      stats.resent_records += count;
      s.client?.publish(
        `${s.base}/response/sessions.resend`,
        JSON.stringify({
          v: 1,
          transaction: typeof msg['transaction'] === 'string' ? msg['transaction'] : null,
          status: 'ok',
          data: { from_seq: from, to_seq: until, count },
          ts: new Date().toISOString(),
          clock: 'synced',
        }),
        { qos: 1 },
      );
    }
  };

  const connect = (s: SimStation): void => {
    s.boot = 1;
    const will = (boot: number) => ({
      topic: `${s.base}/status`,
      payload: Buffer.from(JSON.stringify({ v: 1, online: false, station_id: s.id.id, boot })),
      qos: 1 as const,
      retain: true,
    });
    const c = mqtt.connect(opts.url, {
      clientId: `sim-${s.id.id}-${shape.seed}`,
      clean: true,
      keepalive: 30,
      // Jittered, so a broker restart is not followed by every station reconnecting in the same instant.
      reconnectPeriod: 1_000 + Math.floor(rng(shape.seed, 'reconnect', s.id.index)() * 2_000),
      will: will(s.boot),
    });
    s.client = c;
    c.on('connect', () => onConnect(s));
    c.on('message', (topic, payload) => onMessage(s, topic, payload));
    c.on('close', () => {
      // +1 per MQTT session, and the Will of the next session must carry it (docs/design.md §5 `boot`).
      s.boot++;
      c.options.will = will(s.boot);
    });
    c.on('error', () => {
      // mqtt.js reconnects by itself; the county sees the outage through the Will.
    });
  };

  // Connects are spread so the broker sees a ramp, not a thundering herd.
  const spread = opts.connectSpreadMs ?? Math.min(5_000, opts.stations * 2);
  const connectTimers: NodeJS.Timeout[] = [];
  stations.forEach((s, i) => {
    const delay = stations.length > 1 ? (spread * i) / (stations.length - 1) : 0;
    if (delay === 0) connect(s);
    else connectTimers.push(setTimeout(() => connect(s), delay));
  });

  const tick = (): void => {
    const now = Date.now();
    for (const s of stations) {
      const c = s.client;
      if (!c) continue;
      if (now >= s.nextRecord) {
        s.nextRecord += iv.recordMs;
        if (s.lastSeq < limit) allocate(s);
      }
      if (!c.connected) continue;
      if (now >= s.nextHeartbeat) {
        s.nextHeartbeat += iv.heartbeatMs;
        const outboxSeqs = [...s.outbox];
        const on = [...s.on.values()].filter(Boolean).length;
        c.publish(
          `${s.base}/heartbeat`,
          JSON.stringify(
            heartbeat(
              s.boot,
              Math.floor((now - s.startedAt) / 1000),
              { depth: outboxSeqs.length, first_seq: outboxSeqs.length ? Math.min(...outboxSeqs) : null, last_seq: s.lastSeq },
              on,
              hasFault(s.id) ? 1 : 0,
              now,
            ),
          ),
          { qos: 0 },
        );
        stats.heartbeats++;
      }
      if (now >= s.nextState) {
        s.nextState += iv.stateMs;
        const device = SIM_DEVICES[Math.floor(rng(shape.seed, 'state', s.id.index, now)() * SIM_DEVICES.length)]!;
        s.on.set(device.id, !s.on.get(device.id));
        publishState(s, device);
      }
    }
  };
  const ticker = setInterval(tick, opts.tickMs ?? 20);
  let stopPromise: Promise<void> | undefined;
  const stop = (options: { abrupt?: boolean } = {}): Promise<void> =>
    (stopPromise ??= (async () => {
      stopped = true;
      clearInterval(ticker);
      if (durationTimer) clearTimeout(durationTimer);
      connectTimers.forEach(clearTimeout);
      await Promise.all(
        stations.map(async (s) => {
          const c = s.client;
          if (!c) return;
          if (!options.abrupt && c.connected) {
            const bye = JSON.stringify({ v: 1, online: false, station_id: s.id.id, boot: s.boot, reason: 'agent_stop' });
            await c.publishAsync(`${s.base}/status`, bye, { qos: 1, retain: true }).catch(() => undefined);
          }
          await c.endAsync(true);
        }),
      );
    })());
  const durationTimer = opts.durationMs !== undefined ? setTimeout(() => void stop(), opts.durationMs) : undefined;

  return {
    identities: stations.map((s) => s.id),
    stats: () => ({
      ...stats,
      outbox: stations.reduce((n, s) => n + s.outbox.size, 0),
      acked: stations.reduce((n, s) => n + s.acked, 0),
      connected: stations.filter((s) => s.client?.connected).length,
    }),
    station: (i) => {
      const s = stations[i];
      if (!s) throw new Error(`no station ${i}`);
      return { id: s.id.id, town: s.id.town, last_seq: s.lastSeq, acked: s.acked, outbox: s.outbox.size, connected: s.client?.connected ?? false };
    },
    expectedMonthly: (month) => {
      const total = { sessions: 0, duration_s: 0, signal_s: 0, short_sessions: 0, short_duration_s: 0 };
      let boundary = 0;
      const rows = stations.map((s) => {
        const row: ExpectedStation = { station_id: s.id.id, town: s.id.town, ...{ sessions: 0, duration_s: 0, signal_s: 0, short_sessions: 0, short_duration_s: 0 } };
        for (let seq = 1; seq <= s.lastSeq; seq++) {
          if (s.lost.has(seq)) continue;
          const rec = durableRecord(shape, s.id, seq, s.agentBoot);
          if (rec.stream !== 'usage') continue;
          const start = Date.parse(rec.payload.start);
          const local = new Date(start + SHANGHAI_OFFSET_MS).toISOString().slice(0, 7);
          if (local !== new Date(start).toISOString().slice(0, 7)) boundary++;
          if (local !== month) continue;
          if (rec.payload.short) {
            row.short_sessions++;
            row.short_duration_s += rec.payload.duration_s;
          } else {
            row.sessions++;
            row.duration_s += rec.payload.duration_s;
            row.signal_s += rec.payload.signal_s;
          }
        }
        for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += row[k];
        return row;
      });
      return { month, stations: rows, total, boundary_sessions: boundary };
    },
    dropConnection: (i) => {
      stations[i]?.client?.stream.destroy();
    },
    allAllocated: () =>
      limit === Infinity
        ? Promise.reject(new Error('allAllocated needs recordsPerStation'))
        : stations.every((s) => s.lastSeq >= limit)
          ? Promise.resolve()
          : new Promise<void>((r) => waiters.push(r)),
    stop,
  };
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('fleet-sim')
    .description('simulated stations publishing the county contract')
    .requiredOption('--url <url>', 'broker URL')
    .option('--stations <n>', 'number of stations', '20')
    .option('--rate <x>', 'multiplier of the normal rates (heartbeat 60 s, a record per 10 min, a state change per 5 min)', '1')
    .option('--duration <s>', 'stop after this many seconds', '60')
    .option('--records <n>', 'durable records per station, then only heartbeats and states')
    .option('--seed <s>', 'content seed', 'fleet')
    .option('--prefix <p>', 'topic prefix', 'stations')
    .showHelpAfterError();
  program.parse(argv, { from: 'user' });
  const o = program.opts<{ url: string; stations: string; rate: string; duration: string; records?: string; seed: string; prefix: string }>();
  const fleet = await startFleet({
    url: o.url,
    stations: Number(o.stations),
    rate: Number(o.rate),
    seed: o.seed,
    prefix: o.prefix,
    durationMs: Number(o.duration) * 1000,
    ...(o.records !== undefined ? { recordsPerStation: Number(o.records) } : {}),
  });
  const report = (): void => {
    process.stdout.write(JSON.stringify(fleet.stats()) + '\n');
  };
  const every = setInterval(report, 5_000);
  const done = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    setTimeout(resolve, Number(o.duration) * 1000);
  });
  await done;
  clearInterval(every);
  await fleet.stop();
  report();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`fleet-sim: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
