/**
 * ceiling: the collector's highest sustained rate on one core. One collector process (Node: one core)
 * stores into SQLite or PostgreSQL 15 (`--store`); a paced load (load-child.ts: heartbeats and durable
 * records in equal parts over 5,000 stations, fresh station ids per step) offers rising rates
 * (`--rates`, msg/s), each for a step of up to `--seconds` (≤ 20). A rate is sustained when the collector
 * received ≥ 0.97× what was offered over the step and its write backlog at the end of the step is under
 * one second of load; the first rate that is not ends the climb. Between steps the collector drains.
 */
import { Cleanup, Mosquitto, sleep, waitFor } from '../lib/kit/index.js';
import { cpuPercent, figure, round, sampleProcess, treeCpuSeconds, type BenchOptions, type BenchResult, type Figure } from './common.js';
import { benchStore, collectorsReady, drained, LineChild, startCollectorChild, type StoreKind } from './county-kit.js';

interface LoadLine {
  t: number;
  final: boolean;
  sent: number;
  records: number;
}

const RATES = [2_000, 5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000];

export async function ceilingBench(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const store: StoreKind = opts.store ?? 'sqlite';
  const stepS = Math.max(6, Math.min(20, opts.seconds));
  const cleanup = new Cleanup();
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    const broker = await Mosquitto.start({ extra: ['max_queued_messages 10000000', 'max_inflight_messages 0', 'max_connections -1'] });
    cleanup.add(() => broker.dispose());
    const { db, pgPid } = await benchStore(store, cleanup);
    const collector = startCollectorChild(broker.url, db, cleanup);
    await collectorsReady([collector]);
    let best = 0;
    let bestCpu = Number.NaN;
    for (const rate of opts.rates ?? RATES) {
      opts.log(`ceiling (${store}): offering ${rate} msg/s for ${stepS} s`);
      const load = new LineChild<LoadLine>('load-child.js', ['--url', broker.url, '--rate', String(rate), '--seconds', String(stepS), '--stations', '5000', '--id-prefix', `c${rate}-`], cleanup);
      await waitFor('the load to start', () => load.lines.length > 0, 20_000, 20);
      // Rates from each side's own per-second lines (their clocks, their last line before the step ended),
      // from 1 s in (connections up, pace settled) to the end of the step.
      await sleep(1_000);
      const from = { load: load.lines.length, collector: collector.lines.length };
      const a = { stored: collector.last!.stored };
      const cpu = sampleProcess(collector.child.pid!, 500);
      const brokerCpu = sampleProcess(broker.pid!, 500);
      const loadCpu = sampleProcess(load.child.pid!, 500);
      const db0 = pgPid === undefined ? undefined : { cpu: treeCpuSeconds(pgPid), t: Date.now() };
      await sleep((stepS - 1.5) * 1000);
      const others = { broker: cpuPercent(brokerCpu.stop()), load: cpuPercent(loadCpu.stop()) };
      const dbCpu = db0 === undefined ? Number.NaN : ((treeCpuSeconds(pgPid!) - db0.cpu) / ((Date.now() - db0.t) / 1000)) * 100;
      const cpuPct = cpuPercent(cpu.stop());
      const rateOf = <T extends { t: number }>(lines: T[], f: (l: T) => number): number => {
        const x = lines[0];
        const y = lines.at(-1);
        return x && y && y.t > x.t ? (f(y) - f(x)) / ((y.t - x.t) / 1000) : Number.NaN;
      };
      const offered = rateOf(load.lines.slice(from.load - 1).filter((l) => !l.final), (l) => l.sent);
      const received = rateOf(collector.lines.slice(from.collector - 1), (l) => l.received);
      const backlog = collector.last!.pending;
      const seconds = stepS - 1.5;
      await load.exited;
      const sustained = received >= 0.97 * offered && backlog < rate && offered >= 0.9 * rate;
      // Drain before the next step: everything received is written.
      await drained(collector);
      const storedRate = (collector.last!.stored - a.stored) / seconds;
      notes.push(
        `${rate} msg/s: offered ${round(offered, 0)}, received ${round(received, 0)} msg/s, stored ${round(storedRate, 0)} records/s, backlog at end ${backlog}, cpu: collector ${round(cpuPct, 0)} %, ${Number.isNaN(dbCpu) ? '' : `postgres ${round(dbCpu, 0)} %, `}mosquitto ${round(others.broker, 0)} %, load generator ${round(others.load, 0)} % → ${sustained ? 'sustained' : 'falls behind'}`,
      );
      if (!sustained) {
        if (offered < 0.9 * rate) notes.push(`the load generator itself reached only ${round(offered, 0)} of ${rate} msg/s on this machine`);
        break;
      }
      best = offered;
      bestCpu = cpuPct;
    }
    const final = await collector.finish();
    figures.push(
      figure({ metric: 'highest sustained rate', value: round(best, 0), unit: 'msg/s', reference: "today's ingest bench offers", reference_value: 433, goal: '≥ 20,000 msg/s', pass: best >= 20_000 }),
      figure({ metric: 'collector cpu at it', value: round(bestCpu, 0), unit: '% of a core' }),
    );
    notes.unshift(`one collector process on ${store}${store === 'postgres' ? ' (PostgreSQL 15, fsync on)' : ' (WAL, synchronous=FULL)'}; half heartbeats (QoS 0), half durable records (QoS 1) over 5,000 stations; steps of ${stepS} s; store errors ${final?.store_errors ?? '?'}, shed ${final?.shed ?? '?'}`);
    return { name: store === 'postgres' ? 'ceiling-pg' : 'ceiling-sqlite', elapsed_s: round((Date.now() - t0) / 1000, 1), figures, notes };
  } finally {
    await cleanup.run();
  }
}
