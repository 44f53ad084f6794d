/**
 * Shared pieces of `npm run bench`: result rows, percentiles, /proc sampling, a small mosquitto
 * launcher (tests/helpers is not part of the build), the agent as a child process with a generated
 * config, socat PTY pairs, and bounded waits. Everything listens on 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, closeSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../lib/net.js';

export { freePort };
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { PACKAGE_ROOT, AGENT_NODE_FLAGS } from '../../agent/version.js';
import { round } from './stats.js';

export { percentile, round } from './stats.js';

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

export interface BenchOptions {
  /** footprint: measured seconds. */
  seconds: number;
  /** soak: minutes. */
  minutes: number;
  log: (line: string) => void;
}

export function figure(f: Omit<Figure, 'ratio'> & { ratio?: number }): Figure {
  const out: Figure = { ...f };
  if (f.ratio === undefined && f.reference_value !== undefined && f.reference_value !== 0) out.ratio = round(f.value / f.reference_value, 3);
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until truthy or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(intervalMs);
  }
}

export function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `bench-${name}-`));
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

// ------------------------------------------------------------------ mosquitto

export interface MosquittoOptions {
  port?: number;
  /** Extra config lines (e.g. max_queued_messages). */
  extra?: string[];
}

/** A real mosquitto on a loopback port; restart() keeps the port (clients see it go and come back). */
export class BenchMosquitto {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly conf: string,
  ) {}

  static async start(opts: MosquittoOptions = {}): Promise<BenchMosquitto> {
    const dir = tempDir('mosq');
    const port = opts.port ?? (await freePort());
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        `user ${userInfo().username}`,
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'max_keepalive 65535',
        ...(opts.extra ?? []),
      ].join('\n') + '\n',
    );
    const m = new BenchMosquitto(dir, port, conf);
    await m.launch();
    return m;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get log(): string {
    return this.output;
  }

  private async launch(): Promise<void> {
    const child = spawn('mosquitto', ['-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    child.stderr?.on('data', (d: Buffer) => {
      if (this.output.length < 100_000) this.output += d.toString();
    });
    await waitFor(
      'mosquitto to listen',
      async () => {
        if (spawnError) throw new Error(`mosquitto could not start (is it installed?): ${spawnError.message}`);
        if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}: ${this.output}`);
        return tcpOpen(this.port);
      },
      10_000,
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await sleep(downMs);
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ socat PTY pairs

/** A socat PTY pair whose agent end is a stable symlink; kill() unplugs, start() replugs (new pts numbers). */
export class PtyPair {
  private proc: ChildProcess | undefined;
  readonly agent: string;
  readonly device: string;

  constructor(dir: string, name: string) {
    this.agent = join(dir, name);
    this.device = join(dir, `${name}-device`);
  }

  async start(): Promise<void> {
    const proc = spawn('socat', [`pty,raw,echo=0,link=${this.agent}`, `pty,raw,echo=0,link=${this.device}`], { stdio: 'ignore' });
    this.proc = proc;
    await waitFor('socat PTYs', () => existsSync(this.agent) && existsSync(this.device), 5_000, 20);
  }

  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => {
        p.kill('SIGKILL');
        resolve();
      }, 2_000).unref();
    });
    await waitFor('socat links removed', () => !existsSync(this.agent), 2_000, 20).catch(() => undefined);
  }
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
}

/** Writes `config` (data_dir and control socket filled in under `dir`) and starts dist/agent/main.js. */
export async function startAgent(dir: string, config: Record<string, unknown>): Promise<AgentHandle> {
  const dataDir = (config['data_dir'] as string | undefined) ?? join(dir, 'data');
  const socket = join(dir, 'control.sock');
  const full = { ...config, data_dir: dataDir, control: { socket }, log: config['log'] ?? { level: 'warn' } };
  const configFile = join(dir, 'agent.yaml');
  writeFileSync(configFile, stringify(full));
  const logFile = join(dir, 'agent.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, join(PACKAGE_ROOT, 'dist', 'agent', 'main.js'), '--config', configFile], {
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

/** Runs cleanups in reverse order, never throwing. */
export class Cleanup {
  private readonly fns: Array<() => unknown> = [];
  add(fn: () => unknown): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    while (this.fns.length) {
      const fn = this.fns.pop()!;
      try {
        await fn();
      } catch {
        /* keep cleaning */
      }
    }
  }
}
