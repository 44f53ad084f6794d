/**
 * npm run bench [-- name… [--json] [--seconds N] [--minutes N]]
 *
 * Benchmarks against the limits of issue 8, each figure beside a reference measured in the same run:
 *   footprint  agent RSS/CPU with 4 simulated devices vs a bare Node process loading the same deps
 *   latency    device state change → MQTT message at a subscriber (and → stationctl devices)
 *   drain      20,000-record outbox replay to mosquitto with acks vs a raw mqtt.js QoS-1 loop
 *   ingest     reference collector fed by 2,000 simulated stations at 10× normal rate
 *   ledger     monthly report on a year of sessions (querySessions + toCsv + dailySummaries)
 *   sealing    (only on request) what sealing adds per usage record (same epoch, new epoch) vs the same record unsealed
 *   console    (only on request) the county console's fleet and monthly pages on a seeded database
 *   soak       (only on request) flapping devices, serial unplugs, broker restarts: RSS, fds, no loss
 *   requests   (only on request) disk written per admitted county request, small vs ~3,000-entry replay cache
 *   county     (only on request) N stations at normal rates into 2 collectors on PostgreSQL (or SQLite)
 *   ceiling    (only on request) the collector's highest sustained msg/s on one core (SQLite or PostgreSQL)
 *   flood      (only on request) other stations' record → ack lag while one station floods, vs no flood
 *   sign-in-burst (only on request) 300 sign-in guesses at once at a console process: how many were checked,
 *              vs the same burst at a build before the fix (--baseline <dist folder>)
 *   hostile    (only on request) one station's 300 states × 4,000 faults: /fleet bytes, time, console RSS vs a clean county
 *   control-flood (only on request) agent RSS while 16 control clients list 100,000 events and never read
 *   notify-storm (only on request) a power cut: --stations (2,000) in 20 towns go offline at once; every station
 *              named at 22 group robots (stand-ins) within 10 minutes, at most 20 messages a minute each, nothing lost
 * Default: footprint latency drain ingest ledger. See docs/benchmarks.md.
 *
 * The county benches take --store sqlite|postgres, --stations N, --collectors N, --rate X, --rates a,b,c.
 * footprint and soak take --node <root>/node/bin/node: the agent and its floor run from an unpacked
 * station package on its bundled Node (what stations run) instead of this checkout on this Node.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { packagedRuntime, type BenchOptions, type BenchResult, type Figure } from './bench/common.js';
import { footprint } from './bench/footprint.js';
import { latency } from './bench/latency.js';
import { drain } from './bench/drain.js';
import { ingestBench } from './bench/ingest.js';
import { ledger } from './bench/ledger.js';
import { sealing } from './bench/sealing.js';
import { soak } from './bench/soak.js';
import { requestsBench } from './bench/requests.js';
import { countyBench } from './bench/county.js';
import { ceilingBench } from './bench/ceiling.js';
import { floodBench } from './bench/flood.js';
import { controlFlood } from './bench/control-flood.js';
import { consolePages } from './bench/console-pages.js';
import { signInBurstBench } from './bench/sign-in-burst.js';
import { hostileStation } from './bench/hostile-station.js';
import { notifyStorm } from './bench/notify-storm.js';

const BENCHES: Record<string, (o: BenchOptions) => Promise<BenchResult>> = {
  footprint,
  latency,
  drain,
  ingest: ingestBench,
  ledger,
  sealing,
  soak,
  requests: requestsBench,
  county: countyBench,
  ceiling: ceilingBench,
  flood: floodBench,
  'control-flood': controlFlood,
  console: consolePages,
  'sign-in-burst': signInBurstBench,
  hostile: hostileStation,
  'notify-storm': notifyStorm,
};
const DEFAULT = ['footprint', 'latency', 'drain', 'ingest', 'ledger'];

function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(v);
}

function line(b: string, f: Figure): string {
  const ref = f.reference_value !== undefined ? `${fmt(f.reference_value)} ${f.unit} (${f.reference})` : f.reference ?? '';
  const ratio = f.ratio !== undefined ? `${f.ratio}×` : '';
  const verdict = f.pass === undefined ? '' : f.pass ? 'ok' : 'MISSED';
  return [b.padEnd(10), f.metric.padEnd(24), `${fmt(f.value)} ${f.unit}`.padEnd(22), ref.padEnd(44), ratio.padEnd(8), (f.goal ?? '').padEnd(22), verdict].join(' ');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '60' },
      minutes: { type: 'string', default: '30' },
      store: { type: 'string' },
      stations: { type: 'string' },
      collectors: { type: 'string' },
      rate: { type: 'string' },
      rates: { type: 'string' },
      node: { type: 'string' },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: npm run bench -- [${Object.keys(BENCHES).join('|')}…] [--json] [--seconds N] [--minutes N] [--node <unpacked package>/node/bin/node]\n`);
    return;
  }
  const names = positionals.length ? positionals : DEFAULT;
  for (const n of names) if (!BENCHES[n]) throw new Error(`unknown benchmark ${n} (known: ${Object.keys(BENCHES).join(', ')})`);
  const seconds = Number(values.seconds);
  const minutes = Number(values.minutes);
  if (!(seconds > 0) || !(minutes > 0)) throw new Error('--seconds and --minutes must be positive numbers');
  // Progress goes to stderr so --json stdout stays machine-readable.
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  if (values.store !== undefined && values.store !== 'sqlite' && values.store !== 'postgres') throw new Error('--store is sqlite or postgres');
  const num = (v: string | undefined, what: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n > 0)) throw new Error(`${what} must be a positive number`);
    return n;
  };
  const opts: BenchOptions = {
    ...(values.node !== undefined ? { runtime: packagedRuntime(resolve(values.node)) } : {}),
    seconds,
    minutes,
    log,
    ...(values.store !== undefined ? { store: values.store } : {}),
    ...(values.stations !== undefined ? { stations: num(values.stations, '--stations')! } : {}),
    ...(values.collectors !== undefined ? { collectors: num(values.collectors, '--collectors')! } : {}),
    ...(values.rate !== undefined ? { rate: num(values.rate, '--rate')! } : {}),
    ...(values.rates !== undefined ? { rates: values.rates.split(',').map((r) => num(r, '--rates')!) } : {}),
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
  };
  const results: BenchResult[] = [];
  for (const n of names) {
    log(`${n}: starting`);
    const t0 = Date.now();
    let r: BenchResult;
    try {
      r = await BENCHES[n]!(opts);
    } catch (err) {
      r = { name: n, elapsed_s: Math.round((Date.now() - t0) / 100) / 10, figures: [], notes: [], error: (err as Error).stack ?? String(err) };
    }
    results.push(r);
    if (!values.json) {
      for (const f of r.figures) process.stdout.write(line(r.name, f) + '\n');
      if (r.error) process.stdout.write(`${r.name.padEnd(10)} ERROR ${r.error.split('\n')[0]}\n`);
    }
    log(`${n}: done in ${r.elapsed_s} s`);
  }
  const host = { cores: (await import('node:os')).cpus().length, cpu: (await import('node:os')).cpus()[0]?.model ?? '?', node: process.version };
  if (values.json) {
    process.stdout.write(JSON.stringify({ host, results }, null, 2) + '\n');
  } else {
    process.stdout.write(`\n== summary (${host.cores} cores, ${host.cpu}, node ${host.node}) ==\n`);
    process.stdout.write(['bench'.padEnd(10), 'metric'.padEnd(24), 'value'.padEnd(22), 'reference (same run)'.padEnd(44), 'ratio'.padEnd(8), 'goal'.padEnd(22), ''].join(' ') + '\n');
    for (const r of results) {
      for (const f of r.figures) process.stdout.write(line(r.name, f) + '\n');
      if (r.error) process.stdout.write(`${r.name.padEnd(10)} ERROR ${r.error.split('\n')[0]}\n`);
      for (const n of r.notes) process.stdout.write(`${''.padEnd(10)} · ${n}\n`);
    }
  }
  const failed = results.some((r) => r.error);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(2);
});
