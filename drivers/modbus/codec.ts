/**
 * Modbus RTU frames for relay boards: FC 0x01 read coils, 0x05 write single coil, 0x0F write multiple
 * coils. CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), sent low byte first.
 * Source: docs/reference/protocols.md §5.4 (frames there recomputed; "compute the CRC in code, never copy
 * frames from documents").
 */
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { crc16Modbus } from '../../protocol/checksum.js';

export { crc16Modbus };

export const FC_READ_COILS = 0x01;
export const FC_WRITE_SINGLE_COIL = 0x05;
export const FC_WRITE_MULTIPLE_COILS = 0x0f;

/** Modbus allows at most 2000 coils per read and 1968 per multiple write (Modbus Application Protocol v1.1b3 §6.1, §6.11). */
export const MAX_READ_COILS = 2000;
export const MAX_WRITE_COILS = 1968;

/** Appends the CRC, low byte first. */
export function withCrc(body: Uint8Array): Buffer {
  const out = Buffer.alloc(body.length + 2);
  out.set(body, 0);
  out.writeUInt16LE(crc16Modbus(body), body.length);
  return out;
}

export function crcValid(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const expected = crc16Modbus(frame, 0, frame.length - 2);
  return frame[frame.length - 2] === (expected & 0xff) && frame[frame.length - 1] === expected >>> 8;
}

function checkUnit(unit: number): void {
  // 0 is broadcast (no reply, so no read-back); 248–255 are reserved.
  if (!Number.isInteger(unit) || unit < 1 || unit > 247) {
    throw new AgentError(ErrorCodes.invalid_args, `Modbus unit id ${unit} outside 1..247`);
  }
}

function checkAddress(addr: number): void {
  if (!Number.isInteger(addr) || addr < 0 || addr > 0xffff) {
    throw new AgentError(ErrorCodes.invalid_args, `coil address ${addr} outside 0..65535`);
  }
}

export function encodeReadCoils(unit: number, start: number, count: number): Buffer {
  checkUnit(unit);
  checkAddress(start);
  if (!Number.isInteger(count) || count < 1 || count > MAX_READ_COILS || start + count > 0x10000) {
    throw new AgentError(ErrorCodes.invalid_args, `cannot read ${count} coils from ${start}`);
  }
  return withCrc(Uint8Array.of(unit, FC_READ_COILS, start >> 8, start & 0xff, count >> 8, count & 0xff));
}

export function encodeWriteCoil(unit: number, addr: number, on: boolean): Buffer {
  checkUnit(unit);
  checkAddress(addr);
  // FF 00 = on, 00 00 = off; any other value is an illegal-data-value exception on a real slave.
  return withCrc(Uint8Array.of(unit, FC_WRITE_SINGLE_COIL, addr >> 8, addr & 0xff, on ? 0xff : 0x00, 0x00));
}

export function encodeWriteCoils(unit: number, start: number, values: readonly boolean[]): Buffer {
  checkUnit(unit);
  checkAddress(start);
  const count = values.length;
  if (count < 1 || count > MAX_WRITE_COILS || start + count > 0x10000) {
    throw new AgentError(ErrorCodes.invalid_args, `cannot write ${count} coils from ${start}`);
  }
  const packed = packBits(values);
  const body = Buffer.alloc(7 + packed.length);
  body.writeUInt8(unit, 0);
  body.writeUInt8(FC_WRITE_MULTIPLE_COILS, 1);
  body.writeUInt16BE(start, 2);
  body.writeUInt16BE(count, 4);
  body.writeUInt8(packed.length, 6);
  body.set(packed, 7);
  return withCrc(body);
}

/** Coil 0 of each byte is its least significant bit (Modbus spec §6.1). */
export function packBits(values: readonly boolean[]): Buffer {
  const out = Buffer.alloc(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

export function unpackBits(bytes: Uint8Array, count: number): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < count; i++) out.push(((bytes[i >> 3] ?? 0) >> (i & 7)) & 1 ? true : false);
  return out;
}

export const EXCEPTION_TEXT: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'slave device failure',
  5: 'acknowledge',
  6: 'slave device busy',
};

/**
 * How many bytes the reply to a request with this function code occupies, given what has arrived so
 * far; `undefined` while it cannot be told yet. RTU has no delimiter: the length follows from the
 * function code (and, for 0x01, the byte count).
 */
export function expectedReplyLength(buf: Uint8Array): number | undefined {
  if (buf.length < 2) return undefined;
  const fc = buf[1]!;
  if (fc & 0x80) return 5; // unit, fc|0x80, exception code, crc
  if (fc === FC_READ_COILS) return buf.length < 3 ? undefined : 3 + buf[2]! + 2;
  if (fc === FC_WRITE_SINGLE_COIL || fc === FC_WRITE_MULTIPLE_COILS) return 8;
  return undefined;
}

export type ModbusReply =
  | { unit: number; fc: typeof FC_READ_COILS; coils: Buffer }
  | { unit: number; fc: typeof FC_WRITE_SINGLE_COIL; addr: number; on: boolean }
  | { unit: number; fc: typeof FC_WRITE_MULTIPLE_COILS; start: number; count: number }
  | { unit: number; fc: number; exception: number };

/** Decodes one complete reply frame (CRC included). Throws `protocol` on a bad CRC or shape. */
export function decodeReply(frame: Uint8Array): ModbusReply {
  if (frame.length < 5) throw new AgentError(ErrorCodes.protocol, `Modbus reply too short (${frame.length} bytes)`, { retryable: true });
  if (!crcValid(frame)) {
    throw new AgentError(ErrorCodes.protocol, `Modbus reply CRC mismatch: ${Buffer.from(frame).toString('hex')}`, { retryable: true });
  }
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  const unit = b[0]!;
  const fc = b[1]!;
  if (fc & 0x80) return { unit, fc: fc & 0x7f, exception: b[2]! };
  if (fc === FC_READ_COILS) {
    const n = b[2]!;
    if (b.length !== 3 + n + 2) throw new AgentError(ErrorCodes.protocol, 'Modbus read-coils reply length mismatch', { retryable: true });
    return { unit, fc, coils: Buffer.from(b.subarray(3, 3 + n)) };
  }
  if (fc === FC_WRITE_SINGLE_COIL) {
    if (b.length !== 8) throw new AgentError(ErrorCodes.protocol, 'Modbus write-coil reply length mismatch', { retryable: true });
    const v = b.readUInt16BE(4);
    if (v !== 0xff00 && v !== 0x0000) throw new AgentError(ErrorCodes.protocol, `Modbus write-coil echo value ${v.toString(16)}`, { retryable: true });
    return { unit, fc, addr: b.readUInt16BE(2), on: v === 0xff00 };
  }
  if (fc === FC_WRITE_MULTIPLE_COILS) {
    if (b.length !== 8) throw new AgentError(ErrorCodes.protocol, 'Modbus write-coils reply length mismatch', { retryable: true });
    return { unit, fc, start: b.readUInt16BE(2), count: b.readUInt16BE(4) };
  }
  throw new AgentError(ErrorCodes.protocol, `unexpected Modbus function code 0x${fc.toString(16)}`, { retryable: true });
}

/** A request as a slave sees it; used by the simulator. */
export type ModbusRequest =
  | { unit: number; fc: typeof FC_READ_COILS; start: number; count: number }
  | { unit: number; fc: typeof FC_WRITE_SINGLE_COIL; addr: number; value: number }
  | { unit: number; fc: typeof FC_WRITE_MULTIPLE_COILS; start: number; count: number; values: boolean[] }
  | { unit: number; fc: number; raw: Buffer };

/** Request length from what has arrived so far (slave side); undefined while unknown. */
export function expectedRequestLength(buf: Uint8Array): number | undefined {
  if (buf.length < 2) return undefined;
  const fc = buf[1]!;
  if (fc === FC_READ_COILS || fc === FC_WRITE_SINGLE_COIL) return 8;
  if (fc === FC_WRITE_MULTIPLE_COILS) return buf.length < 7 ? undefined : 7 + buf[6]! + 2;
  // Other read/write register functions are 8 bytes too; good enough to skip them.
  if (fc >= 0x02 && fc <= 0x06) return 8;
  return undefined;
}

export function decodeRequest(frame: Uint8Array): ModbusRequest {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  const unit = b[0]!;
  const fc = b[1]!;
  if (fc === FC_READ_COILS) return { unit, fc, start: b.readUInt16BE(2), count: b.readUInt16BE(4) };
  if (fc === FC_WRITE_SINGLE_COIL) return { unit, fc, addr: b.readUInt16BE(2), value: b.readUInt16BE(4) };
  if (fc === FC_WRITE_MULTIPLE_COILS) {
    const count = b.readUInt16BE(4);
    return { unit, fc, start: b.readUInt16BE(2), count, values: unpackBits(b.subarray(7, 7 + b[6]!), count) };
  }
  return { unit, fc, raw: Buffer.from(b) };
}
