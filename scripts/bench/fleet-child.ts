/**
 * The collector-ingest benchmark's load generator in its own process (so the fleet's 2,000 MQTT
 * clients do not share an event loop with the collector being measured). Prints one JSON line of
 * fleet stats per second on stdout; stops after --duration seconds or on SIGTERM.
 *
 *   node dist/scripts/bench/fleet-child.js --url mqtt://127.0.0.1:PORT --stations 2000 --rate 10 --duration 90 [--id-prefix a-] [--spread-ms 5000] [--towns 20]
 */
import { parseArgs } from 'node:util';
import { startFleet } from '../fleet-sim.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      stations: { type: 'string', default: '2000' },
      rate: { type: 'string', default: '10' },
      duration: { type: 'string', default: '90' },
      seed: { type: 'string', default: 'bench' },
      // Several children feed one collector: each needs its own station ids.
      'id-prefix': { type: 'string', default: 'st-' },
      'spread-ms': { type: 'string' },
      towns: { type: 'string' },
    },
  });
  if (!values.url) throw new Error('--url is required');
  const durationMs = Number(values.duration) * 1000;
  const fleet = await startFleet({
    url: values.url,
    stations: Number(values.stations),
    rate: Number(values.rate),
    seed: values.seed,
    durationMs,
    shape: { idPrefix: values['id-prefix'], ...(values.towns !== undefined ? { towns: Number(values.towns) } : {}) },
    ...(values['spread-ms'] !== undefined ? { connectSpreadMs: Number(values['spread-ms']) } : {}),
  });
  const report = (final = false): void => {
    process.stdout.write(JSON.stringify({ t: Date.now(), final, ...fleet.stats() }) + '\n');
  };
  const every = setInterval(report, 1_000);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    setTimeout(resolve, durationMs).unref();
  });
  clearInterval(every);
  await fleet.stop();
  report(true);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`fleet-child: ${(err as Error).message}\n`);
  process.exit(1);
});
