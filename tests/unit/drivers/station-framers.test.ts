/** The binary reply framers of the relay, NovaStar and frame-profile drivers: random splits, garbage, bounded. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replyFramer } from '../../../drivers/modbus/bus.js';
import { encodeReadCoils, encodeWriteCoil, withCrc } from '../../../drivers/modbus/codec.js';
import { encodeReply, replyParser, requestParser, encodeRequest } from '../../../drivers/novastar/codec.js';
import { ReplyFramer, CompiledProfile } from '../../../drivers/frame-profile/engine.js';
import { FrameProfileSchema } from '../../../config/frame-profile.js';
import { AgentError } from '../../../protocol/errors.js';

function splits(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('Modbus reply framer', () => {
  const replies = [withCrc(Uint8Array.of(1, 1, 1, 0x41)), encodeWriteCoil(2, 3, true), withCrc(Uint8Array.of(3, 0x81, 2))];
  it('finds every reply whatever the splits and garbage in front', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), fc.array(fc.nat(64), { maxLength: 8 }), fc.integer({ min: 0, max: 2 }), (garbage, cuts, which) => {
        const f = replyFramer();
        const reply = replies[which]!;
        const frames = splits(Buffer.concat([Buffer.from(garbage), reply]), cuts).flatMap((c) => f.push(c));
        expect(frames.at(-1)).toEqual(reply);
        expect(f.buffered).toBeLessThanOrEqual(256);
      }),
      { numRuns: 300 },
    );
  });

  it('never emits a frame with a bad CRC (a request echo is not mistaken either)', () => {
    const f = replyFramer();
    const bad = Buffer.from(replies[0]!);
    bad[5] = bad[5]! ^ 1;
    expect(f.push(bad)).toEqual([]);
    expect(f.push(encodeReadCoils(1, 0, 8)).length).toBeLessThanOrEqual(1);
  });
});

describe('NovaStar reply parser', () => {
  it('random splits and garbage', () => {
    const req = requestParser().push(encodeRequest({ serial: 5, devType: 1, addr: 0x02000001, length: 1 }))[0]!;
    const reply = encodeReply(req, 0, Uint8Array.of(0x80));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(64), { maxLength: 8 }), (garbage, cuts) => {
        const p = replyParser();
        const frames = splits(Buffer.concat([Buffer.from(garbage), reply]), cuts).flatMap((c) => p.push(c));
        expect(frames.at(-1)).toMatchObject({ serial: 5, data: Buffer.of(0x80) });
      }),
      { numRuns: 300 },
    );
  });
});

describe('frame profile engine on garbage', () => {
  const profile = new CompiledProfile(
    FrameProfileSchema.parse({
      name: 't',
      encoding: 'hex',
      checksum: 'sum8',
      reply_length: 4,
      commands: { status: { send: 'A0 01', expect: 'A1 (?<power>..) (?<volume>..)', map: { power: { '00': 'off', '01': 'on' }, volume: 'number' } } },
    }),
  );
  it('never throws anything but AgentError, never yields a state from a bad checksum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const f = new ReplyFramer(undefined, 4);
        for (const frame of f.push(Buffer.from(bytes))) {
          try {
            const r = profile.interpret('status', profile.replyBody(frame));
            if (r) {
              const sum = frame.subarray(0, 3).reduce((s, b) => (s + b) & 0xff, 0);
              expect(sum).toBe(frame[3]);
            }
          } catch (err) {
            expect(err).toBeInstanceOf(AgentError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a terminator framer stays bounded on a stream without terminators', () => {
    const f = new ReplyFramer(Buffer.from('\r'), undefined);
    for (let i = 0; i < 100; i++) expect(f.push(Buffer.alloc(100, 0x41))).toEqual([]);
    expect(f.overflowed).toBeGreaterThan(0);
    expect(f.push(Buffer.from('OK\r'))[0]!.length).toBeLessThanOrEqual(1024 + 3);
  });
});
