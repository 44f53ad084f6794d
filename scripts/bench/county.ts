/**
 * county: a county's (or a province's) fleet at its normal rates into collectors that share one
 * database. N fleet-simulator stations (in child processes of at most 9,000 stations each: one process's
 * file descriptors) publish into one mosquitto; C collectors (each its own process, one core) in one
 * shared-subscription group store into PostgreSQL 15 (`--store postgres`, default; 20,000 stations) or
 * one SQLite file (`--store sqlite`; 500 stations). Figures: messages/s received vs offered over the
 * window, heartbeat lag (publish → collector), record → ack lag (what a station waits for), every
 * durable record stored once, each collector's CPU.
 */
import { openCollectorStore } from '../../county/open-store.js';
import { Cleanup, Mosquitto, sleep, waitFor } from '../lib/kit/index.js';
import { cpuPercent, figure, round, sampleProcess, type BenchOptions, type BenchResult } from './common.js';
import { AckLagSpy, BENCH_BROKER, benchStore, collectorsReady, LineChild, p, startCollectorChild, startEdgeBroker, sum, type FleetLine, type StoreKind } from './county-kit.js';


/** What the fleet published on the shared topics (heartbeats and durable records): each message reaches one collector. */
const offered = (l: FleetLine | undefined): number => (l ? l.heartbeats + l.published_records + l.replayed + l.resent_records + l.duplicates_sent : 0);
/** Below mosquitto's and each child's descriptor limit (ulimit -n 20,000 here). */
const PER_CHILD = 9_000;
/** Stations one mosquitto takes here (the rest of its 20,000 descriptors: listeners, collectors, spies, the bridge). */
const PER_BROKER = 18_000;

export async function countyBench(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const store: StoreKind = opts.store ?? 'postgres';
  const stations = opts.stations ?? (store === 'postgres' ? 20_000 : 500);
  const collectors = opts.collectors ?? 2;
  const rate = opts.rate ?? 1;
  const windowS = opts.seconds;
  const warmupS = 15;
  const cleanup = new Cleanup();
  try {
    const broker = await Mosquitto.start({ extra: BENCH_BROKER });
    cleanup.add(() => broker.dispose());
    // More stations than one broker takes: every other fleet process connects to an edge broker bridged to
    // this one, and a second spy there measures the record → ack lag its stations see (bridge included).
    const edge = stations > PER_BROKER ? await startEdgeBroker(broker.url, cleanup) : undefined;
    const { db, pgPid } = await benchStore(store, cleanup);
    const cs = Array.from({ length: collectors }, () => startCollectorChild(broker.url, db, cleanup));
    await collectorsReady(cs);
    // Fleet process i's stations are `f<i>-…`; the even ones are behind the edge broker when there is one.
    const onEdge = (station: string): boolean => edge !== undefined && Number(/^f(\d+)-/.exec(station)?.[1]) % 2 === 0;
    const spy = await AckLagSpy.start(broker.url, 'stations', (s) => !onEdge(s));
    cleanup.add(() => spy.stop());
    const edgeSpy = edge ? await AckLagSpy.start(edge.url, 'stations', onEdge) : undefined;
    if (edgeSpy) cleanup.add(() => edgeSpy.stop());

    const children = Math.ceil(stations / PER_CHILD);
    const spreadMs = Math.min(30_000, stations * 2);
    // The fleets stop by themselves; long enough for a slow connect phase (they are stopped after the window anyway).
    const durationS = Math.ceil(spreadMs / 1000) + 600 + warmupS + windowS;
    const fleets = Array.from({ length: children }, (_, i) => {
      const n = Math.floor(stations / children) + (i < stations % children ? 1 : 0);
      const url = edge && i % 2 === 0 ? edge.url : broker.url;
      return new LineChild<FleetLine>('fleet-child.js', ['--url', url, '--stations', String(n), '--rate', String(rate), '--duration', String(durationS), '--id-prefix', `f${i}-`, '--spread-ms', String(spreadMs), '--seed', `county-${i}`], cleanup);
    });
    opts.log(`county: ${stations} stations at ${rate}× in ${children} fleet process(es)${edge ? ' (every other one through an edge broker)' : ''} → ${collectors} collector(s) on ${store}; window ${windowS} s after ${warmupS} s warm-up`);
    // On a loaded machine 20,000 TLS-less connects still take minutes: wait, and say how far it got.
    let said = 0;
    await waitFor(
      'the fleet to connect',
      () => {
        const n = sum(fleets, (f) => f.last?.connected ?? 0);
        if (Date.now() - said > 15_000) {
          said = Date.now();
          opts.log(`county: ${n} of ${stations} stations connected`);
        }
        const dead = fleets.find((f) => f.child.exitCode !== null);
        if (dead) throw new Error(`a fleet process exited: ${dead.errors}`);
        return n >= stations;
      },
      spreadMs + 600_000,
      500,
    );
    await sleep(warmupS * 1000);
    spy.take();
    spy.takeHeartbeats();
    edgeSpy?.take();
    const samplers = cs.map((c) => sampleProcess(c.child.pid!, 1000));
    const brokerSampler = sampleProcess(broker.pid!, 1000);
    const a = { off: sum(fleets, (f) => offered(f.last)), recv: sum(cs, (c) => c.last!.shared), t: performance.now() };
    const from = cs.map((c) => c.lines.length);
    const end = performance.now() + windowS * 1000;
    let maxPending = 0;
    while (performance.now() < end) {
      await sleep(1000);
      for (const c of cs) maxPending = Math.max(maxPending, c.last?.pending ?? 0);
    }
    const hbLags = cs.flatMap((c, i) => c.lines.slice(from[i]).flatMap((l) => l.lag_ms));
    const b = { off: sum(fleets, (f) => offered(f.last)), recv: sum(cs, (c) => c.last!.shared), t: performance.now() };
    const ackLags = [...spy.take(), ...(edgeSpy?.take() ?? [])];
    const spyHb = spy.takeHeartbeats();
    const cpu = samplers.map((s) => cpuPercent(s.stop()));
    const brokerCpu = cpuPercent(brokerSampler.stop());
    const pgCpu = pgPid !== undefined ? 'see notes' : undefined;

    // The fleets stop (SIGTERM, a last stats line); then everything they published must be stored and acked.
    await Promise.all(fleets.map((f) => f.finish(120_000)));
    const allocated = sum(fleets, (f) => f.lines.find((l) => l.final)?.allocated ?? f.last?.allocated ?? 0);
    await waitFor('every record acked', () => spy.unacked === 0 && (edgeSpy?.unacked ?? 0) === 0, 120_000, 500).catch(() => undefined);
    const finals = await Promise.all(cs.map((c) => c.finish()));
    const s = await openCollectorStore(db);
    let stored = 0;
    let contiguous = 0;
    let withGaps = 0;
    try {
      stored = await s.countRecords();
      for (const r of await s.stations()) {
        contiguous += r.watermark;
        if (r.max_seq !== r.watermark) withGaps++;
      }
    } finally {
      await s.close();
    }
    const windowRealS = (b.t - a.t) / 1000;
    const recvRate = (b.recv - a.recv) / windowRealS;
    const offRate = (b.off - a.off) / windowRealS;
    const hbP99 = p(hbLags, 99);
    const ackP99 = p(ackLags, 99);
    return {
      name: store === 'postgres' ? 'county-pg' : 'county-sqlite',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        figure({ metric: 'received (shared topics)', value: round(recvRate, 0), unit: 'msg/s', reference: 'offered by the fleet, same window', reference_value: round(offRate, 0), goal: '≈ offered (≥ 0.98×)', pass: recvRate >= 0.98 * offRate }),
        figure({ metric: 'heartbeat lag p50', value: round(p(hbLags, 50), 0), unit: 'ms', reference: 'same at a plain subscriber', reference_value: round(p(spyHb, 50), 0) }),
        figure({ metric: 'heartbeat lag p99', value: round(hbP99, 0), unit: 'ms', reference: 'same at a plain subscriber', reference_value: round(p(spyHb, 99), 0) }),
        figure({ metric: 'record → ack lag p50', value: round(p(ackLags, 50), 0), unit: 'ms', reference: 'ack interval', reference_value: 200 }),
        figure({ metric: 'record → ack lag p99', value: round(ackP99, 0), unit: 'ms', reference: 'ack interval', reference_value: 200, goal: '≤ 1000 ms', pass: ackP99 <= 1000 }),
        figure({ metric: 'records stored', value: stored, unit: 'records', reference: 'allocated by the fleet', reference_value: allocated, goal: '= allocated, contiguous', pass: stored === allocated && contiguous === allocated && withGaps === 0 }),
        ...cs.map((_, i) => figure({ metric: `collector ${i + 1} cpu`, value: round(cpu[i]!, 1), unit: '% of a core', reference: 'mosquitto cpu', reference_value: round(brokerCpu, 1) })),
      ],
      notes: [
        `${stations} stations at ${rate}× normal (heartbeat ${60 / rate} s, record ${600 / rate} s, state ${300 / rate} s) in ${children} process(es)${edge ? ' (the even-numbered ones through an edge mosquitto bridged to the county one; their record → ack lag timed at the edge)' : ''}, ${collectors} collector process(es) in one $share group on ${store}${pgCpu ? ' (PostgreSQL 15, fsync on)' : ' (WAL, synchronous=FULL)'}; window ${round(windowRealS, 0)} s`,
        `${hbLags.length} heartbeats and ${ackLags.length} records timed (delivery → ack) in the window; stations with max_seq ≠ watermark at the end: ${withGaps}; sum of watermarks ${contiguous}; max write backlog ${maxPending} msgs`,
        `collectors: ${finals.map((f) => `received ${f?.received}, stored ${f?.stored}, duplicates ${f?.duplicates}, store errors ${f?.store_errors}, shed ${f?.shed}`).join(' | ')}`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
