import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DelimiterFramer } from '../../../drivers/framing/delimiter.js';
import { LengthFramer } from '../../../drivers/framing/length.js';
import type { Framer } from '../../../drivers/framing/types.js';

function feedSplit<F>(framer: Framer<F>, data: Buffer, cuts: number[]): F[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: F[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    out.push(...framer.push(data.subarray(prev, p)));
    prev = p;
  }
  return out;
}

const str = (frames: Buffer[]): string[] => frames.map((f) => f.toString('latin1'));

describe('DelimiterFramer', () => {
  it('splits lines and skips empty frames', () => {
    const f = new DelimiterFramer({ delimiter: '\r', maxLength: 16 });
    expect(str(f.push(Buffer.from('%1POWR=1\r\r%1INPT=31\r%1AV')))).toEqual(['%1POWR=1', '%1INPT=31']);
    expect(str(f.push(Buffer.from('MT=30\r')))).toEqual(['%1AVMT=30']);
    expect(f.buffered).toBe(0);
  });

  it('handles multi-byte delimiters split across chunks', () => {
    const f = new DelimiterFramer({ delimiter: '\r\n', maxLength: 16, includeDelimiter: true });
    expect(f.push(Buffer.from('abc\r'))).toEqual([]);
    expect(str(f.push(Buffer.from('\ndef\r\n')))).toEqual(['abc\r\n', 'def\r\n']);
  });

  it('drops an over-long run up to the next delimiter, then resyncs', () => {
    const f = new DelimiterFramer({ delimiter: '\r', maxLength: 8 });
    expect(f.push(Buffer.from('x'.repeat(20)))).toEqual([]);
    expect(f.buffered).toBeLessThanOrEqual(8);
    expect(str(f.push(Buffer.from('yyy\rgood\r')))).toEqual(['good']);
    expect(f.discarded).toBe(24);
  });

  it('keep_tail: a reply behind over-long noise survives as the tail of the next frame', () => {
    const f = new DelimiterFramer({ delimiter: '\r', maxLength: 10, overflow: 'keep_tail' });
    expect(f.push(Buffer.from('n'.repeat(50)))).toEqual([]);
    expect(f.buffered).toBeLessThanOrEqual(10);
    expect(str(f.push(Buffer.from('%1POWR=1\r%1INPT=31\r')))).toEqual(['nn%1POWR=1', '%1INPT=31']);
    expect(str(f.push(Buffer.from(`${'z'.repeat(30)}%1AVMT=30\r`)))).toEqual(['z%1AVMT=30']);
  });

  it('same frames whatever the split (property)', () => {
    const line = fc.stringMatching(/^[ -~]{1,20}$/);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 10 }), fc.array(fc.nat(400), { maxLength: 30 }), (lines, cuts) => {
        const data = Buffer.from(lines.map((l) => `${l}\r`).join(''), 'latin1');
        expect(str(feedSplit(new DelimiterFramer({ delimiter: '\r', maxLength: 32 }), data, cuts))).toEqual(lines);
      }),
    );
  });

  it('memory stays bounded under random garbage and recovers (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.array(fc.nat(4096), { maxLength: 50 }), (garbage, cuts) => {
        const f = new DelimiterFramer({ delimiter: '\r', maxLength: 64 });
        const data = Buffer.from(garbage);
        let prev = 0;
        for (const p of [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b)) {
          f.push(data.subarray(prev, p));
          expect(f.buffered).toBeLessThanOrEqual(64);
          prev = p;
        }
        f.push(data.subarray(prev));
        expect(f.buffered).toBeLessThanOrEqual(64);
        // After a terminator, a good frame gets through.
        expect(str(f.push(Buffer.from('\rOK\r'))).at(-1)).toBe('OK');
      }),
    );
  });
});

// NEC-style frames: cmd1 cmd2 id1 id2 len data… cks (additive low byte).
const sum = (b: Uint8Array): number => b.reduce((a, x) => (a + x) & 0xff, 0);
const necFramer = (): LengthFramer =>
  new LengthFramer({
    headerLength: 5,
    frameLength: (h) => 5 + h[4]! + 1,
    maxLength: 5 + 255 + 1,
    isStart: (b) => (b & 0xf0) === 0x20 || (b & 0xf0) === 0xa0,
    validate: (f) => sum(f.subarray(0, -1)) === f[f.length - 1],
  });
const frame = (bytes: number[]): Buffer => Buffer.from([...bytes, sum(Uint8Array.from(bytes))]);

describe('LengthFramer', () => {
  it('golden NEC reply: power on ack 22 00 01 xx 00 cks', () => {
    const f = necFramer();
    const ack = frame([0x22, 0x00, 0x01, 0x10, 0x00]);
    expect(f.push(ack)).toEqual([ack]);
  });

  it('finds a frame behind garbage and behind a bad checksum', () => {
    const f = necFramer();
    const good = frame([0x20, 0x88, 0x01, 0x10, 0x02, 0x01, 0x00]);
    const bad = Buffer.from(good);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
    expect(f.push(Buffer.concat([Buffer.from([0x00, 0x13, 0xff, 0x21]), bad, good]))).toEqual([good]);
    expect(f.discarded).toBeGreaterThan(0);
  });

  it('same frames whatever the split, with garbage between (property)', () => {
    const arbFrame = fc
      .tuple(fc.constantFrom(0x20, 0x22, 0xa2), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 20 }))
      .map(([c1, c2, data]) => frame([c1, c2, 0x01, 0x10, data.length, ...data]));
    fc.assert(
      fc.property(fc.array(arbFrame, { maxLength: 6 }), fc.array(fc.nat(500), { maxLength: 40 }), (frames, cuts) => {
        // Garbage of bytes that never start a frame (0x00-0x1f) between frames.
        const data = Buffer.concat(frames.flatMap((fr) => [Buffer.from([0x00, 0x1f, 0x05]), fr]));
        expect(feedSplit(necFramer(), data, cuts)).toEqual(frames);
      }),
    );
  });

  it('stays bounded under random garbage (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (garbage) => {
        const f = necFramer();
        for (let i = 0; i < garbage.length; i += 7) {
          f.push(garbage.subarray(i, i + 7));
          expect(f.buffered).toBeLessThanOrEqual(261);
        }
        f.reset();
        const good = frame([0x22, 0x01, 0x01, 0x10, 0x00]);
        expect(f.push(good)).toEqual([good]);
      }),
    );
  });
});
