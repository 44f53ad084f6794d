import { BufferedFramer } from './types.js';

export interface LengthFramerOptions {
  /** Bytes needed before `frameLength` can tell the total length (e.g. 5 for NEC: cmd1 cmd2 id1 id2 len). */
  headerLength: number;
  /**
   * Total frame length (header + payload + trailer) from the header, or undefined when the header is
   * impossible (the framer then slides one byte and tries again).
   */
  frameLength(header: Buffer): number | undefined;
  /** Largest total frame length; longer claims are treated as garbage. */
  maxLength: number;
  /** Cheap first-byte filter: bytes that cannot start a frame are skipped without buffering. */
  isStart?(byte: number): boolean;
  /** Full-frame check, typically the checksum. A failing frame slides the window by one byte. */
  validate?(frame: Buffer): boolean;
}

/**
 * Binary frames whose header carries their length (NEC, NovaStar, ITC, Modbus-like protocols).
 *
 * Resync rule: a byte that cannot start a frame, a header claiming an impossible length, or a frame
 * failing `validate` (checksum) costs one byte: the window slides by one and the search restarts, so a
 * real frame hidden behind garbage is still found. Bytes held never exceed `maxLength` once `push`
 * returns. A false start waiting for bytes that never come is cleared by `reset()` (drivers call it
 * before each request and after a timeout).
 */
export class LengthFramer extends BufferedFramer<Buffer> {
  private readonly opts: LengthFramerOptions;

  constructor(options: LengthFramerOptions) {
    super();
    if (!Number.isInteger(options.headerLength) || options.headerLength < 1) throw new RangeError('headerLength must be a positive integer');
    if (!Number.isInteger(options.maxLength) || options.maxLength < options.headerLength) {
      throw new RangeError('maxLength must be an integer >= headerLength');
    }
    this.opts = options;
  }

  /** First offset >= from holding a complete frame that passes validate, or -1. */
  private findCompleteFrame(data: Buffer, from: number): number {
    const { headerLength, maxLength, isStart, validate, frameLength } = this.opts;
    for (let q = from; q + headerLength <= data.length; q++) {
      if (isStart && !isStart(data[q]!)) continue;
      const total = frameLength(data.subarray(q, q + headerLength));
      if (total === undefined || !Number.isInteger(total) || total < headerLength || total > maxLength) continue;
      if (q + total > data.length) continue;
      if (validate!(data.subarray(q, q + total))) return q;
    }
    return -1;
  }

  push(chunk: Uint8Array): Buffer[] {
    const { headerLength, maxLength, isStart, validate, frameLength } = this.opts;
    const data = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      if (isStart && !isStart(data[pos]!)) {
        pos++;
        this.dropped++;
        continue;
      }
      if (data.length - pos < headerLength) break;
      const total = frameLength(data.subarray(pos, pos + headerLength));
      if (total === undefined || !Number.isInteger(total) || total < headerLength || total > maxLength) {
        pos++;
        this.dropped++;
        continue;
      }
      if (data.length - pos < total) {
        // Incomplete: either a real frame still arriving or a false start in garbage whose length byte
        // swallows the real reply. With a checksum we can tell: a complete valid frame further on wins.
        const later = validate ? this.findCompleteFrame(data, pos + 1) : -1;
        if (later < 0) break;
        this.dropped += later - pos;
        pos = later;
        continue;
      }
      const frame = data.subarray(pos, pos + total);
      if (validate && !validate(frame)) {
        pos++;
        this.dropped++;
        continue;
      }
      frames.push(Buffer.from(frame));
      pos += total;
    }
    let rest = data.subarray(pos);
    if (rest.length > maxLength) {
      const cut = rest.length - maxLength;
      this.dropped += cut;
      rest = rest.subarray(cut);
    }
    this.buf = Buffer.from(rest);
    return frames;
  }
}
