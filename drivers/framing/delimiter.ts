import { BufferedFramer } from './types.js';

export interface DelimiterFramerOptions {
  /** e.g. '\r' for PJLink and ESC/VP21 lines. A string is taken as latin1 bytes. */
  delimiter: string | Uint8Array;
  /** Longest frame accepted, delimiter excluded. Longer runs are discarded up to the next delimiter. */
  maxLength: number;
  /** Keep the delimiter at the end of each frame (default false). */
  includeDelimiter?: boolean;
  /** Drop empty frames, e.g. the `\n` of a stray CRLF (default true). */
  skipEmpty?: boolean;
  /**
   * What an over-long run becomes. `drop` (default): discarded up to and including the next delimiter.
   * `keep_tail`: only its last `maxLength` bytes are kept and delivered at the next delimiter — right for
   * protocols whose frames carry a start marker (PJLink `%`, ESC/VP21 `CMD=`), because a reply that
   * follows line noise without a delimiter in between is still found by the parser.
   */
  overflow?: 'drop' | 'keep_tail';
}

/**
 * Splits on a delimiter with a hard cap.
 *
 * Resync rule: when `maxLength` bytes pass without a delimiter, the partial frame cannot be trusted (its
 * start is lost), so it is dropped and everything up to and including the next delimiter is discarded
 * too; the frame after that is delivered normally.
 */
export class DelimiterFramer extends BufferedFramer<Buffer> {
  private readonly delimiter: Buffer;
  private readonly maxLength: number;
  private readonly includeDelimiter: boolean;
  private readonly skipEmpty: boolean;
  private readonly keepTail: boolean;
  private discarding = false;

  constructor(options: DelimiterFramerOptions) {
    super();
    this.delimiter = typeof options.delimiter === 'string' ? Buffer.from(options.delimiter, 'latin1') : Buffer.from(options.delimiter);
    if (this.delimiter.length === 0) throw new RangeError('delimiter must not be empty');
    if (!Number.isInteger(options.maxLength) || options.maxLength < 1) throw new RangeError('maxLength must be a positive integer');
    this.maxLength = options.maxLength;
    this.includeDelimiter = options.includeDelimiter ?? false;
    this.skipEmpty = options.skipEmpty ?? true;
    this.keepTail = options.overflow === 'keep_tail';
  }

  override reset(): void {
    super.reset();
    this.discarding = false;
  }

  push(chunk: Uint8Array): Buffer[] {
    const frames: Buffer[] = [];
    const data = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    let start = 0;
    for (;;) {
      const idx = data.indexOf(this.delimiter, start);
      if (idx < 0) break;
      const end = idx + this.delimiter.length;
      if (this.discarding) {
        this.dropped += end - start;
        this.discarding = false;
      } else if (idx - start > this.maxLength) {
        if (this.keepTail) {
          this.dropped += idx - start - this.maxLength;
          const from = idx - this.maxLength;
          frames.push(Buffer.from(data.subarray(from, this.includeDelimiter ? end : idx)));
        } else {
          this.dropped += end - start;
        }
      } else {
        const frame = data.subarray(start, this.includeDelimiter ? end : idx);
        if (!(this.skipEmpty && idx === start)) frames.push(Buffer.from(frame));
      }
      start = end;
    }
    let rest = data.subarray(start);
    // Keep at most maxLength + (delimiter - 1) bytes: the tail may hold the first bytes of a split delimiter.
    const keep = this.maxLength + this.delimiter.length - 1;
    if (rest.length > keep && this.keepTail) {
      const cut = rest.length - keep;
      this.dropped += cut;
      rest = rest.subarray(cut);
    } else if (rest.length > keep) {
      const cut = rest.length - (this.delimiter.length - 1);
      this.dropped += cut;
      rest = rest.subarray(cut);
      this.discarding = true;
    } else if (this.discarding && rest.length > this.delimiter.length - 1) {
      const cut = rest.length - (this.delimiter.length - 1);
      this.dropped += cut;
      rest = rest.subarray(cut);
    }
    this.buf = Buffer.from(rest);
    return frames;
  }
}
