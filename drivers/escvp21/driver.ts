/**
 * Epson ESC/VP21 device layer over serial or ESC/VP.net (TCP 3629).
 *
 * Timing (ESC/VP21 guide §5): the `:` after `PWR ON` comes back only once the lamp lit — within 40, 70 or
 * 100 s for the 1st/2nd/3rd ignition attempt — so the power-on request gets a long timeout, is reported
 * as accepted (`warming`) once the projector has not refused it, and, while it is in flight, poll()
 * reports `warming` without touching the (busy) line. `PWR OFF` is executed only
 * once the projector is fully on; an `ERR` then is "busy", not a failure. A projector in an abnormal state
 * (lamp failure, over-temperature) "does not execute commands nor return a colon": that surfaces as
 * `timeout`.
 *
 * ESC/VP.net with a projector password: the password (from `password_file`) goes in a Password header of
 * the CONNECT request; the projector answers 0x41 without one and 0x43 for a wrong one, reported as `auth`
 * and not retried in a tight loop (as PJLink's ERRA).
 */
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { Faults } from '../../protocol/faults.js';
import type { Escvp21Device } from '../../config/schema.js';
import { FramedLink, type LinkIo } from '../framed-link.js';
import { transportFromConfig } from '../transport/from-config.js';
import type { DeviceCommand, DeviceDriver, DeviceFault, DeviceReading, DriverContext, DriverDefinition, PowerState } from '../types.js';
import {
  ESCVP_NET_MAX_PASSWORD,
  EPSON_INPUTS,
  EscvpFramer,
  encodeConnect,
  NULL_COMMAND,
  encodeQuery,
  encodeSet,
  isErrLine,
  parseErrorCode,
  parseHelloReply,
  parseHours,
  parsePower,
  parseSignal,
  parseValue,
  type EscvpToken,
} from './protocol.js';

export type Escvp21Config = z.infer<typeof Escvp21Device>;

export interface Escvp21Tuning {
  /** Default 3 s (pszafer TIMEOUT_TIMES default). */
  timeoutMs?: number;
  /** Default 110 s: the 3rd ignition attempt answers within 100 s. */
  powerOnTimeoutMs?: number;
  /** Default 15 s (pszafer: 10 s; EH-TW9300 took minutes — then the poll shows the truth). */
  powerOffTimeoutMs?: number;
  /** Default 10 s: SOURCE answers within 5 s "with a stable sync (may take longer)". */
  sourceTimeoutMs?: number;
  /**
   * Default 2 s: a PWR ON the projector did not refuse (`ERR`, e.g. while cooling down) within this long
   * of being sent is accepted; the ignition then goes on in the background.
   */
  acceptMs?: number;
  connectTimeoutMs?: number;
}

type Reply = { value: string } | { err: true } | { ok: true };

export class Escvp21Driver implements DeviceDriver {
  readonly capabilities = ['power', 'input', 'mute'] as const;
  readonly inputs = EPSON_INPUTS;
  private readonly ctx: DriverContext<Escvp21Config>;
  private readonly tuning: Required<Escvp21Tuning>;
  private readonly link: FramedLink<EscvpToken>;
  private readonly tcp: boolean;
  private powerOnInFlight: Promise<unknown> | undefined;
  /** A background power-on that failed: reported once, by the next poll. */
  private powerOnFailure: DeviceFault | undefined;

  constructor(ctx: DriverContext<Escvp21Config>, tuning: Escvp21Tuning = {}) {
    this.ctx = ctx;
    this.tuning = { timeoutMs: 3000, powerOnTimeoutMs: 110_000, powerOffTimeoutMs: 15_000, sourceTimeoutMs: 10_000, acceptMs: 2000, connectTimeoutMs: 5000, ...tuning };
    const c = ctx.config;
    const { transport, kind } = transportFromConfig('escvp21', c, this.tuning.connectTimeoutMs);
    this.tcp = kind === 'tcp';
    this.link = new FramedLink({
      transport,
      framer: () => new EscvpFramer({ helloLength: this.tcp ? 16 : 0 }),
      log: ctx.log,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  }

  onDisconnect(listener: (reason: Error) => void): void {
    this.link.onDisconnect(listener);
  }

  async open(): Promise<DeviceReading> {
    const password = this.tcp ? await this.readPassword() : undefined;
    await this.link.open();
    try {
      if (this.tcp) await this.handshake(password);
      // pszafer sends CR after opening and waits for the colon before any command.
      await this.link.request({ data: NULL_COMMAND, timeoutMs: this.tuning.timeoutMs, label: 'null command', match: (t) => (t.kind === 'prompt' ? true : undefined) });
      const sno = await this.query('SNO');
      const info: DeviceReading = { manufacturer: 'EPSON', serial_number: 'value' in sno && sno.value ? sno.value : null };
      return { ...info, ...(await this.poll()) };
    } catch (err) {
      await this.link.close();
      throw err;
    }
  }

  private async readPassword(): Promise<string | undefined> {
    const file = this.ctx.config.password_file;
    if (file === undefined) return undefined;
    const password = await this.ctx.readSecret(file);
    if (password.length > ESCVP_NET_MAX_PASSWORD || !/^[\x20-\x7e]*$/.test(password)) {
      throw new AgentError(ErrorCodes.auth, `ESC/VP.net password in password_file ${file} must be at most ${ESCVP_NET_MAX_PASSWORD} ASCII characters`, {
        fault: Faults.password_invalid,
      });
    }
    return password;
  }

  private async handshake(password: string | undefined): Promise<void> {
    const reply = await this.link.request({
      data: encodeConnect(password),
      timeoutMs: this.tuning.timeoutMs,
      label: 'ESC/VP.net connect',
      match: (t) => (t.kind === 'hello' ? t.bytes : undefined),
    });
    const r = parseHelloReply(reply);
    if (r.ok) return;
    const status = `status 0x${r.status.toString(16)}`;
    if (r.reason === 'auth') {
      // Not retryable: the supervisor must not hammer the projector's password check.
      const file = this.ctx.config.password_file;
      const fix = file === undefined ? 'the projector requires a password; set password_file' : `check the password in password_file ${file}`;
      // 0x41 "password is required", 0x43 "password is wrong" (pszafer/epson_projector message.py).
      throw new AgentError(ErrorCodes.auth, `ESC/VP.net connection refused: ${r.text} (${status}); ${fix}`, {
        fault: r.status === 0x41 && file === undefined ? Faults.password_required : Faults.password_rejected,
      });
    }
    if (r.reason === 'busy') throw new AgentError(ErrorCodes.busy, `ESC/VP.net: ${r.text} (${status})`, { retryable: true });
    throw new AgentError(ErrorCodes.protocol, `ESC/VP.net handshake failed: ${r.text} (${status})`, { retryable: true });
  }

  async poll(): Promise<DeviceReading> {
    if (this.powerOnInFlight) return { power: 'warming' };
    const r: DeviceReading = {};
    const faults: DeviceFault[] = this.powerOnFailure ? [this.powerOnFailure] : [];
    this.powerOnFailure = undefined;
    const pwr = await this.query('PWR');
    let power: PowerState = 'unknown';
    if ('value' in pwr) {
      const p = parsePower(pwr.value);
      power = p.power;
      if (p.abnormal) faults.push({ code: 'abnormal_standby', severity: 'error', text: 'projector shut down abnormally (PWR=05)' });
    }
    r.power = power;
    const err = await this.query('ERR');
    if ('value' in err) faults.push(...parseErrorCode(err.value));
    const lamp = await this.query('LAMP');
    if ('value' in lamp) r.lamp_hours = parseHours(lamp.value) ?? null;
    if (power === 'on') {
      const src = await this.query('SOURCE');
      if ('value' in src) r.input = src.value || null;
      const mute = await this.query('MUTE');
      if ('value' in mute) r.av_mute = mute.value === 'ON';
      const sig = await this.query('SIGNAL');
      // Not every model answers SIGNAL? (ERR): then the driver cannot tell.
      r.signal = 'value' in sig ? parseSignal(sig.value) : null;
    } else if (power === 'off' || power === 'cooling') {
      r.signal = false;
    }
    r.errors = faults;
    return r;
  }

  async execute(command: DeviceCommand): Promise<DeviceReading> {
    if (this.powerOnInFlight) {
      // The line is busy until the lamp is lit: a second power-on is the same one, anything else waits.
      if (command.action === 'power' && command.value === 'on') return { power: 'warming' };
      throw new AgentError(ErrorCodes.busy, `projector warming up: ${command.action} not possible until it is on`, { retryable: true });
    }
    switch (command.action) {
      case 'power': {
        let target = command.value;
        if (target === 'toggle') {
          const now = await this.poll();
          target = now.power === 'on' || now.power === 'warming' ? 'off' : 'on';
        }
        return target === 'on' ? this.powerOn() : this.powerOff();
      }
      case 'input': {
        const code = command.value.trim().toUpperCase();
        if (!/^[0-9A-F]{2}$/.test(code)) throw new AgentError(ErrorCodes.invalid_args, `Epson source must be 2 hex digits (e.g. 30 = HDMI1): ${command.value}`);
        await this.set('SOURCE', code, this.tuning.sourceTimeoutMs, 'source switch refused (projector off, or the signal changed during recognition)');
        return { input: code };
      }
      case 'mute':
        await this.set('MUTE', command.value ? 'ON' : 'OFF', this.tuning.timeoutMs, 'A/V mute refused (projector not on)');
        return { av_mute: command.value };
      default:
        throw new AgentError(ErrorCodes.unsupported, `Epson projectors do not support ${command.action}`);
    }
  }

  /**
   * The `:` after PWR ON comes only once the lamp is lit (up to 100 s), far longer than anyone should wait
   * for an answer. So the command is reported as soon as the projector has accepted it (no `ERR` within
   * `acceptMs`): `warming`. The ignition goes on in the background; meanwhile polls say `warming` without
   * touching the busy line, and when the prompt comes a poll is requested. A power-on that fails later
   * (no colon at all: lamp failure, over-temperature) is reported by the next poll as `power_on_failed`.
   */
  private async powerOn(): Promise<DeviceReading> {
    let sent!: () => void;
    const written = new Promise<void>((resolve) => (sent = resolve));
    const done = this.set('PWR', 'ON', this.tuning.powerOnTimeoutMs, 'power on refused (cooling down, or abnormal state)', sent);
    // From now on the line is busy: a poll meanwhile says `warming` instead of queueing behind the ignition.
    this.powerOnInFlight = done;
    let timer: NodeJS.Timeout | undefined;
    const accepted = written.then(() => new Promise<'accepted'>((resolve) => (timer = setTimeout(() => resolve('accepted'), this.tuning.acceptMs))));
    try {
      if ((await Promise.race([done.then(() => 'on' as const), accepted])) === 'on') {
        this.powerOnInFlight = undefined;
        return { power: 'on' };
      }
    } catch (err) {
      this.powerOnInFlight = undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
    done
      .then(
        () => this.ctx.log.info('power-on complete: lamp lit'),
        (err: unknown) => {
          const e = err instanceof AgentError ? err : undefined;
          // Closing (reconnect, agent stop) is not failing.
          if (e?.code === ErrorCodes.closed || e?.code === ErrorCodes.aborted) return;
          this.powerOnFailure = { code: 'power_on_failed', severity: 'error', text: `power on did not complete: ${(err as Error).message}` };
          this.ctx.log.warn({ err: (err as Error).message }, 'power-on failed');
        },
      )
      .finally(() => {
        this.powerOnInFlight = undefined;
        this.ctx.requestPoll?.();
      });
    return { power: 'warming' };
  }

  private async powerOff(): Promise<DeviceReading> {
    await this.set('PWR', 'OFF', this.tuning.powerOffTimeoutMs, 'power off refused (projector still warming up)');
    const pwr = await this.query('PWR');
    return 'value' in pwr ? { power: parsePower(pwr.value).power } : {};
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  private async set(cmd: string, param: string, timeoutMs: number, busyText: string, onSent?: () => void): Promise<void> {
    const r = await this.exchange(encodeSet(cmd, param), cmd, timeoutMs, `${cmd} ${param}`, onSent);
    if ('err' in r) throw new AgentError(ErrorCodes.busy, `${busyText}: ${cmd} ${param} → ERR`, { retryable: true });
  }

  private query(cmd: string): Promise<Reply> {
    return this.exchange(encodeQuery(cmd), cmd, this.tuning.timeoutMs, `${cmd}?`);
  }

  /** Sends one command and reads up to the prompt: `CMD=value\r:`, `ERR\r:` or `:`. */
  private exchange(data: Buffer, cmd: string, timeoutMs: number, label: string, onSent?: () => void): Promise<Reply> {
    const isQuery = data.includes(0x3f);
    return this.link.exchange(
      async (io: LinkIo<EscvpToken>) => {
        await io.write(data);
        onSent?.();
        let result: Reply = { ok: true };
        for (;;) {
          const t = await io.next((tok) => tok);
          // A query always answers `CMD=…` or `ERR` before its colon, so a bare colon there is line noise.
          if (t.kind === 'prompt') {
            if (isQuery && 'ok' in result) continue;
            return result;
          }
          if (t.kind !== 'line') continue;
          if (isErrLine(t.text)) result = { err: true };
          else {
            const v = parseValue(t.text, cmd);
            if (v !== undefined) result = { value: v };
          }
        }
      },
      { timeoutMs, label },
    );
  }
}

export const escvp21Driver: DriverDefinition<Escvp21Config> = {
  name: 'escvp21',
  kinds: ['projector'],
  create: (ctx) => new Escvp21Driver(ctx),
};
