/**
 * Shared pieces of `npm run bench`: result rows, percentiles, /proc sampling and the agent as a child
 * process with a generated config. The mosquitto launcher, socat PTY pairs, bounded waits and temp
 * folders are the test kit's (scripts/lib/kit/), the same the tests use. Everything listens on 127.0.0.1 only.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, readdirSync, writeFileSync, existsSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { PACKAGE_ROOT, AGENT_NODE_FLAGS } from '../../agent/version.js';
import { waitFor } from '../lib/kit/wait.js';
import { round } from './stats.js';

export { percentile, round } from './stats.js';
export { Cleanup, Mosquitto, PtyPair, freePort, sleep, tempDir, waitFor } from '../lib/kit/index.js';

/** One measured figure, printed beside its reference from the same run. */
export interface Figure {
  metric: string;
  value: number;
  unit: string;
  /** What the figure is compared with (measured in the same run), e.g. "bare node floor". */
  reference?: string;
  reference_value?: number;
  /** value / reference_value. */
  ratio?: number;
  /** Human-readable goal, e.g. "≤ 1.3× floor". */
  goal?: string;
  /** Goal met; undefined when the figure has no goal. */
  pass?: boolean;
}

export interface BenchResult {
  name: string;
  /** Wall time of the benchmark, s. */
  elapsed_s: number;
  figures: Figure[];
  notes: string[];
  /** Set when the bench could not finish; figures hold what was measured. */
  error?: string;
}

/**
 * The Node and the built tree an agent runs from: this checkout's dist/ on the Node running the bench
 * (development), or an unpacked station package (`<root>/node/bin/node` beside `<root>/dist` and
 * `<root>/node_modules`, native modules built for its Node): what stations run.
 */
export interface AgentRuntime {
  node: string;
  root: string;
  /** For the figures: `node v22.23.5 (packaged)`. */
  label: string;
}

export const DEV_RUNTIME: AgentRuntime = { node: process.execPath, root: PACKAGE_ROOT, label: `node ${process.version} (development)` };

/** The runtime of an unpacked package, from the path of its node (`--node <root>/node/bin/node`). */
export function packagedRuntime(node: string): AgentRuntime {
  const root = resolve(node, '..', '..', '..');
  for (const need of [node, join(root, 'dist', 'agent', 'main.js'), join(root, 'node_modules')]) {
    if (!existsSync(need)) throw new Error(`--node ${node}: ${need} is missing; give the node of an unpacked station package (<root>/node/bin/node beside dist/ and node_modules/)`);
  }
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  return { node, root, label: `node ${version} (packaged)` };
}

export interface BenchOptions {
  /** footprint, soak: the agent's runtime (default: development). */
  runtime?: AgentRuntime;
  /** footprint: measured seconds. */
  seconds: number;
  /** soak: minutes. */
  minutes: number;
  log: (line: string) => void;
  /** county, ceiling, flood: the collector's database (default per bench). */
  store?: 'sqlite' | 'postgres';
  /** county, flood: fleet size (default per bench). */
  stations?: number;
  /** county: collectors in the share group (default 2). */
  collectors?: number;
  /** county, flood: multiplier of the normal rates. */
  rate?: number;
  /** ceiling: offered rates to try, msg/s, in order. */
  rates?: number[];
  /** sign-in-burst: a dist folder built from the code before the fix, measured as the reference. */
  baseline?: string;
}

export function figure(f: Omit<Figure, 'ratio'> & { ratio?: number }): Figure {
  const out: Figure = { ...f };
  if (f.ratio === undefined && f.reference_value !== undefined && f.reference_value !== 0) out.ratio = round(f.value / f.reference_value, 3);
  return out;
}

// ------------------------------------------------------------------ /proc sampling

const CLK_TCK = 100;

/** Resident set size of `pid` in kB (VmRSS), or NaN when the process is gone. */
export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** RssAnon / RssFile of `pid` in kB (heap and stacks vs mapped files such as the node binary). */
export function rssParts(pid: number): { anon_kb: number; file_kb: number } {
  try {
    const t = readFileSync(`/proc/${pid}/status`, 'utf8');
    const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)\\s+kB`).exec(t)?.[1] ?? Number.NaN);
    return { anon_kb: get('RssAnon'), file_kb: get('RssFile') };
  } catch {
    return { anon_kb: Number.NaN, file_kb: Number.NaN };
  }
}

/** utime + stime of `pid` in seconds (NaN when gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of `pid` and its children: its own utime + stime, the cutime + cstime of the children it has
 * already reaped, and utime + stime of the live ones. A PostgreSQL server's postmaster with its backends,
 * WAL writer, checkpointer and autovacuum workers (what the database costs the machine); counting the
 * reaped ones keeps the sum from dropping when a backend or an autovacuum worker exits.
 */
export function treeCpuSeconds(pid: number): number {
  const fields = (p: string): string[] => {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  let total: number;
  try {
    const own = fields(String(pid));
    total = (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const rest = fields(name);
      if (Number(rest[1]) === pid) total += (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
    } catch {
      /* gone meanwhile */
    }
  }
  return total;
}

/** Bytes `pid` caused to be written to storage so far (`write_bytes` of /proc/<pid>/io), NaN when unreadable. */
export function writeBytes(pid: number): number {
  try {
    const m = /^write_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

export interface ProcSample {
  t_s: number;
  rss_kb: number;
  cpu_s: number;
  fds: number;
}

/** Samples a process every `intervalMs` until stop(). */
export function sampleProcess(pid: number, intervalMs: number): { stop(): ProcSample[]; samples: ProcSample[] } {
  const t0 = Date.now();
  const samples: ProcSample[] = [];
  const take = () => samples.push({ t_s: (Date.now() - t0) / 1000, rss_kb: rssKb(pid), cpu_s: cpuSeconds(pid), fds: openFds(pid) });
  take();
  const timer = setInterval(take, intervalMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

/** CPU % of one core between the first and last sample. */
export function cpuPercent(samples: readonly ProcSample[]): number {
  const a = samples[0];
  const b = samples[samples.length - 1];
  if (!a || !b || b.t_s <= a.t_s) return Number.NaN;
  return ((b.cpu_s - a.cpu_s) / (b.t_s - a.t_s)) * 100;
}

// ------------------------------------------------------------------ the agent as a child process

export interface AgentHandle {
  pid: number;
  dir: string;
  dataDir: string;
  socket: string;
  configFile: string;
  logFile: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  /** The end of the agent's log, for error messages (the folder is gone once the bench cleaned up). */
  logTail(chars?: number): string;
}

/**
 * Writes `config` (data_dir and control socket filled in under `dir`) and starts the runtime's
 * dist/agent/main.js, or `agentJs` (another build's, to measure before and after a change on the same machine).
 */
export async function startAgent(dir: string, config: Record<string, unknown>, agentJs?: string, runtime: AgentRuntime = DEV_RUNTIME): Promise<AgentHandle> {
  const dataDir = (config['data_dir'] as string | undefined) ?? join(dir, 'data');
  const socket = join(dir, 'control.sock');
  const full = { ...config, data_dir: dataDir, control: { socket }, log: config['log'] ?? { level: 'warn' } };
  const configFile = join(dir, 'agent.yaml');
  writeFileSync(configFile, stringify(full));
  const logFile = join(dir, 'agent.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(runtime.node, [...AGENT_NODE_FLAGS, agentJs ?? join(runtime.root, 'dist', 'agent', 'main.js'), '--config', configFile], {
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await waitFor(
    'the agent control socket',
    () => {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}; log: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      return existsSync(socket);
    },
    20_000,
    50,
  );
  return {
    pid: child.pid!,
    dir,
    dataDir,
    socket,
    configFile,
    logFile,
    child,
    exited,
    logTail(chars = 2000) {
      try {
        return readFileSync(logFile, 'utf8').slice(-chars);
      } catch {
        return '';
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export function baseStation(id: string): Record<string, unknown> {
  return { id, name: `bench ${id}`, town: 'bench', county: 'bench', level: 'village', timezone: 'Asia/Shanghai' };
}
