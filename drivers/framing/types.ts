/**
 * Framers turn a byte stream into frames. They are pure (no timers, no I/O) so they can be fed byte by
 * byte or in random splits in unit tests, and they are bounded: whatever arrives (line noise, a wrong
 * baud rate, a peer streaming garbage), the bytes held never exceed `maxBuffered`, and the framer
 * resynchronises on the next plausible frame start instead of wedging.
 *
 * node-serialport's parsers have no cap, so line noise can grow their memory without bound: ours must not.
 */
export interface Framer<F = Buffer> {
  /** Feeds bytes in; returns the frames completed by them, in order. */
  push(chunk: Uint8Array): F[];
  /** Drops any partial frame, e.g. before a new request on a half-duplex link or after a timeout. */
  reset(): void;
  /** Bytes currently held as a partial frame. */
  readonly buffered: number;
  /** Total bytes thrown away by resync since creation (for diagnostics and tests). */
  readonly discarded: number;
}

/** The buffer bookkeeping every framer shares; subclasses implement push() and keep `buf` bounded. */
export abstract class BufferedFramer<F = Buffer> implements Framer<F> {
  protected buf: Buffer = Buffer.alloc(0);
  protected dropped = 0;

  abstract push(chunk: Uint8Array): F[];

  get buffered(): number {
    return this.buf.length;
  }

  get discarded(): number {
    return this.dropped;
  }

  reset(): void {
    this.dropped += this.buf.length;
    this.buf = Buffer.alloc(0);
  }
}
