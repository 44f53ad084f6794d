/** A DriverContext for driver tests: the real pool, a silent logger, secrets from a temp dir. */
import { readFile } from 'node:fs/promises';
import { silentLogger } from '../../../agent/log.js';
import { SharedResourcePool } from '../../../drivers/shared.js';
import type { DriverContext } from '../../../drivers/types.js';

export function driverContext<C>(config: C): DriverContext<C> {
  return {
    config,
    log: silentLogger,
    readSecret: async (path) => (await readFile(path, 'utf8')).trim(),
    peerState: () => undefined,
    shared: new SharedResourcePool(),
  };
}

/** Heap used after a full GC when --expose-gc is on, else a best effort reading. */
export function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}
