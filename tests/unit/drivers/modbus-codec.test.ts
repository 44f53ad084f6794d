import { describe, expect, it } from 'vitest';
import {
  crc16Modbus,
  crcValid,
  decodeReply,
  decodeRequest,
  encodeReadCoils,
  encodeWriteCoil,
  encodeWriteCoils,
  expectedReplyLength,
  expectedRequestLength,
  packBits,
  unpackBits,
  withCrc,
} from '../../../drivers/modbus/codec.js';
import { AgentError } from '../../../protocol/errors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('Modbus RTU codec', () => {
  it('computes CRC-16/MODBUS, low byte first (golden frames, docs/reference/protocols.md §5.4)', () => {
    expect(encodeWriteCoil(1, 0, true)).toEqual(hex('01 05 00 00 FF 00 8C 3A'));
    expect(encodeWriteCoil(1, 0, false)).toEqual(hex('01 05 00 00 00 00 CD CA'));
    expect(encodeWriteCoil(1, 1, true)).toEqual(hex('01 05 00 01 FF 00 DD FA'));
    expect(encodeReadCoils(1, 0, 8)).toEqual(hex('01 01 00 00 00 08 3D CC'));
    expect(encodeReadCoils(1, 0, 4)).toEqual(hex('01 01 00 00 00 04 3D C9'));
    expect(encodeWriteCoils(1, 0, Array(8).fill(true))).toEqual(hex('01 0F 00 00 00 08 01 FF BE D5'));
    expect(encodeWriteCoils(1, 0, Array(8).fill(false))).toEqual(hex('01 0F 00 00 00 08 01 00 FE 95'));
    // The CRC check value of the catalogue of parametrised CRC algorithms for "123456789".
    expect(crc16Modbus(Buffer.from('123456789'))).toBe(0x4b37);
  });

  /**
   * The Modicon Read Coils example (slave 17, coils 20-56; Modbus Application Protocol V1.1b3 §6.1 and the
   * PI-MBUS-300 guide, as reproduced in the ModbusDecoder notes and simplymodbus.ca): request
   * `11 01 00 13 00 25 0E 84`, response `11 01 05 CD 6B B2 0E 1B 45 E6`.
   */
  it('the reference Read Coils request and response (Modicon example, slave 17)', () => {
    expect(encodeReadCoils(0x11, 0x13, 0x25)).toEqual(hex('11 01 00 13 00 25 0E 84'));
    const r = decodeReply(hex('11 01 05 CD 6B B2 0E 1B 45 E6'));
    expect(r).toMatchObject({ unit: 0x11, fc: 1 });
    if (!('coils' in r)) throw new Error('not a coils reply');
    expect([...r.coils]).toEqual([0xcd, 0x6b, 0xb2, 0x0e, 0x1b]);
  });

  it('rejects the document frame with a copied CRC', () => {
    // "01 01 00 00 00 04 FD CA" appears in a README; FD CA is the CRC of …00 01.
    expect(crcValid(hex('01 01 00 00 00 04 FD CA'))).toBe(false);
    expect(crcValid(hex('01 01 00 00 00 01 FD CA'))).toBe(true);
  });

  it('decodes a read-coils reply into packed bits', () => {
    const r = decodeReply(hex('01 01 01 41 91 B8'));
    expect(r).toMatchObject({ unit: 1, fc: 1 });
    if (!('coils' in r)) throw new Error('not a coils reply');
    expect(unpackBits(r.coils, 8)).toEqual([true, false, false, false, false, false, true, false]);
  });

  it('throws protocol on a corrupted reply, never returns a state', () => {
    const frame = hex('01 01 01 41 91 B8');
    frame[3] = 0x40;
    expect(() => decodeReply(frame)).toThrow(AgentError);
    try {
      decodeReply(frame);
    } catch (err) {
      expect((err as AgentError).code).toBe('protocol');
    }
  });

  it('decodes exceptions and write echoes', () => {
    expect(decodeReply(withCrc(Uint8Array.of(2, 0x85, 2)))).toEqual({ unit: 2, fc: 5, exception: 2 });
    expect(decodeReply(encodeWriteCoil(3, 7, true))).toEqual({ unit: 3, fc: 5, addr: 7, on: true });
  });

  it('knows reply and request lengths from partial frames', () => {
    expect(expectedReplyLength(hex('01'))).toBeUndefined();
    expect(expectedReplyLength(hex('01 01'))).toBeUndefined();
    expect(expectedReplyLength(hex('01 01 02'))).toBe(7);
    expect(expectedReplyLength(hex('01 85'))).toBe(5);
    expect(expectedReplyLength(hex('01 05'))).toBe(8);
    expect(expectedRequestLength(hex('01 0F 00 00 00 0A 02'))).toBe(11);
    const req = decodeRequest(encodeWriteCoils(4, 2, [true, false, true]));
    expect(req).toEqual({ unit: 4, fc: 15, start: 2, count: 3, values: [true, false, true] });
  });

  it('validates arguments', () => {
    expect(() => encodeWriteCoil(0, 0, true)).toThrow(/unit id/);
    expect(() => encodeWriteCoil(248, 0, true)).toThrow(/unit id/);
    expect(() => encodeReadCoils(1, 65535, 2)).toThrow();
    expect(packBits([true, true, false, false, false, false, false, false, true])).toEqual(hex('03 01'));
  });
});
