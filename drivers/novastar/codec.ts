/**
 * NovaStar sending-card protocol (MCTRL/VX series, TCP 5200), little-endian.
 * Layout and checksum: dietervansteenwegen/Novastar_MCTRL300_basic_controller
 * src/novastar_mctrl300/command_layout.md; register addresses and the frames the checksum was verified
 * on: bitfocus/companion-module-novastar-controller (docs/reference/protocols.md §4.1).
 *
 *   request  55 AA | 00 | serial | FE | dst | dev_type | port | board(2 LE) | code | 00 | addr(4 LE) | len(2 LE) | data | cks(2 LE)
 *   reply    AA 55 | ack | serial | …same… | len | data (reads only) | cks
 *
 * The checksum is the sum of every byte after the 2-byte header plus 0x5555, truncated to 16 bits.
 */
import { AgentError, ErrorCodes } from '../../protocol/errors.js';

export const NOVA_REQ_HEADER = [0x55, 0xaa] as const;
export const NOVA_REPLY_HEADER = [0xaa, 0x55] as const;
/** Bytes before the data: header(2) ack serial src dst dev port board(2) code reserved addr(4) len(2). */
export const NOVA_FIXED_LEN = 18;
/** A read of more than this is not something this agent asks for; larger lengths mean garbage. */
export const NOVA_MAX_DATA = 1024;

export const DEV_SENDING_CARD = 0x00;
export const DEV_RECEIVING_CARD = 0x01;

export const REG = {
  /** Overall brightness, 1 byte 0–255; write it broadcast to receiving cards. */
  brightness: 0x02000001,
  /** Sending card display mode: 0 normal, 1 freeze, 2 black. */
  displayMode: 0x02200050,
  /** Model id, 2 bytes, on the sending card. */
  modelId: 0x00000002,
  /** "DVI status": non-zero when the sending card sees an input signal (Companion reads it at connect). */
  dviStatus: 0x02000017,
  /** Sending card firmware, 4 bytes. */
  firmware: 0x04100004,
} as const;

export const ACK_TEXT: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'timeout',
  2: 'checksum error',
  3: 'checksum error',
  4: 'invalid command',
};

export interface NovaFrame {
  ack: number;
  serial: number;
  src: number;
  dst: number;
  devType: number;
  port: number;
  board: number;
  /** 0 read, 1 write. */
  code: number;
  addr: number;
  /** The length field: bytes requested (read) or written (write). */
  length: number;
  data: Buffer;
}

export function novaChecksum(buf: Uint8Array, start: number, end: number): number {
  let sum = 0x5555;
  for (let i = start; i < end; i++) sum += buf[i]!;
  return sum & 0xffff;
}

export interface NovaRequest {
  serial: number;
  dst?: number;
  devType: number;
  port?: number;
  board?: number;
  addr: number;
  /** Omit for a read of `length` bytes. */
  data?: Uint8Array;
  length?: number;
}

function encode(header: readonly number[], f: Omit<NovaFrame, 'data'> & { data: Uint8Array }): Buffer {
  const out = Buffer.alloc(NOVA_FIXED_LEN + f.data.length + 2);
  out[0] = header[0]!;
  out[1] = header[1]!;
  out[2] = f.ack & 0xff;
  out[3] = f.serial & 0xff;
  out[4] = f.src & 0xff;
  out[5] = f.dst & 0xff;
  out[6] = f.devType & 0xff;
  out[7] = f.port & 0xff;
  out.writeUInt16LE(f.board & 0xffff, 8);
  out[10] = f.code & 0xff;
  out[11] = 0;
  out.writeUInt32LE(f.addr >>> 0, 12);
  out.writeUInt16LE(f.length & 0xffff, 16);
  out.set(f.data, NOVA_FIXED_LEN);
  out.writeUInt16LE(novaChecksum(out, 2, NOVA_FIXED_LEN + f.data.length), NOVA_FIXED_LEN + f.data.length);
  return out;
}

export function encodeRequest(r: NovaRequest): Buffer {
  const write = r.data !== undefined;
  const length = write ? r.data!.length : (r.length ?? 1);
  if (length < 1 || length > NOVA_MAX_DATA) throw new AgentError(ErrorCodes.invalid_args, `NovaStar length ${length} out of range`);
  return encode(NOVA_REQ_HEADER, {
    ack: 0,
    serial: r.serial,
    src: 0xfe,
    dst: r.dst ?? 0,
    devType: r.devType,
    port: r.port ?? 0,
    board: r.board ?? 0,
    code: write ? 1 : 0,
    addr: r.addr,
    length,
    data: r.data ?? new Uint8Array(0),
  });
}

/** Builds a reply as a controller would (simulator side). Write acknowledgements carry no data. */
export function encodeReply(req: NovaFrame, ack: number, data?: Uint8Array): Buffer {
  return encode(NOVA_REPLY_HEADER, {
    ...req,
    ack,
    dst: 0xfe,
    src: req.dst,
    data: req.code === 0 && ack === 0 ? (data ?? Buffer.alloc(req.length)) : new Uint8Array(0),
  });
}

/**
 * Incremental frame extractor with resync: finds `header`, waits for the whole frame, checks the
 * checksum. Bytes before a header and frames with a bad checksum are dropped (counted in `dropped`),
 * so line noise or a half frame after a reconnect never wedges the stream. Memory is bounded by one
 * maximal frame.
 */
export class NovaFrameParser {
  private buf = Buffer.alloc(0);
  dropped = 0;
  badChecksums = 0;

  constructor(
    private readonly header: readonly number[],
    /** Whether a frame with this code carries `length` data bytes (requests: writes; replies: reads). */
    private readonly hasData: (code: number, ack: number) => boolean,
    /** Told about a well-formed frame whose checksum is wrong (a controller answers those with ack 02). */
    private readonly onBadChecksum?: (frame: Buffer) => void,
  ) {}

  push(chunk: Uint8Array): NovaFrame[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const frames: NovaFrame[] = [];
    for (;;) {
      const start = this.findHeader();
      if (start < 0) {
        // Keep a trailing first header byte: the second may come in the next chunk.
        const keep = this.buf.length > 0 && this.buf[this.buf.length - 1] === this.header[0] ? 1 : 0;
        this.dropped += this.buf.length - keep;
        this.buf = this.buf.subarray(this.buf.length - keep);
        break;
      }
      if (start > 0) {
        this.dropped += start;
        this.buf = this.buf.subarray(start);
      }
      if (this.buf.length < NOVA_FIXED_LEN) break;
      const length = this.buf.readUInt16LE(16);
      const code = this.buf[10]!;
      const ack = this.buf[2]!;
      const dataLen = this.hasData(code, ack) ? length : 0;
      if (dataLen > NOVA_MAX_DATA) {
        // Not a real frame: skip this header and resync.
        this.dropped += 2;
        this.buf = this.buf.subarray(2);
        continue;
      }
      const total = NOVA_FIXED_LEN + dataLen + 2;
      if (this.buf.length < total) break;
      const frame = this.buf.subarray(0, total);
      const cks = frame.readUInt16LE(total - 2);
      if (cks !== novaChecksum(frame, 2, total - 2)) {
        this.badChecksums++;
        this.onBadChecksum?.(Buffer.from(frame));
        this.dropped += 2;
        this.buf = this.buf.subarray(2);
        continue;
      }
      frames.push({
        ack,
        serial: frame[3]!,
        src: frame[4]!,
        dst: frame[5]!,
        devType: frame[6]!,
        port: frame[7]!,
        board: frame.readUInt16LE(8),
        code,
        addr: frame.readUInt32LE(12),
        length,
        data: Buffer.from(frame.subarray(NOVA_FIXED_LEN, NOVA_FIXED_LEN + dataLen)),
      });
      this.buf = this.buf.subarray(total);
    }
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    return frames;
  }

  reset(): void {
    this.dropped += this.buf.length;
    this.buf = Buffer.alloc(0);
  }

  get buffered(): number {
    return this.buf.length;
  }

  private findHeader(): number {
    for (let i = 0; i + 1 < this.buf.length; i++) {
      if (this.buf[i] === this.header[0] && this.buf[i + 1] === this.header[1]) return i;
    }
    return -1;
  }
}

/** Replies carry data only for successful reads. */
export const replyParser = (): NovaFrameParser => new NovaFrameParser(NOVA_REPLY_HEADER, (code, ack) => code === 0 && ack === 0);
/** Requests carry data only for writes. */
export const requestParser = (onBadChecksum?: (frame: Buffer) => void): NovaFrameParser =>
  new NovaFrameParser(NOVA_REQ_HEADER, (code) => code === 1, onBadChecksum);

/** The fields of a raw frame whose checksum failed (for a ack-02 reply). */
export function frameFields(frame: Buffer): NovaFrame {
  return {
    ack: frame[2]!,
    serial: frame[3]!,
    src: frame[4]!,
    dst: frame[5]!,
    devType: frame[6]!,
    port: frame[7]!,
    board: frame.readUInt16LE(8),
    code: frame[10]!,
    addr: frame.readUInt32LE(12),
    length: frame.readUInt16LE(16),
    data: Buffer.alloc(0),
  };
}

/** 0–255 register ↔ 0–100 % of the device model. */
export const brightnessToPercent = (raw: number): number => Math.round((raw * 100) / 255);
export const percentToBrightness = (pct: number): number => Math.round((Math.min(100, Math.max(0, pct)) * 255) / 100);
