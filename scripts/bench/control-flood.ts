/**
 * control-flood (attack run row 5): the agent's memory while `control.max_clients` (16) local clients each
 * ask `events.list` for 100,000 events on a 100,000-event ledger and never read, against the unit's
 * MemoryMax=256M; then one ordinary `stationctl --json events --limit 100000` (to /dev/null). Before the
 * replies were paged, the 16 clients took the agent to 2.8 GB and one stationctl listing to 405 MB.
 * Figures: agent RSS before, peak during the flood, after it; seconds until the agent had closed the
 * unread connections (the write timeout is control.idle_timeout_s); the listing's peak and wall time.
 */
import { spawn } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../agent/version.js';
import { callDaemon } from '../../agent/control/client.js';
import { Cleanup, tempDir, waitFor } from '../lib/kit/index.js';
import { baseStation, figure, rssKb, round, startAgent, type BenchOptions, type BenchResult, type Figure } from './common.js';
import { seedEvents } from './seed-ledger.js';

const EVENTS = 100_000;
const CLIENTS = 16;
const MEMORY_MAX_MB = 256;

/**
 * Resolves once the agent has closed `s`, seen from the client without reading a byte: a space written
 * every 200 ms (no request, so it keeps nothing open) fails with EPIPE once the agent's end is gone.
 */
function closedByAgent(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    const probe = setInterval(() => s.writable && s.write(' '), 200);
    s.once('close', () => {
      clearInterval(probe);
      resolve();
    });
  });
}

/** Samples the agent's RSS every 50 ms until stopped; the peak in MB. */
function peakSampler(pid: number): { stop(): number } {
  let peak = 0;
  const t = setInterval(() => (peak = Math.max(peak, rssKb(pid) || 0)), 50);
  return {
    stop() {
      clearInterval(t);
      return round(peak / 1024, 1);
    },
  };
}

export async function controlFlood(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    const dir = cleanup.dir(tempDir('bench-control-flood-'));
    const seeded = Date.now();
    seedEvents(join(dir, 'data'), EVENTS);
    opts.log(`control-flood: ${EVENTS} events seeded in ${round((Date.now() - seeded) / 1000, 1)} s`);
    // BENCH_AGENT_JS=<another build's dist/agent/main.js> measures that build the same way (before/after a change).
    const agent = await startAgent(dir, { station: baseStation('flood') }, process.env['BENCH_AGENT_JS'] || undefined);
    cleanup.add(() => agent.stop());
    const before = round(rssKb(agent.pid) / 1024, 1);

    const sampler = peakSampler(agent.pid);
    const clients: Socket[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const s = createConnection(agent.socket);
      s.on('error', () => undefined); // the agent resets connections it gives up on
      cleanup.add(() => s.destroy());
      await once(s, 'connect');
      s.write('{"command":"events.list","args":{"limit":100000}}\n'.repeat(4));
      clients.push(s);
    }
    const flooded = Date.now();
    const allClosed = Promise.all(clients.map(closedByAgent));
    // The agent closes each connection once a reply has waited control.idle_timeout_s (60 s by default).
    // A build without the write timeout never closes them: give up after 90 s and close them from this side,
    // so the listing below is not refused as busy.
    const closed = await Promise.race([allClosed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 90_000).unref())]);
    const closedS = closed ? round((Date.now() - flooded) / 1000, 1) : Number.NaN;
    if (!closed) {
      notes.push('the agent kept the unread connections open for 90 s: closed from the client side');
      clients.forEach((s) => s.destroy());
      // The agent notices at its next read of each: a status answered means a slot is free again.
      await waitFor('a free control slot', async () => callDaemon(agent.socket, 'status').then((r) => r.status === 'ok', () => false), 30_000, 500);
    }
    if (agent.child.exitCode !== null) throw new Error(`the agent exited ${agent.child.exitCode}: ${agent.logTail(1000)}`);
    const peak = sampler.stop();
    const after = round(rssKb(agent.pid) / 1024, 1);

    const listing = peakSampler(agent.pid);
    const listed = Date.now();
    const ctl = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'stationctl.js'), '--config', agent.configFile, '--json', 'events', '--limit', String(EVENTS)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let ctlErr = '';
    ctl.stderr.on('data', (b: Buffer) => (ctlErr += b.toString()));
    let ctlPeak = 0;
    const ctlSampler = setInterval(() => (ctlPeak = Math.max(ctlPeak, rssKb(ctl.pid!) || 0)), 50);
    const [code] = (await once(ctl, 'close')) as [number | null];
    clearInterval(ctlSampler);
    if (code !== 0) throw new Error(`stationctl events exited ${code}: ${ctlErr.slice(-500)}; agent log: ${agent.logTail(1000)}`);
    const listS = round((Date.now() - listed) / 1000, 1);
    const listPeak = listing.stop();

    figures.push(
      figure({ metric: 'agent RSS before', value: before, unit: 'MB', reference: 'MemoryMax', reference_value: MEMORY_MAX_MB }),
      figure({ metric: `peak, ${CLIENTS} unread lists`, value: peak, unit: 'MB', reference: 'RSS before', reference_value: before, goal: `< ${MEMORY_MAX_MB} MB (MemoryMax)`, pass: peak < MEMORY_MAX_MB }),
      figure({ metric: 'agent RSS after', value: after, unit: 'MB', reference: 'RSS before', reference_value: before }),
      figure({ metric: 'unread ones closed in', value: closedS, unit: 's', reference: 'control.idle_timeout_s', reference_value: 60, goal: '≤ idle_timeout_s + 10', pass: closed && closedS <= 70 }),
      figure({ metric: 'peak, stationctl 100k', value: listPeak, unit: 'MB', reference: 'RSS before', reference_value: before, goal: `< ${MEMORY_MAX_MB} MB (MemoryMax)`, pass: listPeak < MEMORY_MAX_MB }),
      figure({ metric: 'stationctl RSS peak', value: round(ctlPeak / 1024, 1), unit: 'MB' }),
      figure({ metric: 'stationctl 100k events', value: listS, unit: 's' }),
    );
    notes.push(`agent: ${process.env['BENCH_AGENT_JS'] || 'this build'}`);
    notes.push(`${EVENTS} events; ${CLIENTS} clients each sent 4 × events.list {limit: 100000} and read nothing; then stationctl --json events --limit ${EVENTS} > /dev/null`);
    return { name: 'control-flood', elapsed_s: round((Date.now() - t0) / 1000, 1), figures, notes };
  } catch (err) {
    return { name: 'control-flood', elapsed_s: round((Date.now() - t0) / 1000, 1), figures, notes, error: (err as Error).message };
  } finally {
    await cleanup.run();
  }
}
