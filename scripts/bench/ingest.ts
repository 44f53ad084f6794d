/**
 * 4. collector ingest: 2,000 simulated stations (startFleet, in a child process) at 10× the normal
 * rates publish into mosquitto; the reference collector (startCollector, in this process) stores
 * into SQLite. Figures: messages/s received and the fleet's offered rate over the same window, lag from
 * a heartbeat's `ts` (set at publish) to its arrival at the collector (p50/p99), the backlog at the end
 * of the load, and durable records stored vs allocated by the fleet.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../agent/version.js';
import { FleetTopics } from '../../protocol/topics.js';
import { startCollector } from '../../county/collector.js';
import type { FleetLine } from './county-kit.js';
import { Mosquitto, Cleanup, cpuPercent, figure, percentile, round, sampleProcess, sleep, tempDir, waitFor, type BenchOptions, type BenchResult } from './common.js';

const STATIONS = 2_000;
const RATE = 10;
const LOAD_S = 75;
const WARMUP_S = 15;


/** Messages the fleet published that the collector subscribes to (status/inventory are few and retained). */
const offered = (l: FleetLine): number => l.heartbeats + l.states + l.published_records + l.replayed + l.resent_records + l.duplicates_sent;

export async function ingestBench(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  try {
    const broker = await Mosquitto.start({ extra: ['max_queued_messages 1000000', 'max_inflight_messages 0', 'max_connections -1'] });
    cleanup.add(() => broker.dispose());
    const dir = cleanup.dir(tempDir('bench-ingest-'));
    const collector = await startCollector({ url: broker.url, db: join(dir, 'county.db'), group: 'bench' });
    cleanup.add(() => collector.stop());
    const lags: number[] = [];
    const byKind: Record<string, number> = {};
    // The fleet child publishes under the default prefix.
    const fleet = new FleetTopics('stations');
    collector.client.on('message', (topic, buf) => {
      const kind = fleet.parse(topic)?.kind ?? '?';
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      if (kind !== 'heartbeat') return;
      const now = Date.now();
      const m = /"ts":"([^"]+)"/.exec(buf.toString('utf8', 0, 120));
      if (m) lags.push(now - Date.parse(m[1]!));
    });

    const child = spawn(
      process.execPath,
      [join(PACKAGE_ROOT, 'dist', 'scripts', 'bench', 'fleet-child.js'), '--url', broker.url, '--stations', String(STATIONS), '--rate', String(RATE), '--duration', String(WARMUP_S + LOAD_S)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanup.add(() => child.kill('SIGTERM'));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let lastLine: FleetLine | undefined;
    createInterface({ input: child.stdout }).on('line', (l) => {
      try {
        lastLine = JSON.parse(l) as FleetLine;
      } catch {
        /* ignore */
      }
    });
    const bench = sampleProcess(process.pid, 1000);
    const brokerSamples = sampleProcess(broker.pid!, 1000);
    opts.log(`ingest: ${STATIONS} stations at ${RATE}× (warm-up ${WARMUP_S} s, load ${LOAD_S} s)`);
    await waitFor('the fleet to connect', () => (lastLine?.connected ?? 0) >= STATIONS, 60_000, 200);
    await sleep(WARMUP_S * 1000);
    const aLine = lastLine!;
    const a = { recv: collector.stats().received, off: offered(aLine), t: performance.now(), lags: lags.length };
    const backlogs: number[] = [];
    const end = performance.now() + (LOAD_S - 5) * 1000;
    while (performance.now() < end && child.exitCode === null) {
      await sleep(1000);
      backlogs.push(offered(lastLine!) - a.off - (collector.stats().received - a.recv));
    }
    const bLine = lastLine!;
    const b = { recv: collector.stats().received, off: offered(bLine), t: performance.now() };
    const windowS = (b.t - a.t) / 1000;
    const loadLags = lags.slice(a.lags);
    await exited;
    const final = lastLine!;
    // Drain: everything published has reached the collector and is written.
    let prev = -1;
    await waitFor(
      'the collector to catch up',
      () => {
        const r = collector.stats().received;
        const still = r === prev;
        prev = r;
        return still;
      },
      60_000,
      2_000,
    ).catch(() => undefined);
    await collector.flush();
    const stats = collector.stats();
    const stored = await collector.store.countRecords();
    const benchSamples = bench.stop();
    const bs = brokerSamples.stop();
    const recvRate = (b.recv - a.recv) / windowS;
    // The fleet's own clock for its side: its stats lines can lag when its event loop is busy.
    const offRate = (b.off - a.off) / Math.max(1, (bLine.t - aLine.t) / 1000);
    const p99 = percentile(loadLags, 99);
    return {
      name: 'ingest',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        figure({ metric: 'received (sustained)', value: round(recvRate, 0), unit: 'msg/s', reference: 'offered by the fleet, same window', reference_value: round(offRate, 0), goal: '≥ 0.99× offered', pass: recvRate >= 0.99 * offRate }),
        figure({ metric: 'lag publish→collector p50', value: round(percentile(loadLags, 50), 0), unit: 'ms' }),
        figure({ metric: 'lag publish→collector p99', value: round(p99, 0), unit: 'ms', reference: 'collector flush period', reference_value: 20 }),
        figure({ metric: 'backlog growth max', value: Math.max(0, ...backlogs), unit: 'msgs', reference: 'offered per second', reference_value: round(offRate, 0) }),
        figure({ metric: 'records stored', value: stored, unit: 'records', reference: 'allocated by the fleet', reference_value: final.allocated, goal: '= allocated', pass: stored === final.allocated }),
        figure({ metric: 'collector+bench cpu', value: round(cpuPercent(benchSamples), 1), unit: '% of a core', reference: 'mosquitto cpu', reference_value: round(cpuPercent(bs), 1) }),
      ],
      notes: [
        `${STATIONS} fleet stations at ${RATE}× normal (heartbeat every ${60 / RATE} s, a record every ${600 / RATE} s, a state change every ${300 / RATE} s) in a child process; collector in the bench process; ${round(windowS, 0)} s measured after ${WARMUP_S} s warm-up`,
        `lag = collector arrival − heartbeat ts (same clock); storage adds ≤ 20 ms flush; ${loadLags.length} heartbeats sampled; heartbeats coalesced ${stats.heartbeats_coalesced}, duplicates ${stats.duplicates}, malformed ${stats.malformed}, store errors ${stats.store_errors}`,
        `collector received by topic (whole run): ${Object.entries(byKind).map(([k, v]) => `${k} ${v}`).join(', ')}; fleet offered: heartbeats ${final.heartbeats}, states ${final.states}, records ${final.published_records + final.replayed + final.resent_records + final.duplicates_sent}`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
