/**
 * 1. footprint: the agent (a child process) with four simulated devices polled every 2 s and a county
 * link to a local mosquitto, RSS and CPU sampled from /proc, beside the floor: a bare Node process that
 * only loads the same dependencies and idles (floor.ts), sampled over the same window.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../agent/version.js';
import { Escvp21Simulator } from '../sims/escvp21.js';
import { PaAmplifierSimulator } from '../sims/frame-profile-device.js';
import { NovastarSimulator } from '../sims/novastar.js';
import { PjlinkSimulator } from '../sims/pjlink.js';
import {
  Mosquitto,
  Cleanup,
  DEV_RUNTIME,
  baseStation,
  cpuPercent,
  figure,
  percentile,
  round,
  rssParts,
  sampleProcess,
  sleep,
  startAgent,
  tempDir,
  waitFor,
  type AgentRuntime,
  type BenchOptions,
  type BenchResult,
} from './common.js';

const WARMUP_MS = 10_000;

/**
 * The floor's script for a runtime: this checkout's build, or a copy placed inside the unpacked package
 * (its imports resolve in the package's own node_modules, built for its Node), removed afterwards.
 */
function floorScript(runtime: AgentRuntime, cleanup: Cleanup): string {
  const built = join(PACKAGE_ROOT, 'dist', 'scripts', 'bench', 'floor.js');
  if (runtime.root === PACKAGE_ROOT) return built;
  const copy = join(runtime.root, 'dist', 'bench-floor.js');
  copyFileSync(built, copy);
  cleanup.add(() => rmSync(copy, { force: true }));
  return copy;
}

export async function footprint(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  try {
    const pj = new PjlinkSimulator({ warmupMs: 2000, cooldownMs: 2000 });
    const pjPort = await pj.start();
    cleanup.add(() => pj.stop());
    pj.setPower(1);
    const epson = new Escvp21Simulator({ tcpPort: 0, warmupMs: 2000, cooldownMs: 2000 });
    const epPort = await epson.start();
    cleanup.add(() => epson.stop());
    const nova = new NovastarSimulator();
    const novaPort = await nova.start(0);
    cleanup.add(() => nova.stop());
    const amp = new PaAmplifierSimulator();
    const ampPort = await amp.startTcp(0);
    cleanup.add(() => amp.stop());
    const broker = await Mosquitto.start();
    cleanup.add(() => broker.dispose());

    const dir = cleanup.dir(tempDir('bench-footprint-'));
    const runtime = opts.runtime ?? DEV_RUNTIME;
    const agent = await startAgent(dir, {
      station: baseStation('bench-footprint'),
      county: { url: broker.url, heartbeat_s: 60 },
      devices: [
        { id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: pjPort, poll_s: 2 },
        { id: 'epson', kind: 'projector', driver: 'escvp21', host: '127.0.0.1', port: epPort, poll_s: 2 },
        { id: 'led', kind: 'led_display', driver: 'novastar', host: '127.0.0.1', port: novaPort, poll_s: 2 },
        { id: 'amplifier', kind: 'amplifier', driver: 'frame_profile', host: '127.0.0.1', port: ampPort, profile: 'pa-amplifier-hex', poll_s: 2 },
      ],
    }, undefined, runtime);
    cleanup.add(() => agent.stop());

    const floor = spawn(runtime.node, [floorScript(runtime, cleanup)], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.add(() => floor.kill('SIGTERM'));
    let floorReady = false;
    floor.stdout.on('data', () => (floorReady = true));
    await waitFor('the floor process', () => floorReady, 10_000);

    opts.log(`footprint: warming up ${WARMUP_MS / 1000} s, then sampling agent (pid ${agent.pid}) and floor (pid ${floor.pid}) for ${opts.seconds} s`);
    await sleep(WARMUP_MS);
    const a = sampleProcess(agent.pid, 1000);
    const f = sampleProcess(floor.pid!, 1000);
    await sleep(opts.seconds * 1000);
    const as = a.stop();
    const fs = f.stop();
    const ap = rssParts(agent.pid);
    const fp = rssParts(floor.pid!);
    if (agent.child.exitCode !== null) throw new Error(`the agent exited during the run; its log ends: ${agent.logTail()}`);

    const agentRss = percentile(as.map((s) => s.rss_kb), 50) / 1024;
    const agentRssMax = Math.max(...as.map((s) => s.rss_kb)) / 1024;
    const floorRss = percentile(fs.map((s) => s.rss_kb), 50) / 1024;
    const agentCpu = cpuPercent(as);
    const floorCpu = cpuPercent(fs);
    const rssRatio = agentRss / floorRss;
    return {
      name: 'footprint',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        figure({ metric: 'rss_median', value: round(agentRss, 1), unit: 'MB', reference: 'bare node + same deps (floor)', reference_value: round(floorRss, 1), goal: '≤ 1.3× floor', pass: rssRatio <= 1.3 }),
        figure({ metric: 'rss_max', value: round(agentRssMax, 1), unit: 'MB', reference: 'floor', reference_value: round(floorRss, 1) }),
        figure({ metric: 'rss_anon (heap etc.)', value: round(ap.anon_kb / 1024, 1), unit: 'MB', reference: 'floor rss_anon', reference_value: round(fp.anon_kb / 1024, 1) }),
        figure({ metric: 'rss_file (mapped code)', value: round(ap.file_kb / 1024, 1), unit: 'MB', reference: 'floor rss_file', reference_value: round(fp.file_kb / 1024, 1) }),
        figure({ metric: 'cpu', value: round(agentCpu, 3), unit: '% of a core', reference: 'floor', reference_value: round(floorCpu, 3), goal: '≤ 0.5 %', pass: agentCpu <= 0.5 }),
      ],
      notes: [
        `runtime: ${runtime.label}; the floor runs on the same Node with the same node_modules`,
        `4 devices on TCP simulators (PJLink, ESC/VP.net, NovaStar, frame-profile PA amplifier), poll_s 2, county link to mosquitto, heartbeat_s 60`,
        `${opts.seconds} s sampled after ${WARMUP_MS / 1000} s warm-up; RSS = VmRSS, CPU = utime+stime delta / wall time (CLK_TCK 100, so ±1 tick = ${round(1 / opts.seconds, 3)} % over the window)`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
