/**
 * A transport + a framer + a request queue: the request/response plumbing every half-duplex device
 * protocol needs. Protocol modules stay pure (encode/decode); device layers call `request()`.
 *
 * Stale replies: a reply arriving after its request timed out would otherwise be taken as the answer to
 * the next request. Each exchange therefore resets the framer and drops queued frames before it writes,
 * and `match` lets the protocol skip frames that do not answer this request (e.g. a PJLink reply for
 * another command).
 */
import type { Logger } from 'pino';
import { AgentError, ErrorCodes } from '../protocol/errors.js';
import type { Framer } from './framing/types.js';
import { toHex } from './framing/hex.js';
import { RequestQueue } from './request-queue.js';
import type { Transport } from './transport/types.js';

export interface LinkIo<F> {
  readonly signal: AbortSignal;
  write(data: Uint8Array): Promise<void>;
  /**
   * Resolves with the first non-undefined `match(frame)`. `match` may throw (e.g. an AgentError for an
   * `ERRA` reply) to end the exchange with that error. Frames it returns undefined for are skipped.
   */
  next<T>(match: (frame: F) => T | undefined): Promise<T>;
}

export interface RequestSpec<F, T> {
  /** Bytes to send; omit to only wait (e.g. for a greeting). */
  data?: Uint8Array;
  timeoutMs: number;
  match: (frame: F) => T | undefined;
  label?: string;
}

export interface FramedLinkOptions<F> {
  transport: Transport;
  /** Created per open(), so no partial frame survives a reconnect. */
  framer: () => Framer<F>;
  log?: Logger;
  /** Frames that arrive while no exchange waits (unsolicited, stale): default dropped at trace level. */
  onUnsolicited?: (frame: F) => void;
  maxPending?: number;
  /** Frames kept for an exchange that has not asked for them yet; default 16. */
  maxQueuedFrames?: number;
  /**
   * Aborted when the agent stops (DriverContext.signal): the request under way and those waiting end at
   * once with `aborted`, a connect under way ends, and the link refuses new requests. A device that takes
   * seconds per answer must not hold up the shutdown.
   */
  signal?: AbortSignal;
}

export class FramedLink<F = Buffer> {
  private readonly opts: FramedLinkOptions<F>;
  private queue: RequestQueue;
  private framer: Framer<F>;
  private frames: F[] = [];
  private waiter: { accept: (f: F) => boolean; fail: (e: Error) => void } | undefined;
  private lostError: AgentError | undefined;
  private readonly disconnectListeners: ((err: Error) => void)[] = [];
  private opened = false;
  private abortedError: AgentError | undefined;
  private readonly onAbort = (): void => this.abort();

  constructor(options: FramedLinkOptions<F>) {
    this.opts = options;
    this.framer = options.framer();
    this.queue = new RequestQueue({ name: options.transport.description, maxPending: options.maxPending });
    this.queue.close();
    options.transport.onData((chunk) => this.onData(chunk));
    options.transport.onClose((err) => this.onLost(err));
  }

  get description(): string {
    return this.opts.transport.description;
  }

  get isOpen(): boolean {
    return this.opened && this.opts.transport.isOpen && !this.lostError;
  }

  /** Bytes discarded by the framer's resync since the last open (diagnostics). */
  get discarded(): number {
    return this.framer.discarded;
  }

  get buffered(): number {
    return this.framer.buffered;
  }

  onDisconnect(listener: (err: Error) => void): void {
    this.disconnectListeners.push(listener);
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const signal = this.opts.signal;
    if (signal?.aborted) throw this.aborted();
    this.queue.close();
    this.framer = this.opts.framer();
    this.frames = [];
    this.lostError = undefined;
    // Listened to only while open (and opening): links are reopened often, the signal lives long.
    signal?.addEventListener('abort', this.onAbort, { once: true });
    try {
      await this.opts.transport.open();
    } catch (err) {
      signal?.removeEventListener('abort', this.onAbort);
      throw signal?.aborted ? this.aborted() : err;
    }
    if (signal?.aborted) {
      await this.opts.transport.close();
      throw this.aborted();
    }
    this.queue = new RequestQueue({ name: this.opts.transport.description, maxPending: this.opts.maxPending });
    this.opened = true;
  }

  private aborted(): AgentError {
    this.abortedError ??= new AgentError(ErrorCodes.aborted, `${this.description}: the agent is stopping`);
    return this.abortedError;
  }

  /** The stop signal fired: end everything under way now, then let go of the transport. */
  private abort(): void {
    const err = this.aborted();
    this.opened = false;
    this.queue.close(err);
    this.waiter?.fail(err);
    this.waiter = undefined;
    this.frames = [];
    void this.opts.transport.close();
  }

  async close(): Promise<void> {
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.opened = false;
    this.queue.close();
    this.waiter?.fail(new AgentError(ErrorCodes.closed, `${this.description}: closed`));
    this.waiter = undefined;
    this.frames = [];
    await this.opts.transport.close();
  }

  request<T>(spec: RequestSpec<F, T>): Promise<T> {
    return this.exchange(
      async (io) => {
        if (spec.data) await io.write(spec.data);
        return io.next(spec.match);
      },
      { timeoutMs: spec.timeoutMs, label: spec.label },
    );
  }

  /** Several writes/reads in one queue slot (e.g. a handshake, or PJLink's greeting + first command). */
  exchange<T>(fn: (io: LinkIo<F>) => Promise<T>, opts: { timeoutMs: number; label?: string }): Promise<T> {
    if (this.opts.signal?.aborted) return Promise.reject(this.aborted());
    if (this.lostError) return Promise.reject(this.lostError);
    if (!this.opened) return Promise.reject(new AgentError(ErrorCodes.closed, `${this.description}: not open`));
    return this.queue.run(async (signal) => {
      this.framer.reset();
      this.frames = [];
      const io: LinkIo<F> = {
        signal,
        write: async (data) => {
          if (signal.aborted) throw signal.reason;
          this.opts.log?.trace({ tx: toHex(data) }, 'tx');
          await this.opts.transport.write(data);
        },
        next: (match) => this.nextFrame(match, signal),
      };
      return fn(io);
    }, opts);
  }

  private nextFrame<T>(match: (frame: F) => T | undefined, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.lostError) return Promise.reject(this.lostError);
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.waiter = undefined;
      };
      const onAbort = (): void => {
        done();
        reject(signal.reason);
      };
      const accept = (frame: F): boolean => {
        let v: T | undefined;
        try {
          v = match(frame);
        } catch (err) {
          done();
          reject(err);
          return true;
        }
        if (v === undefined) {
          this.opts.log?.trace('frame skipped: not an answer to this request');
          return false;
        }
        done();
        resolve(v);
        return true;
      };
      // Frames already received for this exchange (several frames in one chunk) come first.
      while (this.frames.length > 0) {
        if (accept(this.frames.shift()!)) return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = { accept, fail: (e) => (done(), reject(e)) };
    });
  }

  private onData(chunk: Buffer): void {
    if (!this.opened) return;
    this.opts.log?.trace({ rx: toHex(chunk) }, 'rx');
    let frames: F[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      this.opts.log?.warn({ err }, 'framer failed; buffer dropped');
      this.framer.reset();
      return;
    }
    for (const frame of frames) {
      if (this.waiter) {
        if (this.waiter.accept(frame)) continue;
        continue;
      }
      if (this.queue.size > 0) {
        // An exchange is running but between reads: keep a bounded backlog for its next read.
        this.frames.push(frame);
        if (this.frames.length > (this.opts.maxQueuedFrames ?? 16)) this.frames.shift();
      } else if (this.opts.onUnsolicited) {
        this.opts.onUnsolicited(frame);
      } else {
        this.opts.log?.trace('unsolicited frame dropped');
      }
    }
  }

  private onLost(err: Error): void {
    if (!this.opened) return;
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    const e = err instanceof AgentError ? err : new AgentError(ErrorCodes.disconnected, err.message, { retryable: true, cause: err });
    this.lostError = e;
    this.opened = false;
    this.waiter?.fail(e);
    this.waiter = undefined;
    this.queue.close(e);
    for (const l of this.disconnectListeners) l(e);
  }
}
