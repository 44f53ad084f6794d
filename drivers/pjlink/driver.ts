/**
 * PJLink device layer: maps class 1/2 onto the projector model (docs/design.md §4).
 *
 * Connection strategy: the projector drops a socket after 30 s without a command (spec 1.04/2.00 via the
 * Companion module; old firmware: 4 s), so one TCP connection serves one burst of requests and is closed
 * by us after `idleCloseMs` (below the projector's limit); a connection the projector closed anyway is
 * reopened — with a fresh greeting and digest — on the next request. That reconnect is routine, so it is
 * never reported through onDisconnect; an unreachable projector shows up as a failing open()/poll().
 */
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { Faults } from '../../protocol/faults.js';
import type { InputChoice } from '../../protocol/device-controls.js';
import type { PjlinkDevice } from '../../config/schema.js';
import { FramedLink } from '../framed-link.js';
import { DelimiterFramer } from '../framing/delimiter.js';
import { TcpTransport } from '../transport/tcp.js';
import type { DeviceCommand, DeviceDriver, DeviceFault, DeviceReading, DriverContext, DriverDefinition } from '../types.js';
import {
  PJLINK_ERRORS,
  PJLINK_MAX_LINE,
  encodeCommand,
  inputCommandClass,
  isInputCode,
  parseInputList,
  PJLINK_INPUTS,
  parseAvMute,
  parseClass,
  parseErst,
  parseGreeting,
  parseHours,
  parseLamps,
  parsePower,
  parseResolution,
  parseResponse,
  pjlinkDigest,
  responseError,
  type PjlinkErrorCode,
} from './protocol.js';

export type PjlinkConfig = z.infer<typeof PjlinkDevice>;

export interface PjlinkTuning {
  /** Per-command answer timeout; aiopjlink uses 4 s, OpenLP 5 s. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** We close an idle connection after this; must stay below the projector's 30 s. */
  idleCloseMs?: number;
}

type Answer = { ok: string } | { err: PjlinkErrorCode };

function authError(detail: string, fault: typeof Faults.password_rejected | typeof Faults.password_required = Faults.password_rejected): AgentError {
  // Not retryable: the supervisor must not hammer a projector with a wrong password (and Companion
  // backs off 15 s on ERRA for the same reason).
  return new AgentError(ErrorCodes.auth, `PJLink authentication failed: ${detail}`, { fault });
}

/** Lamp and filter hours are asked at most this often. */
export const SLOW_POLL_MS = 300_000;

export class PjlinkDriver implements DeviceDriver {
  readonly capabilities = ['power', 'input', 'mute'] as const;
  /** The projector's own inputs (INST at open), or every class 1 input when it does not say. */
  inputs: readonly InputChoice[] = PJLINK_INPUTS;
  private readonly ctx: DriverContext<PjlinkConfig>;
  private readonly tuning: Required<PjlinkTuning>;
  private readonly link: FramedLink<Buffer>;
  private password: string | undefined;
  private cls: 1 | 2 = 1;
  private sessionReady = false;
  private pendingDigest: string | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = true;
  /** When lamp/filter hours were last asked; -Infinity so the first poll after open() asks. */
  private slowPolledAt = -Infinity;

  constructor(ctx: DriverContext<PjlinkConfig>, tuning: PjlinkTuning = {}) {
    this.ctx = ctx;
    this.tuning = { timeoutMs: 5000, connectTimeoutMs: 5000, idleCloseMs: 20_000, ...tuning };
    this.link = new FramedLink({
      transport: new TcpTransport({ host: ctx.config.host, port: ctx.config.port, connectTimeoutMs: this.tuning.connectTimeoutMs }),
      framer: () => new DelimiterFramer({ delimiter: '\r', maxLength: PJLINK_MAX_LINE, overflow: 'keep_tail' }),
      log: ctx.log,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    // The projector's idle disconnect lands here: forget the session, reconnect on the next request.
    this.link.onDisconnect(() => {
      this.sessionReady = false;
    });
  }

  /** Projector class learnt at open(). */
  get projectorClass(): 1 | 2 {
    return this.cls;
  }

  onDisconnect(_listener: (reason: Error) => void): void {
    // See the file comment: PJLink's idle disconnects are routine and handled here.
  }

  async open(): Promise<DeviceReading> {
    this.closed = false;
    const file = this.ctx.config.password_file;
    this.password = file ? await this.ctx.readSecret(file) : undefined;
    try {
      const clss = await this.ask(1, 'CLSS');
      this.cls = 'ok' in clss ? parseClass(clss.ok) : 1;
      const info: DeviceReading = {};
      const inf1 = await this.ask(1, 'INF1');
      const inf2 = await this.ask(1, 'INF2');
      info.manufacturer = 'ok' in inf1 && inf1.ok.trim() ? inf1.ok.trim() : null;
      info.model = 'ok' in inf2 && inf2.ok.trim() ? inf2.ok.trim() : null;
      // What the schedule form may offer (inventory `controls`); a projector that does not say keeps the class 1 list.
      const inst = await this.ask(1, 'INST').catch(() => undefined);
      this.inputs = (inst && 'ok' in inst && parseInputList(inst.ok)) || PJLINK_INPUTS;
      if (this.cls === 2) {
        const snum = await this.ask(2, 'SNUM');
        const sver = await this.ask(2, 'SVER');
        info.serial_number = 'ok' in snum && snum.ok.trim() ? snum.ok.trim() : null;
        info.firmware = 'ok' in sver && sver.ok.trim() ? sver.ok.trim() : null;
      }
      return { ...info, ...(await this.poll()) };
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async poll(): Promise<DeviceReading> {
    const r: DeviceReading = {};
    const faults: DeviceFault[] = [];
    const powr = await this.ask(1, 'POWR');
    if ('ok' in powr) r.power = parsePower(powr.ok);
    else if (powr.err === 'ERR4') faults.push(failure('POWR'));
    // ERR3 on POWR happens in standby on some models (home-assistant/core#16606): power stays unknown.

    const erst = await this.ask(1, 'ERST');
    if ('ok' in erst) faults.push(...(parseErst(erst.ok) ?? []));
    else if (erst.err === 'ERR4') faults.push(failure('ERST'));

    // Lamp and filter hours move by one an hour: asked every SLOW_POLL_MS, not every poll (a field
    // absent from a reading keeps its last value), which spares the projector and the station's CPU.
    const slow = performance.now() - this.slowPolledAt >= SLOW_POLL_MS;
    let slowAnswered = false;
    if (slow) {
      const lamp = await this.ask(1, 'LAMP');
      // ERR3 (standby, warm-up) tells nothing: ask again next poll rather than in five minutes.
      slowAnswered = 'ok' in lamp || lamp.err === 'ERR1';
      if ('ok' in lamp) {
        const lamps = parseLamps(lamp.ok);
        // Several lamps: report the most worn one, it decides when the technician must come.
        r.lamp_hours = lamps ? Math.max(...lamps.map((l) => l.hours)) : null;
      } else if (lamp.err === 'ERR1') r.lamp_hours = null; // laser / LED light source: no lamp to count
    }

    const inpt = await this.ask(1, 'INPT');
    if ('ok' in inpt) r.input = inpt.ok.trim() || null;
    else if (inpt.err !== 'ERR3') r.input = null;

    const avmt = await this.ask(1, 'AVMT');
    if ('ok' in avmt) r.av_mute = parseAvMute(avmt.ok) ?? null;
    else if (avmt.err !== 'ERR3') r.av_mute = null;

    if (this.cls === 2) {
      const ires = await this.ask(2, 'IRES');
      if ('ok' in ires) r.signal = parseResolution(ires.ok) ?? null;
      else if (ires.err !== 'ERR3') r.signal = null;
      if (slow) {
        const filt = await this.ask(2, 'FILT');
        if ('ok' in filt) r.filter_hours = parseHours(filt.ok) ?? null;
        else if (filt.err === 'ERR1') r.filter_hours = null;
      }
    } else {
      r.signal = null;
    }
    // No picture while the lamp is off, whatever the input reports.
    if (r.power === 'off' || r.power === 'cooling') r.signal = false;
    r.errors = faults;
    if (slowAnswered) this.slowPolledAt = performance.now();
    return r;
  }

  async execute(command: DeviceCommand): Promise<DeviceReading> {
    switch (command.action) {
      case 'power': {
        let target = command.value;
        if (target === 'toggle') {
          const p = await this.ask(1, 'POWR');
          const now = 'ok' in p ? parsePower(p.ok) : 'unknown';
          target = now === 'on' || now === 'warming' ? 'off' : 'on';
        }
        await this.set(1, 'POWR', target === 'on' ? '1' : '0');
        const after = await this.ask(1, 'POWR');
        return 'ok' in after ? { power: parsePower(after.ok) } : {};
      }
      case 'input': {
        const code = command.value.trim().toUpperCase();
        if (!isInputCode(code)) throw new AgentError(ErrorCodes.invalid_args, `PJLink input must be 2 characters, type 1-6 + index 1-9/A-Z: ${command.value}`);
        // Class 1 knows types 1-5 with index 1-9; type 6 and letters need the class 2 command.
        await this.set(inputCommandClass(code), 'INPT', code);
        return { input: code };
      }
      case 'mute':
        await this.set(1, 'AVMT', command.value ? '31' : '30');
        return { av_mute: command.value };
      default:
        throw new AgentError(ErrorCodes.unsupported, `PJLink projectors do not support ${command.action}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.sessionReady = false;
    this.pendingDigest = undefined;
    await this.link.close();
  }

  /** A set command: OK or a clear error. */
  private async set(cls: 1 | 2, cmd: string, param: string): Promise<void> {
    const a = await this.command(cls, cmd, param);
    if ('ok' in a) return;
    if (a.err === 'ERR3') {
      const p = cmd === 'POWR' ? await this.ask(1, 'POWR') : undefined;
      const state = p && 'ok' in p ? parsePower(p.ok) : undefined;
      const why = state === 'warming' ? 'warming up' : state === 'cooling' ? 'cooling down' : state === 'off' ? 'in standby' : 'busy';
      throw new AgentError(ErrorCodes.busy, `projector ${why}: ${cmd} ${param} not possible now (ERR3)`, { retryable: true });
    }
    const code = a.err === 'ERR1' ? ErrorCodes.unsupported : a.err === 'ERR2' ? ErrorCodes.invalid_args : ErrorCodes.device_error;
    throw new AgentError(code, `projector refused ${cmd} ${param}: ${PJLINK_ERRORS[a.err]} (${a.err})`);
  }

  private ask(cls: 1 | 2, cmd: string): Promise<Answer> {
    return this.command(cls, cmd, '?');
  }

  private async command(cls: 1 | 2, cmd: string, param: string): Promise<Answer> {
    if (this.closed) throw new AgentError(ErrorCodes.closed, 'PJLink driver closed');
    clearTimeout(this.idleTimer);
    for (let attempt = 0; ; attempt++) {
      const fresh = await this.ensureSession();
      try {
        const answer = await this.exchange(cls, cmd, param);
        this.armIdle();
        return answer;
      } catch (err) {
        this.sessionReady = false;
        await this.link.close();
        // The projector may drop the idle socket just as we write on it: retry once on a new connection.
        if (!fresh && attempt === 0 && err instanceof AgentError && err.code === ErrorCodes.disconnected) continue;
        throw err;
      }
    }
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.sessionReady = false;
      void this.link.close();
    }, this.tuning.idleCloseMs);
    this.idleTimer.unref();
  }

  /** Opens a connection and reads the greeting if needed; true when the connection is new. */
  private async ensureSession(): Promise<boolean> {
    if (this.sessionReady && this.link.isOpen) return false;
    this.sessionReady = false;
    await this.link.close();
    await this.link.open();
    try {
      const greeting = await this.link.request({
        timeoutMs: this.tuning.timeoutMs,
        label: 'greeting',
        match: (f) => parseGreeting(f.toString('latin1')),
      });
      if (greeting.auth === 'error') throw authError('projector answered PJLINK ERRA at connect');
      if (greeting.auth === true) {
        if (this.password === undefined) throw authError('projector requires a password; set password_file', Faults.password_required);
        this.pendingDigest = pjlinkDigest(greeting.token, this.password);
      } else {
        this.pendingDigest = undefined;
      }
      this.sessionReady = true;
      return true;
    } catch (err) {
      await this.link.close();
      throw err;
    }
  }

  private async exchange(cls: 1 | 2, cmd: string, param: string): Promise<Answer> {
    // The digest goes in front of the first command of a connection, in the same write (spec; pypjlink,
    // aiopjlink), and only once (node-pjlink).
    const digest = this.pendingDigest ?? '';
    this.pendingDigest = undefined;
    const data = await this.link.request({
      data: encodeCommand(cls, cmd, param, digest),
      timeoutMs: this.tuning.timeoutMs,
      label: `%${cls}${cmd} ${param}`,
      match: (frame) => {
        const line = frame.toString('latin1');
        const g = parseGreeting(line);
        if (g?.auth === 'error') throw authError('wrong password (PJLINK ERRA)');
        const r = parseResponse(line);
        if (!r || r.command !== cmd) return undefined;
        return r.data;
      },
    });
    const err = responseError(data);
    if (err === 'ERRA') throw authError('wrong password (ERRA)');
    return err ? { err } : { ok: data };
  }
}

function failure(cmd: string): DeviceFault {
  return { code: 'projector_failure', severity: 'error', text: `projector reports a failure (ERR4 on ${cmd})` };
}

export const pjlinkDriver: DriverDefinition<PjlinkConfig> = {
  name: 'pjlink',
  kinds: ['projector'],
  create: (ctx) => new PjlinkDriver(ctx),
};
