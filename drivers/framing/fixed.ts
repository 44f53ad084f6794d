import { BufferedFramer } from './types.js';

/**
 * Fixed-size frames, e.g. the 16-byte ESC/VP.net handshake. There is no resync information in a
 * fixed-size stream, so a caller that sees a bad frame should `reset()` (or reconnect).
 */
export class FixedLengthFramer extends BufferedFramer<Buffer> {

  constructor(private readonly length: number) {
    super();
    if (!Number.isInteger(length) || length < 1) throw new RangeError('length must be a positive integer');
  }

  push(chunk: Uint8Array): Buffer[] {
    const data = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    let pos = 0;
    while (data.length - pos >= this.length) {
      frames.push(Buffer.from(data.subarray(pos, pos + this.length)));
      pos += this.length;
    }
    this.buf = Buffer.from(data.subarray(pos));
    return frames;
  }
}
