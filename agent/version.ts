import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PACKAGE_ROOT } from '../config/package-root.js';

export { PACKAGE_ROOT };

export const AGENT_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/**
 * Node flags the agent runs with wherever it is started (systemd unit, bin shebang, npm run agent, demo,
 * bench): a 1 MB young generation and one V8 worker thread keep RSS down on a station PC, where the
 * agent allocates little per poll and has no use for parallel GC (docs/benchmarks.md).
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1'];

