/**
 * NEC binary device layer over serial or TCP 7142. One request at a time; every reply is matched on cmd2
 * and validated by its checksum (the framer slides over anything else). A failure reply during the
 * power-on/off sequence is "busy", not a device fault.
 */
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { NecDevice } from '../../config/schema.js';
import { FramedLink } from '../framed-link.js';
import { transportFromConfig } from '../transport/from-config.js';
import type { DeviceCommand, DeviceDriver, DeviceReading, DriverContext, DriverDefinition } from '../types.js';
import {
  NecCommands,
  NEC_INPUTS,
  describeError,
  necReplyFramer,
  parseBasicInfo,
  parseErrorStatus,
  parseFilterSeconds,
  parseLampSeconds,
  parseModelName,
  parseReply,
  parseRunningStatus,
  type NecReply,
} from './protocol.js';

export type NecConfig = z.infer<typeof NecDevice>;

export interface NecTuning {
  /** Default 3 s. */
  timeoutMs?: number;
  /** POWER ON/OFF acknowledgement; default 15 s (some models answer only once the sequence starts). */
  powerTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export class NecDriver implements DeviceDriver {
  readonly capabilities = ['power', 'input', 'mute'] as const;
  readonly inputs = NEC_INPUTS;
  private readonly tuning: Required<NecTuning>;
  private readonly link: FramedLink<Buffer>;

  constructor(ctx: DriverContext<NecConfig>, tuning: NecTuning = {}) {
    this.tuning = { timeoutMs: 3000, powerTimeoutMs: 15_000, connectTimeoutMs: 5000, ...tuning };
    const c = ctx.config;
    const { transport } = transportFromConfig('nec', c, this.tuning.connectTimeoutMs);
    this.link = new FramedLink({ transport, framer: necReplyFramer, log: ctx.log, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  }

  onDisconnect(listener: (reason: Error) => void): void {
    this.link.onDisconnect(listener);
  }

  async open(): Promise<DeviceReading> {
    await this.link.open();
    try {
      const model = await this.request(NecCommands.modelName(), 'model name');
      const info: DeviceReading = { manufacturer: 'NEC', model: model.ok ? parseModelName(model.data) : null };
      return { ...info, ...(await this.poll()) };
    } catch (err) {
      await this.link.close();
      throw err;
    }
  }

  async poll(): Promise<DeviceReading> {
    const r: DeviceReading = {};
    const run = await this.request(NecCommands.runningStatus(), 'running status');
    const faults = [];
    if (run.ok) {
      const s = parseRunningStatus(run.data);
      r.power = s.power;
      if (s.standbyError) faults.push({ code: 'abnormal_standby', severity: 'error' as const, text: 'projector in standby after an error' });
    }
    const err = await this.request(NecCommands.errorStatus(), 'error status');
    if (err.ok) faults.push(...parseErrorStatus(err.data));
    r.errors = faults;
    if (r.power === 'on') {
      const info = await this.request(NecCommands.basicInfo(), 'basic information');
      if (info.ok) Object.assign(r, parseBasicInfo(info.data));
    } else if (r.power === 'off' || r.power === 'cooling') {
      r.signal = false;
    }
    // Lamp and filter counters exist only on some models (lamp hours "where available").
    const lamp = await this.request(NecCommands.lampUsage(0), 'lamp information');
    if (lamp.ok) {
      const s = parseLampSeconds(lamp.data);
      r.lamp_hours = s === null ? null : Math.floor(s / 3600);
    } else if (!describeError(lamp.err1, lamp.err2).busy) r.lamp_hours = null;
    const filter = await this.request(NecCommands.filterUsage(), 'filter usage');
    if (filter.ok) {
      const s = parseFilterSeconds(filter.data);
      r.filter_hours = s === null ? null : Math.floor(s / 3600);
    } else if (!describeError(filter.err1, filter.err2).busy) r.filter_hours = null;
    return r;
  }

  async execute(command: DeviceCommand): Promise<DeviceReading> {
    switch (command.action) {
      case 'power': {
        let target = command.value;
        if (target === 'toggle') {
          const run = await this.request(NecCommands.runningStatus(), 'running status');
          const p = run.ok ? parseRunningStatus(run.data).power : 'unknown';
          target = p === 'on' || p === 'warming' ? 'off' : 'on';
        }
        const frame = target === 'on' ? NecCommands.powerOn() : NecCommands.powerOff();
        this.check(await this.request(frame, `power ${target}`, this.tuning.powerTimeoutMs), `power ${target}`);
        const run = await this.request(NecCommands.runningStatus(), 'running status');
        return run.ok ? { power: parseRunningStatus(run.data).power } : {};
      }
      case 'input': {
        const code = command.value.trim().toUpperCase();
        if (!/^[0-9A-F]{2}$/.test(code)) throw new AgentError(ErrorCodes.invalid_args, `NEC input must be a terminal code of 2 hex digits (e.g. 1A = HDMI1): ${command.value}`);
        const reply = await this.request(NecCommands.inputSwitch(parseInt(code, 16)), `input ${code}`);
        this.check(reply, `input ${code}`);
        // DATA01 = FFh: "ended with error (no switch made)".
        if (reply.ok && reply.data[0] === 0xff) throw new AgentError(ErrorCodes.invalid_args, `projector has no input ${code} (or it is unavailable now)`);
        return { input: code };
      }
      case 'mute': {
        // AV mute = picture and sound, like PJLink AVMT 31/30.
        this.check(await this.request(NecCommands.pictureMute(command.value), 'picture mute'), 'picture mute');
        this.check(await this.request(NecCommands.soundMute(command.value), 'sound mute'), 'sound mute');
        return { av_mute: command.value };
      }
      default:
        throw new AgentError(ErrorCodes.unsupported, `NEC projectors do not support ${command.action}`);
    }
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  private check(reply: NecReply, what: string): void {
    if (reply.ok) return;
    const d = describeError(reply.err1, reply.err2);
    if (d.busy) throw new AgentError(ErrorCodes.busy, `projector busy: ${what} — ${d.text}`, { retryable: true });
    const code = reply.err1 === 0x00 ? ErrorCodes.unsupported : reply.err1 === 0x01 ? ErrorCodes.invalid_args : ErrorCodes.device_error;
    throw new AgentError(code, `projector refused ${what}: ${d.text}`);
  }

  private request(frame: Buffer, label: string, timeoutMs = this.tuning.timeoutMs): Promise<NecReply> {
    return this.link.request({ data: frame, timeoutMs, label, match: (f) => parseReply(f, frame) });
  }
}

export const necDriver: DriverDefinition<NecConfig> = {
  name: 'nec',
  kinds: ['projector'],
  create: (ctx) => new NecDriver(ctx),
};
