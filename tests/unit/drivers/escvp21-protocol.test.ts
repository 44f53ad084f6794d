import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ESCVP_NET_HELLO,
  EscvpFramer,
  encodeQuery,
  encodeSet,
  isErrLine,
  parseErrorCode,
  parseHelloReply,
  parsePower,
  parseSignal,
  parseValue,
  type EscvpToken,
} from '../../../drivers/escvp21/protocol.js';

function feed(framer: EscvpFramer, data: Buffer, cuts: number[]): EscvpToken[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: EscvpToken[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    out.push(...framer.push(data.subarray(prev, p)));
    prev = p;
  }
  return out;
}

describe('ESC/VP21 protocol', () => {
  it('golden frames from the guide', () => {
    expect(encodeQuery('PWR').toString()).toBe('PWR?\r');
    expect(encodeSet('PWR', 'ON').toString()).toBe('PWR ON\r');
    expect(encodeSet('SOURCE', '21').toString()).toBe('SOURCE 21\r');
    expect(() => encodeSet('PWR', 'ON\rPWR OFF')).toThrow();
    expect(ESCVP_NET_HELLO).toEqual(Buffer.from([0x45, 0x53, 0x43, 0x2f, 0x56, 0x50, 0x2e, 0x6e, 0x65, 0x74, 0x10, 0x03, 0, 0, 0, 0]));
  });

  it('tokenizes `PWR=01\\r:`, `ERR\\r:` and bare `:`', () => {
    const f = new EscvpFramer();
    expect(f.push(Buffer.from('PWR=01\r::ERR\r:\n:'))).toEqual([
      { kind: 'line', text: 'PWR=01' },
      { kind: 'prompt' },
      { kind: 'prompt' },
      { kind: 'line', text: 'ERR' },
      { kind: 'prompt' },
      { kind: 'prompt' },
    ]);
  });

  it('reads the 16-byte ESC/VP.net reply first, then text', () => {
    const f = new EscvpFramer({ helloLength: 16 });
    const reply = Buffer.from(ESCVP_NET_HELLO);
    reply[14] = 0x20;
    const toks = feed(f, Buffer.concat([reply, Buffer.from(':')]), [3, 15, 16]);
    expect(toks[0]).toEqual({ kind: 'hello', bytes: reply });
    expect(toks[1]).toEqual({ kind: 'prompt' });
    expect(parseHelloReply(reply)).toEqual({ ok: true });
    reply[14] = 0x41;
    expect(parseHelloReply(reply)).toMatchObject({ ok: false, reason: 'auth' });
    expect(parseHelloReply(Buffer.alloc(16))).toMatchObject({ ok: false, reason: 'protocol' });
  });

  it('same tokens whatever the split (property)', () => {
    const reply = fc.constantFrom('PWR=01\r:', 'ERR\r:', ':', 'LAMP=1234\r:', 'SOURCE=A0\r:', 'ERR=00\r:');
    fc.assert(
      fc.property(fc.array(reply, { maxLength: 10 }), fc.array(fc.nat(100), { maxLength: 20 }), (seq, cuts) => {
        const data = Buffer.from(seq.join(''));
        expect(feed(new EscvpFramer(), data, cuts)).toEqual(new EscvpFramer().push(data));
      }),
    );
  });

  it('bounded under noise, and a reply behind noise is still parsed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (noise) => {
        const f = new EscvpFramer();
        for (let i = 0; i < noise.length; i += 13) {
          f.push(noise.subarray(i, i + 13));
          expect(f.buffered).toBeLessThanOrEqual(128);
        }
        const toks = f.push(Buffer.from('\rPWR=01\r:'));
        const line = toks.filter((t) => t.kind === 'line').at(-1) as { text: string };
        expect(parseValue(line.text, 'PWR')).toBe('01');
        expect(toks.at(-1)).toEqual({ kind: 'prompt' });
      }),
    );
    const f = new EscvpFramer();
    const toks = f.push(Buffer.from('\x13\x88garbagePWR=03\r:'));
    expect(parseValue((toks[0] as { text: string }).text, 'PWR')).toBe('03');
  });

  it('maps PWR, ERR and SIGNAL codes', () => {
    expect(['00', '01', '02', '03', '04', '05', '09', 'XX'].map((c) => parsePower(c).power)).toEqual(['off', 'on', 'warming', 'cooling', 'off', 'off', 'off', 'unknown']);
    expect(parsePower('05').abnormal).toBe(true);
    expect(parseErrorCode('00')).toEqual([]);
    expect(parseErrorCode('06')).toEqual([{ code: 'lamp', severity: 'error', text: 'lamp error (ERR=06)' }]);
    expect(parseErrorCode('0e')[0]!.code).toBe('power_supply');
    expect(parseErrorCode('7F')[0]!.code).toBe('other');
    expect([parseSignal('00'), parseSignal('01'), parseSignal('FF')]).toEqual([false, true, null]);
    expect(isErrLine('ERR')).toBe(true);
    expect(isErrLine('ERR=00')).toBe(false);
  });
});
