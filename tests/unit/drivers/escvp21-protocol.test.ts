import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ESCVP_NET_HELLO,
  EscvpFramer,
  encodeConnect,
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
import { parseConfig } from '../../../config/load.js';
import { ConfigError } from '../../../config/errors.js';

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

  /**
   * ESC/VP21 Command User's Guide for Business Projectors: a reply is `PWR=01\r:`, a set command answers
   * `:` alone, and "when the projector is in a command ready state, it returns the 3Ah (:) code" (EMP-53
   * manual); a reply line always ends with CR before the colon. So bytes in front of a `:` with no CR are
   * not a reply: they are dropped and the colon still counts.
   */
  it('line noise with no CR never swallows the ":" prompt', () => {
    const f = new EscvpFramer();
    expect(f.push(Buffer.from([0x13, 0x88, 0x47, 0xfe]))).toEqual([]);
    const before = f.discarded;
    expect(f.push(Buffer.from(':'))).toEqual([{ kind: 'prompt' }]);
    expect(f.discarded).toBe(before + 4);
    expect(f.buffered).toBe(0);
    // Noise, its colon-less end, then a proper reply.
    expect(new EscvpFramer().push(Buffer.from('\x13\x88G:PWR=01\r:'))).toEqual([{ kind: 'prompt' }, { kind: 'line', text: 'PWR=01' }, { kind: 'prompt' }]);
    // A reply whose CR was lost to noise is still a reply.
    const g = new EscvpFramer();
    const toks = g.push(Buffer.from('\x13\x88PWR=01:'));
    expect(parseValue((toks[0] as { text: string }).text, 'PWR')).toBe('01');
    expect(toks[1]).toEqual({ kind: 'prompt' });
  });

  /**
   * PWR? 07 and ERR? 12h-18h, as the independent openHAB Epson binding names them
   * (openhab/openhab-addons bundles/org.openhab.binding.epsonprojector/.../enums/PowerStatus.java
   * `WIRELESSHDSTANDBY(0x07)`; ErrorMessage.java "Messages for documented error codes" 12-18).
   */
  it('maps PWR=07 and ERR=12..18 with their texts', () => {
    expect(parsePower('07')).toEqual({ power: 'off', abnormal: false });
    const texts: Array<[string, RegExp]> = [
      ['12', /static iris/i],
      ['13', /power supply unit.*ballast/i],
      ['14', /exhaust shutter/i],
      ['15', /obstacle detection/i],
      ['16', /IF board discernment/i],
      ['17', /stack projection/i],
      ['18', /I2C/i],
    ];
    for (const [code, text] of texts) {
      const [fault] = parseErrorCode(code);
      expect(fault!.text, code).toMatch(text);
      expect(fault!.text).toContain(`ERR=${code}`);
    }
    expect(parseErrorCode('13')[0]!.code).toBe('power_supply');
  });

  /**
   * ESC/VP.net CONNECT with a Password header, laid out as pszafer/epson_projector
   * (epson_projector/escvpnet/message.py `Message._FORMAT = "<10s B B H B B"`: "ESC/VP.net", version 0x10,
   * type 3 = CONNECT, 2 reserved bytes, status 0x00 = request, header count; headers.py
   * `RawHeaderData._FORMAT = "<B B 16s"`: id 1 = PASSWORD, attribute 1 when a password is set, 16 bytes of
   * ASCII padded with NUL). Replies: 0x20 OK, 0x41 password required, 0x43 password wrong, 0x53 busy.
   */
  it('CONNECT carries the Password header; 0x41 and 0x43 are auth', () => {
    expect(encodeConnect(undefined)).toEqual(ESCVP_NET_HELLO);
    const withPw = encodeConnect('secret');
    expect(withPw).toEqual(
      Buffer.from([
        ...Buffer.from('ESC/VP.net'), 0x10, 0x03, 0x00, 0x00, 0x00, 0x01,
        0x01, 0x01, ...Buffer.from('secret'), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      ]),
    );
    expect(() => encodeConnect('x'.repeat(17))).toThrow(/16/);
    expect(() => encodeConnect('päss')).toThrow(/ASCII/);
    const reply = (status: number): Buffer => Buffer.from([...Buffer.from('ESC/VP.net'), 0x10, 0x03, 0x00, 0x00, status, 0x00]);
    expect(parseHelloReply(reply(0x41))).toMatchObject({ ok: false, reason: 'auth', text: expect.stringMatching(/required/) });
    expect(parseHelloReply(reply(0x43))).toMatchObject({ ok: false, reason: 'auth', text: expect.stringMatching(/wrong/) });
    expect(parseHelloReply(reply(0x53))).toMatchObject({ ok: false, reason: 'busy' });
  });

  it('an ESC/VP.net reply with headers is read whole before the text starts', () => {
    const f = new EscvpFramer({ helloLength: 16 });
    // Status OK with one 18-byte header (a projector-name header, id 3), then the first colon.
    const header = Buffer.from([0x03, 0x01, ...Buffer.from('EPSON Name'), 0, 0, 0, 0, 0, 0]);
    const reply = Buffer.concat([Buffer.from([...Buffer.from('ESC/VP.net'), 0x10, 0x03, 0x00, 0x00, 0x20, 0x01]), header]);
    const toks = feed(f, Buffer.concat([reply, Buffer.from(':')]), [5, 16, 20]);
    expect(toks).toEqual([{ kind: 'hello', bytes: reply }, { kind: 'prompt' }]);
    expect(parseHelloReply(reply)).toEqual({ ok: true });
  });

  it('password_file is an ESC/VP.net key: accepted with host, a config error with serial', () => {
    const base = 'station: { id: s1, name: Station }\ndata_dir: /tmp/x\ndevices:\n';
    const c = parseConfig(`${base}  - { id: p, kind: projector, driver: escvp21, host: 10.0.0.5, password_file: /etc/pw }\n`, '/tmp/config.yaml');
    expect(c.devices[0]).toMatchObject({ driver: 'escvp21', port: 3629, password_file: '/etc/pw' });
    let issues: string[] = [];
    try {
      parseConfig(`${base}  - { id: p, kind: projector, driver: escvp21, serial: { path: /dev/ttyS0 }, password_file: /etc/pw }\n`, '/tmp/config.yaml');
    } catch (err) {
      if (err instanceof ConfigError) issues = err.issues;
    }
    expect(issues).toEqual([expect.stringMatching(/^devices\[0\]\.password_file: only for ESC\/VP\.net/)]);
  });
});
