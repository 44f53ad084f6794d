import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  encodeCommand,
  parseAvMute,
  parseClass,
  parseErst,
  parseGreeting,
  parseLamps,
  parsePower,
  parseResolution,
  parseResponse,
  pjlinkDigest,
  responseError,
  inputCommandClass,
} from '../../../drivers/pjlink/protocol.js';
import { DelimiterFramer } from '../../../drivers/framing/delimiter.js';

describe('PJLink protocol', () => {
  it('MD5 digest matches the spec test vector (OpenLP tests/resources/projector/data.py)', () => {
    expect(pjlinkDigest('498e4a67', 'JBMIAProjectorLink')).toBe('5d8409bc1c3fa39749434aa3a5c38682');
  });

  it('encodes commands, with the digest prefixed in the same frame', () => {
    expect(encodeCommand(1, 'POWR', '?').toString()).toBe('%1POWR ?\r');
    expect(encodeCommand(2, 'SNUM', '?', '5d8409bc1c3fa39749434aa3a5c38682').toString()).toBe('5d8409bc1c3fa39749434aa3a5c38682%2SNUM ?\r');
    expect(() => encodeCommand(1, 'powr', '?')).toThrow();
    expect(() => encodeCommand(1, 'POWR', 'x'.repeat(129))).toThrow();
    expect(() => encodeCommand(1, 'POWR', '1\r%1POWR 0')).toThrow();
  });

  it('parses greetings case-insensitively', () => {
    expect(parseGreeting('PJLINK 0')).toEqual({ auth: false });
    expect(parseGreeting('PJLink 1 498e4a67')).toEqual({ auth: true, token: '498e4a67' });
    expect(parseGreeting('pjlink erra')).toEqual({ auth: 'error' });
    expect(parseGreeting('%1POWR=1')).toBeUndefined();
    expect(parseGreeting('PJLINK 1')).toBeUndefined();
  });

  it('parses responses and error replies', () => {
    expect(parseResponse('%1POWR=1')).toEqual({ cls: '1', command: 'POWR', data: '1' });
    expect(parseResponse('\n%2IRES=1920 x 1200 ')).toEqual({ cls: '2', command: 'IRES', data: '1920 x 1200' });
    expect(parseResponse('%1INFO=')).toEqual({ cls: '1', command: 'INFO', data: '' });
    expect(parseResponse('POWR=1')).toBeUndefined();
    for (const e of ['ERR1', 'ERR2', 'ERR3', 'ERR4', 'ERRA']) expect(responseError(e)).toBe(e);
    expect(responseError('OK')).toBeUndefined();
  });

  it('maps POWR 0-3 and tolerates junk', () => {
    expect(['0', '1', '2', '3', 'OK'].map(parsePower)).toEqual(['off', 'on', 'cooling', 'warming', 'unknown']);
  });

  it('detects the class tolerantly (Optoma "Class 1", BenQ "Version1")', () => {
    expect(parseClass('1')).toBe(1);
    expect(parseClass('2')).toBe(2);
    expect(parseClass('Class 1')).toBe(1);
    expect(parseClass('Version1')).toBe(1);
    expect(parseClass('Class 2')).toBe(2);
    expect(parseClass('')).toBe(1);
  });

  it('parses several lamps and rejects malformed LAMP replies', () => {
    expect(parseLamps('1000 1 50 0')).toEqual([{ hours: 1000, on: true }, { hours: 50, on: false }]);
    expect(parseLamps('12345 0')).toEqual([{ hours: 12345, on: false }]);
    expect(parseLamps('1000')).toBeUndefined();
    expect(parseLamps('abc 1')).toBeUndefined();
  });

  it('maps ERST digits to faults (Sony example 201000 = fan error + temperature warning)', () => {
    expect(parseErst('000000')).toEqual([]);
    expect(parseErst('201000')).toEqual([
      { code: 'fan', severity: 'error', text: 'fan error' },
      { code: 'temperature', severity: 'warning', text: 'temperature warning' },
    ]);
    expect(parseErst('20100')).toBeUndefined();
    expect(parseErst('300000')).toBeUndefined();
  });

  it('parses AVMT and IRES', () => {
    expect(parseAvMute('31')).toBe(true);
    expect(parseAvMute('30')).toBe(false);
    expect(parseAvMute('11')).toBe(true);
    expect(parseAvMute('x')).toBeUndefined();
    expect(parseResolution('1920x1080')).toBe(true);
    expect(parseResolution('1920 x 1200')).toBe(true);
    expect(parseResolution('-')).toBe(false);
    expect(parseResolution('*')).toBeNull();
  });

  it('a stream of responses in random splits decodes to the same responses (property)', () => {
    const replies = ['%1POWR=1', '%1INPT=31', '%1ERST=000000', '%1LAMP=1000 1', '%2IRES=-'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...replies), { maxLength: 12 }), fc.array(fc.nat(200), { maxLength: 20 }), (seq, cuts) => {
        const data = Buffer.from(seq.map((r) => `${r}\r`).join(''));
        const framer = new DelimiterFramer({ delimiter: '\r', maxLength: 160 });
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const out: string[] = [];
        let prev = 0;
        for (const p of [...points, data.length]) {
          for (const f of framer.push(data.subarray(prev, p))) out.push(parseResponse(f.toString())!.data);
          prev = p;
        }
        expect(out).toEqual(seq.map((r) => r.split('=')[1]));
      }),
    );
  });

  /**
   * PJLink 2.02 (2017-01-13), INPT: class 1 knows input types 1-5 (RGB, VIDEO, DIGITAL, STORAGE, NETWORK)
   * with numbers 1-9; type 6 (INTERNAL) and the numbers A-Z exist only in class 2. Laid out as
   * higashi3939/pjlink-python PJLink.py (which "follows the PJLink Version 2.02 (2017.1.13) specification")
   * has them: `InputType` 0x31..0x35 "# INTERNAL is class2", `InputNumber` 0x31..0x39 "# A~Z are class2".
   */
  it('input codes of class 2 only (type 6, or a letter) go out as %2INPT', () => {
    for (const t of '12345') for (const n of '123456789') expect(inputCommandClass(`${t}${n}`), `${t}${n}`).toBe(1);
    for (const code of ['61', '69', '6A', '1A', '3Z', '5B']) expect(inputCommandClass(code), code).toBe(2);
  });
});
