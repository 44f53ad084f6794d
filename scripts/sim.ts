/**
 * `npm run sim -- <name> [--flags]`: runs one device simulator in the foreground until SIGINT/SIGTERM.
 * The table lives in scripts/sims/index.ts.
 */
import { SIMULATORS, findSimulator } from './sims/index.js';
import { parseFlags } from './sims/shared.js';

function usage(): string {
  return ['usage: sim <name> [--flags]', '', ...SIMULATORS.map((s) => `  ${s.name.padEnd(12)} ${s.summary}\n    ${s.usage}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 64;
  }
  const entry = findSimulator(name);
  if (!entry) {
    process.stderr.write(`unknown simulator ${name}\n${usage()}\n`);
    return 64;
  }
  let flags: Map<string, string>;
  try {
    flags = parseFlags(rest);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nusage: sim ${entry.usage}\n`);
    return 64;
  }
  let running;
  try {
    running = await entry.start(flags);
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${running.describe}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
