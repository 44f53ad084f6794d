/**
 * `playing` of a set-top box (docs/design.md §4), shared by every set-top box driver. A box has no status
 * API of its own worth trusting (docs/reference/protocols.md §6: network presence says "powered", not
 * "playing"), so the evidence comes from outside:
 *   - the projector it feeds (`signal_from`): picture present while the projector is on `input`;
 *   - the MediaMTX stream at `media_path`: up and its byte counter growing.
 * Either source saying "playing" is enough; "not playing" needs a source to say so; otherwise null.
 */
import type { DeviceDriver, DeviceFault, DeviceReading, DeviceState } from './types.js';
import type { MediaPathSource } from './mediamtx/client.js';
import { StreamWatch, type StreamStatus } from './mediamtx/stream-watch.js';

export interface PlayingConfig {
  signal_from?: string | undefined;
  input?: string | undefined;
  media_path?: string | undefined;
}

export interface PlayingContext {
  peerState(id: string): DeviceState | undefined;
  readonly media?: MediaPathSource | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * What the projector says about the box's picture: null when it cannot tell (projector unknown,
 * offline, not on, or showing another input), else its `signal`.
 */
export function playingFromProjector(peer: DeviceState | undefined, input: string | undefined): boolean | null {
  if (!peer || !peer.online || peer.power !== 'on') return null;
  if (input !== undefined) {
    if (peer.input === undefined || peer.input === null) return null;
    if (peer.input.toLowerCase() !== input.toLowerCase()) return null;
  }
  return peer.signal ?? null;
}

export function combinePlaying(...evidence: Array<boolean | null>): boolean | null {
  if (evidence.includes(true)) return true;
  if (evidence.includes(false)) return false;
  return null;
}

export interface PlayingReading {
  playing: boolean | null;
  errors: DeviceFault[];
  stream?: StreamStatus;
}

export class SetTopBoxPlaying {
  private readonly watch: StreamWatch | undefined;

  constructor(
    private readonly config: PlayingConfig,
    private readonly ctx: PlayingContext,
    opts: { stallSamples?: number } = {},
  ) {
    if (config.media_path !== undefined && ctx.media) this.watch = new StreamWatch(ctx.media, config.media_path, { ...opts, signal: ctx.signal });
  }

  /** True when any evidence is configured; drivers without it leave `playing` out of their reading. */
  get configured(): boolean {
    return this.config.signal_from !== undefined || this.config.media_path !== undefined;
  }

  async read(): Promise<PlayingReading> {
    const errors: DeviceFault[] = [];
    const evidence: Array<boolean | null> = [];
    if (this.config.signal_from !== undefined) {
      evidence.push(playingFromProjector(this.ctx.peerState(this.config.signal_from), this.config.input));
    }
    let stream: StreamStatus | undefined;
    if (this.config.media_path !== undefined) {
      if (!this.watch) {
        errors.push({ code: 'media_unconfigured', severity: 'warning', text: `media_path ${this.config.media_path} set but MediaMTX is not configured` });
        evidence.push(null);
      } else {
        stream = await this.watch.sample();
        evidence.push(stream.playing);
        if (stream.state === 'stalled') {
          errors.push({ code: 'stream_stalled', severity: 'warning', text: `stream ${this.config.media_path} is up but receives no data` });
        } else if (stream.state === 'unknown') {
          errors.push({ code: 'media_unreachable', severity: 'warning', text: `MediaMTX: ${stream.error?.message ?? 'no answer'}` });
        }
      }
    }
    return { playing: combinePlaying(...evidence), errors, ...(stream ? { stream } : {}) };
  }
}

/**
 * Adds `playing` to any driver serving a set-top box (e.g. a modbus_relay or frame_profile switching the
 * box's mains): its readings get the evidence of `signal_from` / `media_path` merged in. Drivers of other
 * kinds, or without that config, are returned unchanged.
 */
export function withSetTopBoxPlaying<D extends DeviceDriver>(
  driver: D,
  ctx: PlayingContext & { readonly config: PlayingConfig & { kind: string } },
): D {
  if (ctx.config.kind !== 'settopbox') return driver;
  const playing = new SetTopBoxPlaying(ctx.config, ctx);
  if (!playing.configured) return driver;
  const add = async (r: DeviceReading): Promise<DeviceReading> => {
    const p = await playing.read();
    return { ...r, playing: p.playing, errors: [...(r.errors ?? []), ...p.errors] };
  };
  const open = driver.open.bind(driver);
  const poll = driver.poll.bind(driver);
  return Object.assign(driver, {
    open: async () => add(await open()),
    poll: async () => add(await poll()),
  });
}
