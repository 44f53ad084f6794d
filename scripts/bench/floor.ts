/**
 * The footprint floor: a bare Node process that loads the agent's runtime dependencies and idles.
 * Started by the footprint benchmark as a child process (node dist/scripts/bench/floor.js).
 */
import { createRequire } from 'node:module';
import 'better-sqlite3';
import 'mqtt';
import 'serialport';
import 'pino';
import 'zod';
import 'yaml';
import 'systeminformation';
import 'croner';
import 'ulid';

const require = createRequire(import.meta.url);
try {
  require('unix-dgram');
} catch {
  /* optional native addon */
}

// Idle until told to stop; one timer so the event loop stays alive like a daemon's.
const timer = setInterval(() => undefined, 60_000);
const stop = (): void => {
  clearInterval(timer);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write('ready\n');
