/**
 * flood (issue 12): what one station flooding the collector costs the others. A fleet of `--stations`
 * (500) at `--rate` (10×) publishes into one collector process (`--store`, SQLite by default); first a
 * reference phase without flood, then the same length while one station's credentials publish garbage,
 * records with seqs near 2^53 and forged `sessions.resend` answers as fast as the load generator can
 * (`--rates`, default 20,000 msg/s). Figures: the fleet's record → ack lag and heartbeat lag in each
 * phase, what the collector did with the flood, and how long it took to stop on SIGTERM afterwards.
 */
import { Cleanup, Mosquitto, sleep, waitFor } from '../lib/kit/index.js';
import { figure, round, type BenchOptions, type BenchResult } from './common.js';
import { AckLagSpy, benchStore, collectorsReady, LineChild, p, startCollectorChild, type CollectorLine, type FleetLine, type StoreKind } from './county-kit.js';


export async function floodBench(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const store: StoreKind = opts.store ?? 'sqlite';
  const stations = opts.stations ?? 500;
  const rate = opts.rate ?? 10;
  const floodRate = opts.rates?.[0] ?? 20_000;
  const phaseS = Math.max(10, Math.min(60, opts.seconds));
  const cleanup = new Cleanup();
  try {
    const broker = await Mosquitto.start({ extra: ['max_queued_messages 10000000', 'max_inflight_messages 0', 'max_connections -1'] });
    cleanup.add(() => broker.dispose());
    const { db } = await benchStore(store, cleanup);
    const collector = startCollectorChild(broker.url, db, cleanup);
    await collectorsReady([collector]);
    const spy = await AckLagSpy.start(broker.url);
    cleanup.add(() => spy.stop());
    const fleet = new LineChild<FleetLine>('fleet-child.js', ['--url', broker.url, '--stations', String(stations), '--rate', String(rate), '--duration', String(2 * phaseS + 60), '--seed', 'flood'], cleanup);
    await waitFor('the fleet to connect', () => (fleet.last?.connected ?? 0) >= stations, 120_000, 200);
    await sleep(10_000);

    const phase = async (flood: boolean): Promise<{ ack: number[]; hb: number[]; c0: CollectorLine; c1: CollectorLine; sent: number }> => {
      spy.take();
      const c0 = collector.last!;
      const from = collector.lines.length;
      let sent = 0;
      if (flood) {
        const load = new LineChild<{ sent: number; final: boolean }>('load-child.js', ['--url', broker.url, '--mode', 'flood', '--rate', String(floodRate), '--seconds', String(phaseS), '--stations', '1', '--id-prefix', 'evil-'], cleanup);
        await load.exited;
        sent = load.lines.find((l) => l.final)?.sent ?? 0;
      } else await sleep(phaseS * 1000);
      const hb = collector.lines.slice(from).flatMap((l) => (l.lag_p99 === null ? [] : [l.lag_p99]));
      return { ack: spy.take(), hb, c0, c1: collector.last!, sent };
    };
    opts.log(`flood: ${stations} stations at ${rate}× → collector on ${store}; ${phaseS} s reference, then ${phaseS} s with one station flooding at ${floodRate} msg/s`);
    const ref = await phase(false);
    const fl = await phase(true);
    // The backlog the flood left, then SIGTERM: how long until the process is gone.
    const backlog = collector.last!.pending;
    const stopAt = performance.now();
    const final = await collector.finish(120_000);
    const stopMs = performance.now() - stopAt;
    const handled = final ? final.malformed + final.quarantined + final.shed - (ref.c1.malformed + ref.c1.quarantined + ref.c1.shed) : Number.NaN;
    const fig = (metric: string, f: number, r: number) => figure({ metric, value: round(f, 0), unit: 'ms', reference: 'same, no flood', reference_value: round(r, 0) });
    return {
      name: store === 'postgres' ? 'flood-pg' : 'flood-sqlite',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        fig('others record→ack p50', p(fl.ack, 50), p(ref.ack, 50)),
        fig('others record→ack p99', p(fl.ack, 99), p(ref.ack, 99)),
        fig('heartbeat lag p99 (max/s)', Math.max(...fl.hb), Math.max(...ref.hb)),
        figure({ metric: 'flood messages offered', value: fl.sent, unit: 'msgs', reference: 'per second', reference_value: round(fl.sent / phaseS, 0) }),
        figure({ metric: 'SIGTERM → exit', value: round(stopMs, 0), unit: 'ms', reference: 'write backlog at SIGTERM (msgs)', reference_value: backlog }),
      ],
      notes: [
        `fleet: ${stations} stations at ${rate}× (${fl.ack.length} records timed with the flood, ${ref.ack.length} without); collector on ${store}`,
        `flood handled (not stored): malformed + quarantined + shed ${handled} (forged resend answers are counted apart: resend_unknown); received during the flood phase ${fl.c1.received - fl.c0.received}`,
        `collector at the end: stored ${final?.stored}, quarantined ${final?.quarantined}, malformed ${final?.malformed}, shed ${final?.shed}, store errors ${final?.store_errors}`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
