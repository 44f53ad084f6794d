/**
 * N simulated stations in one process, each with its own MQTT connection and Last Will, publishing the
 * county contract of docs/design.md §5: retained status / inventory / device states, heartbeats, and durable
 * usage records and events with a per-station seq, kept in an in-memory Outbox (the agent's outbox
 * semantics, agent/store/memory-outbox.ts) until the county acks them and replayed (historical) after a
 * reconnect; `request/sessions.resend` is answered. One station is scripts/fleet/station.ts.
 * Content is a pure function of the seed (scripts/fleet/generate.ts), so the expected monthly totals are
 * known without trusting the collector (scripts/fleet/expected.ts).
 *
 *   node dist/scripts/fleet-sim.js --url mqtt://127.0.0.1:1883 --stations 250 --rate 10 --duration 60 [--seed s]
 */
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { expectedMonthly } from './fleet/expected.js';
import { DEFAULT_SHAPE, rng, stationIdentity, type FleetShape } from './fleet/generate.js';
import { SimStation } from './fleet/station.js';
import { NORMAL_INTERVALS, type Fleet, type FleetOptions, type FleetStats } from './fleet/types.js';
import { Topics } from '../protocol/topics.js';

export { NORMAL_INTERVALS } from './fleet/types.js';
export type { ExpectedMonthly, ExpectedStation, Fleet, FleetGap, FleetOptions, FleetStats, StationView } from './fleet/types.js';

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
  let stopped = false;
  const context = { url: opts.url, shape, stats, duplicateEvery: opts.duplicateEvery, stopped: () => stopped };
  const started = Date.now();
  const stations: SimStation[] = [];
  for (let i = 0; i < opts.stations; i++) {
    const id = stationIdentity(shape, i);
    const s = new SimStation(id, new Topics(prefix, id.id), started, context);
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
  const waiters: Array<() => void> = [];
  const allDone = (): boolean => stations.every((x) => x.lastSeq >= limit);

  // Connects are spread so the broker sees a ramp, not a thundering herd.
  const spread = opts.connectSpreadMs ?? Math.min(5_000, opts.stations * 2);
  const connectTimers: NodeJS.Timeout[] = [];
  stations.forEach((s, i) => {
    const delay = stations.length > 1 ? (spread * i) / (stations.length - 1) : 0;
    if (delay === 0) s.connect();
    else connectTimers.push(setTimeout(() => s.connect(), delay));
  });

  const tick = (): void => {
    const now = Date.now();
    for (const s of stations) {
      const c = s.client;
      if (!c) continue;
      if (now >= s.nextRecord) {
        s.nextRecord += iv.recordMs;
        if (s.lastSeq < limit) {
          s.allocate();
          if (s.lastSeq >= limit && allDone()) waiters.splice(0).forEach((w) => w());
        }
      }
      if (!c.connected) continue;
      if (now >= s.nextHeartbeat) {
        s.nextHeartbeat += iv.heartbeatMs;
        s.heartbeat(now);
      }
      if (now >= s.nextState) {
        s.nextState += iv.stateMs;
        s.toggleDevice(now);
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
      await Promise.all(stations.map((s) => s.stop(options.abrupt === true)));
    })());
  const durationTimer = opts.durationMs !== undefined ? setTimeout(() => void stop(), opts.durationMs) : undefined;

  return {
    identities: stations.map((s) => s.id),
    stats: () => ({
      ...stats,
      outbox: stations.reduce((n, s) => n + s.outbox.depth().count, 0),
      acked: stations.reduce((n, s) => n + s.acked, 0),
      connected: stations.filter((s) => s.client?.connected).length,
    }),
    station: (i) => {
      const s = stations[i];
      if (!s) throw new Error(`no station ${i}`);
      return { id: s.id.id, town: s.id.town, last_seq: s.lastSeq, acked: s.acked, outbox: s.outbox.depth().count, connected: s.client?.connected ?? false };
    },
    expectedMonthly: (month) => expectedMonthly(shape, stations, month),
    dropConnection: (i) => {
      stations[i]?.client?.stream.destroy();
    },
    allAllocated: () =>
      limit === Infinity ? Promise.reject(new Error('allAllocated needs recordsPerStation')) : allDone() ? Promise.resolve() : new Promise<void>((r) => waiters.push(r)),
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
