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
 * agent allocates little per poll and has no use for parallel GC; no optimising compilers (TurboFan,
 * Maglev), since the agent waits on devices and the network and its hot paths are short: on the packaged
 * Node 22 this took 10 MB off the agent's RSS (the compilers' zones and code, and the pages of their own
 * code in the node binary) for no CPU that the footprint bench can tell apart (docs/benchmarks.md).
 * Sparkplug, the baseline compiler, stays, and so does WebAssembly (fetch needs it), which `--jitless`
 * and `--lite-mode` would take away.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1', '--no-opt', '--no-maglev'];

