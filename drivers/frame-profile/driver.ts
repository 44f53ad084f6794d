/**
 * `frame_profile`: drives any small vendor protocol declared in a profile (config/frame-profile.ts),
 * over serial or TCP. Device commands map onto the profile's named commands (power_on, volume_set …);
 * the queries in `poll` build the state; every reply is checked against its pattern and checksum, so
 * a garbled or foreign reply never becomes a state.
 */
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { FrameProfileDevice } from '../../config/schema.js';
import type { FrameProfile } from '../../config/frame-profile.js';
import { FramedLink } from '../framed-link.js';
import type { Framer } from '../framing/types.js';
import { transportFromConfig } from '../transport/from-config.js';
import type { Transport } from '../transport/types.js';
import { withSetTopBoxPlaying } from '../settopbox-playing.js';
import type { DeviceCommand, DeviceDriver, DeviceReading, DriverContext, DriverDefinition } from '../types.js';
import { CompiledProfile, MAX_REPLY_BYTES, ReplyFramer } from './engine.js';

export type FrameProfileConfig = z.infer<typeof FrameProfileDevice>;

export interface FrameProfileTuning {
  transport?: Transport;
  connectTimeoutMs?: number;
}

/** ReplyFramer behind the framework's Framer interface; gap-framed profiles pass chunks through. */
class ProfileFramer implements Framer<Buffer> {
  private inner: ReplyFramer;
  private dropped = 0;

  constructor(private readonly profile: CompiledProfile) {
    this.inner = new ReplyFramer(profile.terminator, profile.profile.reply_length);
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.inner.gapFramed) return [Buffer.from(chunk)];
    return this.inner.push(Buffer.from(chunk));
  }

  reset(): void {
    this.dropped += this.inner.overflowed;
    this.inner = new ReplyFramer(this.profile.terminator, this.profile.profile.reply_length);
  }

  get buffered(): number {
    return 0;
  }

  get discarded(): number {
    return this.dropped + this.inner.overflowed;
  }
}

export class FrameProfileDriver implements DeviceDriver {
  readonly capabilities: DeviceDriver['capabilities'];
  readonly profile: CompiledProfile;
  private readonly link: FramedLink<Buffer>;
  private lastCommandAt = 0;

  constructor(
    private readonly ctx: DriverContext<FrameProfileConfig>,
    tuning: FrameProfileTuning = {},
  ) {
    const p = ctx.config.profile;
    if (typeof p === 'string') {
      // The loader replaces a profile file name with its parsed content; a name here means it did not run.
      throw new AgentError(ErrorCodes.invalid_args, `frame_profile ${ctx.config.id}: profile ${p} was not loaded`);
    }
    this.profile = new CompiledProfile(p as FrameProfile);
    this.capabilities = this.profile.capabilities();
    const c = ctx.config;
    const transport = tuning.transport ?? transportFromConfig('frame_profile', c, tuning.connectTimeoutMs ?? 5000).transport;
    this.link = new FramedLink({ transport, framer: () => new ProfileFramer(this.profile), log: ctx.log, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  }

  async open(): Promise<DeviceReading> {
    await this.link.open();
    const reading: DeviceReading = {};
    for (const name of this.profile.profile.identify) Object.assign(reading, await this.run(name));
    return { ...reading, ...(await this.poll()) };
  }

  async poll(): Promise<DeviceReading> {
    const reading: DeviceReading = {};
    for (const name of this.profile.profile.poll) Object.assign(reading, await this.run(name));
    return reading;
  }

  async execute(command: DeviceCommand): Promise<DeviceReading> {
    let reading: DeviceReading;
    switch (command.action) {
      case 'power': {
        let target = command.value;
        if (target === 'toggle') {
          if (this.profile.has('power_toggle')) {
            reading = await this.run('power_toggle');
            break;
          }
          // A blind toggle could invert a state we never knew: read first.
          const now = (await this.poll()).power;
          if (now === undefined || now === 'unknown') throw new AgentError(ErrorCodes.device_error, 'cannot toggle: the profile does not report power', { retryable: true });
          target = now === 'on' || now === 'warming' ? 'off' : 'on';
        }
        reading = await this.run(target === 'on' ? 'power_on' : 'power_off');
        break;
      }
      case 'volume':
      case 'brightness': {
        const v = command.value;
        if (!Number.isFinite(v) || v < 0 || v > 100) throw new AgentError(ErrorCodes.invalid_args, `${command.action} ${v} outside 0..100`);
        reading = await this.run(`${command.action}_set`, Math.round(v));
        break;
      }
      case 'mute':
        reading = await this.run(command.value ? 'mute_on' : 'mute_off');
        break;
      case 'blank':
        reading = await this.run(command.value ? 'blank_on' : 'blank_off');
        break;
      case 'input':
        reading = await this.run('input_set', command.value);
        break;
    }
    // Read back, so what we report is what the device says now, not what we asked.
    return { ...reading, ...(await this.poll()) };
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  onDisconnect(listener: (reason: Error) => void): void {
    this.link.onDisconnect(listener);
  }

  /** Sends one profile command and interprets its reply. */
  async run(name: string, value?: number | string): Promise<DeviceReading> {
    const cmd = this.profile.command(name);
    const bytes = this.profile.encode(name, value);
    const gap = this.profile.profile.inter_command_ms;
    let unmatched: Buffer | undefined;
    try {
      return await this.link.exchange(
        async (io) => {
          const wait = this.lastCommandAt + gap - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          await io.write(bytes);
          if (cmd.noReply) return {};
          let acc = Buffer.alloc(0);
          const gapFramed = this.profile.terminator === undefined && this.profile.profile.reply_length === undefined;
          return io.next((frame) => {
            let candidate = frame;
            if (gapFramed) {
              // Without a terminator or length, bytes accumulate until they match the reply pattern.
              acc = Buffer.concat([acc, frame]);
              if (acc.length > MAX_REPLY_BYTES) acc = acc.subarray(acc.length - MAX_REPLY_BYTES);
              candidate = acc;
            }
            let body: Buffer;
            try {
              body = this.profile.replyBody(candidate);
            } catch (err) {
              if (gapFramed) return undefined;
              throw err;
            }
            if (this.profile.isError(body)) {
              throw new AgentError(ErrorCodes.device_error, `${this.profile.profile.name} refused ${name}: ${printable(body)}`);
            }
            const reading = this.profile.interpret(name, body);
            if (reading === undefined) {
              unmatched = candidate;
              return undefined;
            }
            return reading;
          });
        },
        { timeoutMs: cmd.timeoutMs, label: `${this.profile.profile.name} ${name}` },
      );
    } catch (err) {
      if (err instanceof AgentError && err.code === ErrorCodes.timeout && unmatched) {
        throw new AgentError(ErrorCodes.protocol, `${name}: reply ${printable(unmatched)} does not match the profile's pattern`, { retryable: true, cause: err });
      }
      throw err;
    } finally {
      this.lastCommandAt = Date.now();
    }
  }
}

function printable(b: Buffer): string {
  return /^[\x20-\x7e\r\n\t]*$/.test(b.toString('latin1')) ? JSON.stringify(b.toString('latin1')) : b.toString('hex');
}

export const frameProfileDriver: DriverDefinition<FrameProfileConfig> = {
  name: 'frame_profile',
  kinds: ['amplifier', 'led_display', 'settopbox', 'projector'],
  create: (ctx) => withSetTopBoxPlaying(new FrameProfileDriver(ctx), ctx),
};
