import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  NecCommands,
  checksum,
  encodeFrame,
  necReplyFramer,
  parseBasicInfo,
  parseErrorStatus,
  parseLampSeconds,
  parseModelName,
  parseReply,
  parseRunningStatus,
} from '../../../drivers/nec/protocol.js';

const hex = (b: Buffer): string => b.toString('hex').replace(/(..)(?!$)/g, '$1 ');

describe('NEC protocol', () => {
  it('golden frames from the reference (checksums verified there)', () => {
    expect(hex(NecCommands.powerOn())).toBe('02 00 00 00 00 02');
    expect(hex(NecCommands.powerOff())).toBe('02 01 00 00 00 03');
    expect(hex(NecCommands.errorStatus())).toBe('00 88 00 00 00 88');
    expect(hex(NecCommands.basicInfo())).toBe('00 bf 00 00 01 02 c2');
    expect(hex(NecCommands.modelName())).toBe('00 85 00 00 01 04 8a');
    expect(hex(NecCommands.runningStatus())).toBe('00 85 00 00 01 01 87');
    expect(hex(NecCommands.filterUsage())).toBe('03 95 00 00 00 98');
    // NP-UM361X manual §2.2: 20h 81h 01h 60h 01h 00h → sum 103h → CKS 03h (additive, not XOR).
    expect(checksum(Uint8Array.from([0x20, 0x81, 0x01, 0x60, 0x01, 0x00]))).toBe(0x03);
  });

  it('success and failure replies by the high nibble, matched on cmd2', () => {
    const req = NecCommands.powerOn();
    expect(parseReply(encodeFrame(0x22, 0x00, [], 0x01, 0x10), req)).toEqual({ ok: true, data: Buffer.alloc(0) });
    expect(parseReply(encodeFrame(0xa2, 0x00, [0x02, 0x0d], 0x01, 0x10), req)).toEqual({ ok: false, err1: 0x02, err2: 0x0d });
    expect(parseReply(encodeFrame(0x22, 0x01, [], 0x01, 0x10), req)).toBeUndefined();
    expect(parseReply(encodeFrame(0x20, 0x00, [], 0x01, 0x10), req)).toBeUndefined();
  });

  it('Naviset capture: model name reply decodes to M311X', () => {
    const data = [...Buffer.from('M311X'), ...new Array(27).fill(0)];
    const frame = encodeFrame(0x20, 0x85, data, 0x01, 0x40);
    expect(frame[frame.length - 1]).toBe(0x40); // the capture's checksum byte
    const r = parseReply(frame, NecCommands.modelName());
    expect(r && r.ok && parseModelName(r.data)).toBe('M311X');
  });

  it('decodes running status, basic info, error bits and lamp seconds', () => {
    const rs = (d3: number, d4: number, d5: number, d6: number): Buffer => Buffer.from([0, 0, d3, d4, d5, d6, ...new Array(10).fill(0)]);
    expect(parseRunningStatus(rs(0, 0, 0, 0x00)).power).toBe('off');
    expect(parseRunningStatus(rs(1, 0, 1, 0x00)).power).toBe('warming');
    expect(parseRunningStatus(rs(1, 0, 0, 0x04)).power).toBe('on');
    expect(parseRunningStatus(rs(0, 1, 1, 0x05)).power).toBe('cooling');
    expect(parseRunningStatus(rs(0, 0, 0, 0x06))).toEqual({ power: 'off', standbyError: true });
    expect(parseBasicInfo(Buffer.from([0x02, 0x04, 0x00, 0x21, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toEqual({ signal: true, input: '1A', av_mute: true });
    expect(parseBasicInfo(Buffer.from([0x02, 0x04, 0x01, 0x99, 0x01, 0, 0, 0, 0, 0]))).toEqual({ signal: false, input: 't9901', av_mute: false });
    const bits = Buffer.alloc(12);
    bits[0] = 0b0100_0010;
    bits[5] = 0x01;
    expect(parseErrorStatus(bits).map((f) => f.code)).toEqual(['temperature', 'lamp', 'other']);
    const lamp = Buffer.alloc(6);
    lamp.writeInt32LE(7200, 2);
    expect(parseLampSeconds(lamp)).toBe(7200);
    lamp.writeInt32LE(-1, 2);
    expect(parseLampSeconds(lamp)).toBeNull();
  });

  it('reply stream in random splits with garbage yields the same replies (property)', () => {
    const arb = fc
      .tuple(fc.constantFrom(0x20, 0x22, 0x23, 0xa0, 0xa2), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 32 }))
      .map(([c1, c2, d]) => encodeFrame(c1, c2, [...d], 0x01, 0x10));
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 5 }), fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(600), { maxLength: 30 }), (frames, noise, cuts) => {
        const framer = necReplyFramer();
        // Noise first, then a reset (as the driver does before each request), then the replies.
        framer.push(noise);
        framer.reset();
        const data = Buffer.concat(frames);
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const out: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, data.length]) {
          out.push(...framer.push(data.subarray(prev, p)));
          prev = p;
        }
        expect(out).toEqual(frames);
      }),
    );
  });
});
