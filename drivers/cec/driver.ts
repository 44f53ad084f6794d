/**
 * HDMI-CEC power of a set-top box through libCEC's `cec-client` (docs/reference/protocols.md §6):
 * `echo 'pow 4' | cec-client -s -d 1 [COM PORT]`, one process per command (`-s`: "execute a single
 * command and exit; does not power on devices on startup and power them off on exit").
 *
 * Most station PCs have no CEC adapter and many have no cec-client. That is one clear state — power
 * `unknown` with a `cec_unavailable` fault, logged once — not an error per poll: the box's `playing`
 * evidence (projector, MediaMTX) still works without CEC. The adapter is looked for again every
 * `recheckMs`, so plugging one in is noticed without a restart.
 */
import { spawn } from 'node:child_process';
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { CecDevice } from '../../config/schema.js';
import { SetTopBoxPlaying } from '../settopbox-playing.js';
import type { DeviceCommand, DeviceDriver, DeviceFault, DeviceReading, DriverContext, DriverDefinition, PowerState } from '../types.js';

export type CecConfig = z.infer<typeof CecDevice>;

export interface CecTuning {
  /** Executable name or path (default `cec-client`, looked up on PATH). */
  command?: string;
  /** Environment of the child (tests put the fake first on PATH). */
  env?: NodeJS.ProcessEnv;
  /** A cec-client run that takes longer is killed (adapter opening takes ~1–2 s). Default 8000. */
  timeoutMs?: number;
  /** How long an "unavailable" verdict stands before cec-client is tried again. Default 300 000. */
  recheckMs?: number;
}

/** `power status: …` of cec-client's `pow` (libcec CECTypeUtils ToString(cec_power_status)). */
export function parsePowerStatus(stdout: string): PowerState | undefined {
  const m = /^power status:\s*(.+?)\s*$/m.exec(stdout);
  if (!m) return undefined;
  switch (m[1]) {
    case 'on':
      return 'on';
    case 'standby':
      return 'off';
    case 'in transition from standby to on':
      return 'warming';
    case 'in transition from on to standby':
      return 'cooling';
    default:
      return 'unknown';
  }
}

/** Recognises cec-client's own failure messages (cec-client.cpp main()). */
export function classifyFailure(stdout: string, adapter: string | undefined): AgentError | undefined {
  if (/autodetect FAILED/i.test(stdout)) return new AgentError(ErrorCodes.not_found, 'no CEC adapter found (cec-client: autodetect FAILED)');
  const open = /unable to open the device on port (.*)$/m.exec(stdout);
  if (open) return new AgentError(ErrorCodes.not_found, `CEC adapter ${open[1]?.trim() || adapter || ''} cannot be opened`);
  if (/Cannot load libcec/i.test(stdout)) return new AgentError(ErrorCodes.not_found, 'cec-client cannot load libcec');
  return undefined;
}

const MAX_OUTPUT = 64 * 1024;

function killGroup(child: ReturnType<typeof spawn>): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

export class CecDriver implements DeviceDriver {
  readonly capabilities = ['power'] as const;
  private readonly playing: SetTopBoxPlaying;
  private readonly command: string;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly timeoutMs: number;
  private readonly recheckMs: number;
  private unavailable: { error: AgentError; until: number } | undefined;
  private loggedProblem: string | undefined;
  /** cec-client runs one at a time: the adapter can be opened by one process only. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly running = new Set<ReturnType<typeof spawn>>();
  private closed = false;

  constructor(
    private readonly ctx: DriverContext<CecConfig>,
    tuning: CecTuning = {},
  ) {
    this.command = tuning.command ?? 'cec-client';
    this.env = tuning.env;
    this.timeoutMs = tuning.timeoutMs ?? 8000;
    this.recheckMs = tuning.recheckMs ?? 300_000;
    this.playing = new SetTopBoxPlaying(ctx.config, ctx);
    const a = ctx.config.adapter;
    // The COM port is cec-client's only positional argument; a value starting with "-" would be an option.
    if (a !== undefined && a.startsWith('-')) throw new AgentError(ErrorCodes.invalid_args, `invalid CEC adapter port ${a}`);
  }

  private get address(): string {
    return this.ctx.config.logical_address.toString(16);
  }

  async open(): Promise<DeviceReading> {
    this.closed = false;
    return this.poll();
  }

  async poll(): Promise<DeviceReading> {
    const errors: DeviceFault[] = [];
    const reading: DeviceReading = { errors };
    try {
      reading.power = await this.powerStatus();
    } catch (err) {
      const e = err as AgentError;
      if (e.code !== ErrorCodes.not_found && e.code !== ErrorCodes.forbidden) throw e;
      reading.power = 'unknown';
      errors.push({ code: 'cec_unavailable', severity: 'error', text: e.message });
    }
    if (this.playing.configured) {
      const p = await this.playing.read();
      reading.playing = p.playing;
      errors.push(...p.errors);
    }
    return reading;
  }

  async execute(command: DeviceCommand): Promise<DeviceReading> {
    if (command.action !== 'power') throw new AgentError(ErrorCodes.unsupported, `cec cannot ${command.action}`);
    let target = command.value;
    if (target === 'toggle') {
      // CEC has no toggle; read the state first so a toggle never inverts a state we did not know.
      const now = await this.powerStatus();
      if (now === 'unknown') throw new AgentError(ErrorCodes.device_error, 'cannot toggle: the box does not report its power state', { retryable: true });
      target = now === 'on' || now === 'warming' ? 'off' : 'on';
    }
    await this.run(`${target === 'on' ? 'on' : 'standby'} ${this.address}`);
    return { power: await this.powerStatus() };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.running) killGroup(child);
    this.running.clear();
  }

  onDisconnect(): void {
    /* each command is its own process: there is no link to lose */
  }

  private async powerStatus(): Promise<PowerState> {
    const out = await this.run(`pow ${this.address}`);
    const p = parsePowerStatus(out);
    if (p === undefined) throw new AgentError(ErrorCodes.protocol, `cec-client gave no power status: ${JSON.stringify(out.slice(-200))}`, { retryable: true });
    return p;
  }

  /** Runs one cec-client command; throws `not_found` (cached for recheckMs) when CEC is unavailable. */
  private run(line: string): Promise<string> {
    if (this.unavailable && Date.now() < this.unavailable.until) return Promise.reject(this.unavailable.error);
    const next = this.chain.then(
      () => this.spawnOnce(line),
      () => this.spawnOnce(line),
    );
    this.chain = next.catch(() => undefined);
    return next.then(
      (out) => {
        if (this.loggedProblem !== undefined) this.ctx.log.info('CEC available again');
        this.unavailable = undefined;
        this.loggedProblem = undefined;
        return out;
      },
      (err: AgentError) => {
        if (err.code === ErrorCodes.not_found || err.code === ErrorCodes.forbidden) {
          this.unavailable = { error: err, until: Date.now() + this.recheckMs };
          if (this.loggedProblem !== err.message) this.ctx.log.warn({ err }, 'CEC unavailable; power of this box cannot be read or switched');
          this.loggedProblem = err.message;
        }
        throw err;
      },
    );
  }

  private spawnOnce(line: string): Promise<string> {
    if (this.closed) return Promise.reject(new AgentError(ErrorCodes.closed, 'driver closed'));
    const adapter = this.ctx.config.adapter;
    const args = ['-s', '-d', '1', ...(adapter !== undefined ? [adapter] : [])];
    return new Promise((resolve, reject) => {
      let out = '';
      let settled = false;
      // Own process group, so a timeout kills cec-client and anything it started.
      const child = spawn(this.command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(this.env ? { env: this.env } : {}), detached: true, windowsHide: true });
      this.running.add(child);
      const finish = (err: AgentError | undefined, value?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.running.delete(child);
        if (err) reject(err);
        else resolve(value ?? '');
      };
      const timer = setTimeout(() => {
        killGroup(child);
        finish(new AgentError(ErrorCodes.timeout, `cec-client did not finish "${line}" within ${this.timeoutMs} ms`, { retryable: true }));
      }, this.timeoutMs);
      const collect = (b: Buffer): void => {
        if (out.length < MAX_OUTPUT) out += b.toString('utf8');
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') finish(new AgentError(ErrorCodes.not_found, `${this.command} is not installed (apt install cec-utils)`, { cause: err }));
        else if (err.code === 'EACCES') finish(new AgentError(ErrorCodes.forbidden, `${this.command} is not executable`, { cause: err }));
        else finish(new AgentError(ErrorCodes.internal, `cannot run ${this.command}: ${err.message}`, { cause: err }));
      });
      child.on('close', (code) => {
        // close() killed it: closing is not failing, whatever the killed process printed or exited with.
        if (this.closed) return finish(new AgentError(ErrorCodes.closed, 'driver closed'));
        const failure = classifyFailure(out, adapter);
        if (failure) return finish(failure);
        if (code !== 0) return finish(new AgentError(ErrorCodes.device_error, `cec-client exited with ${code}: ${out.trim().split('\n').at(-1) ?? ''}`, { retryable: true }));
        this.ctx.log.trace({ line, out }, 'cec-client');
        finish(undefined, out);
      });
      // An exited child (no adapter) closes stdin before we write: ignore EPIPE, the exit tells why.
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${line}\n`);
    });
  }
}

export const cecDriver: DriverDefinition<CecConfig> = {
  name: 'cec',
  kinds: ['settopbox', 'projector'],
  create: (ctx) => new CecDriver(ctx),
};
