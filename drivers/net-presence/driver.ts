/**
 * Network presence of a set-top box (or any host): a TCP connect to `port`, or one ICMP echo when no
 * port is configured. Presence says "powered and on the LAN", not "playing" (docs/reference/protocols.md §6),
 * so power is `on` while reachable and `unknown` otherwise (an unanswered ping is not proof of "off").
 *
 * Unreachability is a state, not a driver failure: open()/poll() resolve with `reachable: false`, so the
 * supervisor does not spin a reconnect loop against a box that is simply switched off.
 *
 * ICMP needs raw sockets, which Node does not have: run the system `ping` (execFile, argument array, no
 * shell). Without a `ping` binary the driver reports one clear fault instead of failing every poll.
 */
import { execFile } from 'node:child_process';
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { NetPresenceDevice } from '../../config/schema.js';
import { SetTopBoxPlaying } from '../settopbox-playing.js';
import { tcpProbe } from '../transport/tcp-probe.js';
import type { DeviceCommand, DeviceDriver, DeviceFault, DeviceReading, DriverContext, DriverDefinition } from '../types.js';

export type NetPresenceConfig = z.infer<typeof NetPresenceDevice>;

export interface NetPresenceTuning {
  /** TCP connect / ping wait (default 1500 ms). */
  timeoutMs?: number;
  /** The ping executable (default `ping`, looked up on PATH). */
  pingCommand?: string;
}

export type ProbeResult = { reachable: boolean } | { error: AgentError };

/** One echo request; exit 0 = reply, 1 = no reply (iputils and busybox), anything else = ping's own failure. */
export function icmpProbe(host: string, timeoutMs: number, command = 'ping'): Promise<ProbeResult> {
  // The schema allows host names starting with "-"; never let one become a ping option.
  if (host.startsWith('-')) return Promise.resolve({ error: new AgentError(ErrorCodes.invalid_args, `invalid host ${host}`) });
  const waitS = String(Math.max(1, Math.round(timeoutMs / 1000)));
  return new Promise((resolve) => {
    execFile(command, ['-c', '1', '-W', waitS, host], { timeout: timeoutMs + 2000, windowsHide: true }, (err, _stdout, stderr) => {
      if (!err) return resolve({ reachable: true });
      const e = err as Omit<NodeJS.ErrnoException, 'code'> & { code?: string | number };
      if (e.code === 'ENOENT') {
        return resolve({ error: new AgentError(ErrorCodes.not_found, `no ping command (${command}) on this system: install iputils-ping or configure a TCP port`) });
      }
      if (e.code === 'EACCES') {
        return resolve({ error: new AgentError(ErrorCodes.forbidden, `${command} is not executable`) });
      }
      if (e.code === 1) return resolve({ reachable: false });
      const text = String(stderr).trim().split('\n')[0] ?? '';
      // Exit 2 covers both "unknown host" (a name that does not resolve: unreachable for us) and a
      // ping without permission to open its socket (a setup problem to report).
      if (/operation not permitted|permission denied|socket/i.test(text)) {
        return resolve({ error: new AgentError(ErrorCodes.forbidden, `${command} cannot send ICMP: ${text}`) });
      }
      return resolve({ reachable: false });
    });
  });
}

export class NetPresenceDriver implements DeviceDriver {
  readonly capabilities = [] as const;
  private readonly playing: SetTopBoxPlaying;
  private readonly timeoutMs: number;
  private readonly pingCommand: string;
  private lastProblem: string | undefined;
  private closed = false;
  /** Rejecters of polls under way: close() ends them with `closed` instead of leaving them to their probe's timeout. */
  private readonly inFlight = new Set<(err: AgentError) => void>();

  constructor(
    private readonly ctx: DriverContext<NetPresenceConfig>,
    tuning: NetPresenceTuning = {},
  ) {
    this.timeoutMs = tuning.timeoutMs ?? 1500;
    this.pingCommand = tuning.pingCommand ?? 'ping';
    this.playing = new SetTopBoxPlaying(ctx.config, ctx);
  }

  open(): Promise<DeviceReading> {
    this.closed = false;
    return this.poll();
  }

  poll(): Promise<DeviceReading> {
    if (this.closed) return Promise.reject(new AgentError(ErrorCodes.closed, 'net_presence closed'));
    return new Promise<DeviceReading>((resolve, reject) => {
      const fail = (err: AgentError): void => {
        this.inFlight.delete(fail);
        reject(err);
      };
      this.inFlight.add(fail);
      this.probe().then(
        (r) => this.inFlight.delete(fail) && resolve(r),
        (e: unknown) => this.inFlight.delete(fail) && reject(e),
      );
    });
  }

  private async probe(): Promise<DeviceReading> {
    const { host, port } = this.ctx.config;
    const errors: DeviceFault[] = [];
    let reachable: boolean | null;
    if (port !== undefined) {
      // ECONNREFUSED still proves a host answered, but the configured service is what we watch: a box
      // whose player service is down is not "present" for the station.
      reachable = (await tcpProbe(host, port, this.timeoutMs)) === null;
    } else {
      const r = await icmpProbe(host, this.timeoutMs, this.pingCommand);
      if ('error' in r) {
        reachable = null;
        errors.push({ code: r.error.code === ErrorCodes.not_found ? 'ping_missing' : 'ping_failed', severity: 'error', text: r.error.message });
        // Once per distinct problem, not once per poll.
        if (this.lastProblem !== r.error.message) this.ctx.log.error({ err: r.error }, 'presence check cannot run');
        this.lastProblem = r.error.message;
      } else {
        reachable = r.reachable;
        this.lastProblem = undefined;
      }
    }
    const reading: DeviceReading = { reachable, power: reachable ? 'on' : 'unknown', errors };
    if (this.playing.configured) {
      const p = await this.playing.read();
      reading.playing = p.playing;
      errors.push(...p.errors);
    }
    return reading;
  }

  async execute(command: DeviceCommand): Promise<DeviceReading> {
    throw new AgentError(ErrorCodes.unsupported, `net_presence only watches; it cannot ${command.action}`);
  }

  async close(): Promise<void> {
    // Nothing is held between polls; a probe under way is answered `closed` now (it ends at its own timeout).
    this.closed = true;
    for (const fail of [...this.inFlight]) fail(new AgentError(ErrorCodes.closed, 'net_presence closed'));
  }

  onDisconnect(): void {
    /* no link to lose */
  }
}

export const netPresenceDriver: DriverDefinition<NetPresenceConfig> = {
  name: 'net_presence',
  kinds: ['settopbox'],
  create: (ctx) => new NetPresenceDriver(ctx),
};
