/**
 * A county collector in its own process for the scale benchmarks, so its CPU is its own (one core:
 * Node runs the collector on one thread) and it does not share an event loop with the load. Prints one
 * JSON line per second: received, stored, write backlog, heartbeat lags (arrival − the heartbeat's `ts`)
 * of the last second and their p50/p99, and its CPU seconds; a last line with `final: true` after SIGTERM, once
 * everything received is written.
 *
 *   node dist/scripts/bench/collector-child.js --url mqtt://127.0.0.1:PORT --db county.db|postgres://… [--group g]
 */
import { parseArgs } from 'node:util';
import { FleetTopics } from '../../protocol/topics.js';
import { createLogger } from '../../agent/log.js';
import { startCollector } from '../../county/collector.js';
import { percentile } from './stats.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      db: { type: 'string' },
      group: { type: 'string', default: 'bench' },
      'max-batch': { type: 'string', default: '2000' },
    },
  });
  if (!values.url || !values.db) throw new Error('--url and --db are required');
  const c = await startCollector({ url: values.url, db: values.db, group: values.group, maxBatch: Number(values['max-batch']), log: createLogger('warn', process.stderr) });
  const fleet = new FleetTopics('stations');
  let lags: number[] = [];
  const all: number[] = [];
  /** Messages of the shared topics (each reaches one collector of the group): what a fleet offers to the group. */
  let shared = 0;
  c.client.on('message', (topic, buf) => {
    const kind = fleet.parse(topic)?.kind;
    if (kind === 'heartbeat' || kind === 'usage' || kind === 'events') shared++;
    if (kind !== 'heartbeat') return;
    const m = /"ts":"([^"]+)"/.exec(buf.toString('utf8', 0, 120));
    if (m) lags.push(Date.now() - Date.parse(m[1]!));
  });
  const line = (final: boolean): void => {
    const s = c.stats();
    const u = process.cpuUsage();
    all.push(...lags);
    process.stdout.write(
      JSON.stringify({
        t: Date.now(),
        final,
        received: s.received,
        shared,
        stored: s.stored,
        duplicates: s.duplicates,
        quarantined: s.quarantined,
        malformed: s.malformed,
        shed: s.shed,
        resend_unknown: s.resend_unknown,
        store_errors: s.store_errors,
        acks: s.acks_published,
        pending: c.pending(),
        lag_p50: lags.length ? percentile(lags, 50) : null,
        lag_p99: lags.length ? percentile(lags, 99) : null,
        // The second's heartbeat lags themselves (ms), so a bench takes exact percentiles over its window.
        lag_ms: lags.map((x) => Math.round(x)),
        cpu_s: (u.user + u.system) / 1e6,
        ...(final ? { lag_all_p50: all.length ? percentile(all, 50) : null, lag_all_p99: all.length ? percentile(all, 99) : null } : {}),
      }) + '\n',
    );
    lags = [];
  };
  const every = setInterval(() => line(false), 1_000);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearInterval(every);
  await c.stop();
  line(true);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`collector-child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
