/**
 * Is a MediaMTX stream really playing? `available && online` alone is not enough: a pulled source can
 * stay "ready" after its camera died (MediaMTX #3880) and a frozen encoder keeps its RTSP session open
 * (#196). So a stream plays when it is up AND its inbound byte counter grows; it is stalled when it is
 * up and the counter stands still for `stallSamples` consecutive samples (notes §7 stall detector).
 */
import type { MediaPath, MediaPathSource } from './client.js';

export type StreamState =
  /** Up, counter growing. */
  | 'playing'
  /** Up, but no new bytes for stallSamples samples. */
  | 'stalled'
  /** Up, but growth not yet measurable (first sample, or counter reset by a restart). */
  | 'starting'
  /** Configured but no source, or not readable. */
  | 'offline'
  /** The server does not know the path (404): publisher gone from a regex/all_others path. */
  | 'gone'
  /** MediaMTX could not be asked. */
  | 'unknown';

export interface StreamStatus {
  state: StreamState;
  /** true playing, false not playing, null cannot tell. */
  playing: boolean | null;
  inboundBytes: number | null;
  error?: Error;
}

export interface StreamWatchOptions {
  /** Samples without growth before a stream that is up counts as stalled (default 2). */
  stallSamples?: number;
  /** The agent's stop signal (DriverContext.signal): a sample under way ends at once. */
  signal?: AbortSignal | undefined;
}

export class StreamWatch {
  private lastBytes: number | undefined;
  private still = 0;
  private wasPlaying = false;
  private readonly stallSamples: number;
  private readonly signal: AbortSignal | undefined;

  constructor(
    private readonly source: MediaPathSource,
    readonly path: string,
    opts: StreamWatchOptions = {},
  ) {
    this.stallSamples = Math.max(1, opts.stallSamples ?? 2);
    this.signal = opts.signal;
  }

  async sample(): Promise<StreamStatus> {
    let p: MediaPath | null;
    try {
      p = await this.source.getPath(this.path, this.signal);
    } catch (err) {
      // Keep the baseline: a short API hiccup must not make a healthy stream look restarted.
      return { state: 'unknown', playing: null, inboundBytes: null, error: err as Error };
    }
    if (p === null) return this.reset('gone', null);
    if (!p.up) return this.reset('offline', p.inboundBytes);
    const prev = this.lastBytes;
    this.lastBytes = p.inboundBytes;
    if (prev === undefined || p.inboundBytes < prev) {
      this.still = 0;
      this.wasPlaying = false;
      return { state: 'starting', playing: null, inboundBytes: p.inboundBytes };
    }
    if (p.inboundBytes > prev) {
      this.still = 0;
      this.wasPlaying = true;
      return { state: 'playing', playing: true, inboundBytes: p.inboundBytes };
    }
    this.still++;
    if (this.still >= this.stallSamples) {
      this.wasPlaying = false;
      return { state: 'stalled', playing: false, inboundBytes: p.inboundBytes };
    }
    // One quiet sample is not a stall yet (a poll can land between two bursts): keep the verdict.
    return this.wasPlaying
      ? { state: 'playing', playing: true, inboundBytes: p.inboundBytes }
      : { state: 'starting', playing: null, inboundBytes: p.inboundBytes };
  }

  private reset(state: 'gone' | 'offline', bytes: number | null): StreamStatus {
    this.lastBytes = undefined;
    this.still = 0;
    this.wasPlaying = false;
    return { state, playing: false, inboundBytes: bytes };
  }
}
