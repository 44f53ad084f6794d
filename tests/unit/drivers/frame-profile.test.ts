import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { FrameProfileSchema } from '../../../config/frame-profile.js';
import { parseConfig } from '../../../config/load.js';
import { ConfigError } from '../../../config/errors.js';
import { CompiledProfile, ReplyFramer } from '../../../drivers/frame-profile/engine.js';
import { compilePattern, computeChecksum, matchReply, parseTemplate, renderTemplate } from '../../../config/frame-profile-template.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const PROFILES = join(import.meta.dirname, '../../../config/profiles');
const loadProfile = (file: string) => FrameProfileSchema.parse(parseDocument(readFileSync(join(PROFILES, file), 'utf8')).toJS());

describe('frame profile templates and checksums', () => {
  it('renders ASCII templates with escapes and typed placeholders', () => {
    const parts = parseTemplate('VOL {value:dec3}\\r\\x02\\{', 'ascii');
    expect(renderTemplate(parts, { value: 7 })).toEqual(Buffer.from('VOL 007\r\x02{', 'latin1'));
    expect(() => renderTemplate(parts, { value: 1000 })).toThrow(/exceeds/);
    expect(() => renderTemplate(parseTemplate('IN {value:str}\r', 'ascii'), { value: 'A\rB' })).toThrow(/non-printable/);
  });

  it('renders hex templates', () => {
    expect(renderTemplate(parseTemplate('FF55 04 {value:u16be}{value:u16le}', 'hex'), { value: 0x1234 })).toEqual(hex('FF 55 04 12 34 34 12'));
    expect(() => parseTemplate('FF 5', 'hex')).toThrow(/two hex digits/);
    expect(() => parseTemplate('FF {value:dec3}', 'hex')).toThrow(/type must be one of/);
  });

  it('computes sum8, xor8 (seeded) and crc16_modbus', () => {
    // "六进四出" processor: low byte of the sum of bytes after FF 55 (docs/reference/protocols.md §5.2).
    expect(computeChecksum('sum8', hex('04 00 70 01 00'))).toEqual(hex('75'));
    expect(computeChecksum('sum8', hex('03 00 85 03'))).toEqual(hex('8B'));
    // ITC: cks = 0x7F ^ ch ^ att  ==  xor8 seeded 0x80 over FF ch att.
    expect(computeChecksum('xor8', hex('FF 00 0A'), 0x80)).toEqual(hex('75'));
    expect(computeChecksum('xor8', hex('FF 03 28'), 0x80)).toEqual(hex('54'));
    expect(computeChecksum('xor8', hex('FF 15 02'), 0x80)).toEqual(hex('68'));
    expect(computeChecksum('crc16_modbus', hex('01 05 00 00 FF 00'))).toEqual(hex('8C 3A'));
  });

  it('matches hex patterns with wildcards and named captures', () => {
    const p = compilePattern('FE 15 (?<power>..) .. (?<muted>..)', 'hex');
    expect(matchReply(p, hex('FE 15 01 0A 00'))).toEqual({ power: '01', muted: '00' });
    expect(matchReply(p, hex('FE 16 01 0A 00'))).toBeUndefined();
    expect(matchReply(p, hex('FE 15 01 0A 00 00'))).toBeUndefined();
    expect(() => compilePattern('FE [', 'hex')).toThrow(/unexpected/);
  });
});

describe('shipped profiles', () => {
  it('every file in config/profiles validates', () => {
    const files = readdirSync(PROFILES).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(() => loadProfile(f), f).not.toThrow();
  });

  it('PA amplifier: ITC frames, volume scaled onto attenuation, status decoded', () => {
    const p = new CompiledProfile(loadProfile('pa-amplifier-hex.yaml'));
    expect(p.encode('power_on')).toEqual(hex('FF 15 04 6E'));
    expect(p.encode('power_off')).toEqual(hex('FF 15 01 6B'));
    expect(p.encode('status')).toEqual(hex('FF 15 03 69'));
    expect(p.encode('volume_set', 100)).toEqual(hex('FF 00 00 7F'));
    expect(p.encode('volume_set', 0)).toEqual(hex('FF 00 4F 30'));
    expect(p.capabilities()).toEqual(['power', 'volume', 'mute']);
    const body = p.replyBody(Buffer.concat([hex('FE 15 01 14 00'), computeChecksum('xor8', hex('FE 15 01 14 00'), 0x80)]));
    expect(p.interpret('status', body)).toEqual({ power: 'on', volume: 75, muted: false });
    expect(() => p.replyBody(hex('FE 15 01 14 00 00'))).toThrow(/xor8/);
  });

  it('sequencer: ASCII commands and replies', () => {
    const p = new CompiledProfile(loadProfile('power-sequencer-ascii.yaml'));
    expect(p.encode('power_on').toString('latin1')).toBe('All@.');
    expect(p.encode('power_off').toString('latin1')).toBe('All$.');
    const f = new ReplyFramer(p.terminator, undefined);
    const frames = f.push(Buffer.from('\r\n01 Closed.All Ope'));
    expect(frames).toHaveLength(1);
    expect(p.interpret('status', p.replyBody(frames[0]!))).toEqual({ power: 'off' });
    expect(p.interpret('power_on', p.replyBody(f.push(Buffer.from('n.'))[0]!))).toEqual({ power: 'on' });
    expect(p.interpret('status', Buffer.from('01 Maybe'))).toBeUndefined();
  });
});

describe('profile errors are rejected at config load with their key path', () => {
  const station = 'station: {id: s1, name: S}\n';
  const cfg = (profile: string) =>
    `${station}devices:\n  - id: amp\n    kind: amplifier\n    driver: frame_profile\n    host: 127.0.0.1\n    profile:\n${profile
      .split('\n')
      .map((l) => `      ${l}`)
      .join('\n')}\n`;
  const issues = (text: string): string[] => {
    try {
      parseConfig(text, '/tmp/x.yaml');
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
    return [];
  };

  it('a shipped profile is found by name and replaced by its content', () => {
    const c = parseConfig(`${station}devices:\n  - {id: amp, kind: amplifier, driver: frame_profile, host: 127.0.0.1, profile: pa-amplifier-hex}\n`, '/tmp/x.yaml');
    expect(c.devices[0]).toMatchObject({ profile: { name: 'PA amplifier (ITC-style hex)', checksum: 'xor8', checksum_init: 0x80 } });
    expect(issues(`${station}devices:\n  - {id: amp, kind: amplifier, driver: frame_profile, host: 127.0.0.1, profile: nope}\n`)).toEqual([
      expect.stringMatching(/^devices\[0\]\.profile: no profile file nope/),
    ]);
  });

  it('accepts a good inline profile', () => {
    expect(issues(cfg('name: x\ncommands:\n  power_on: {send: "PWR 1\\r"}\n  power_off: {send: "PWR 0\\r"}'))).toEqual([]);
  });

  it('bad regex, unknown placeholder, map without group, unknown poll command, bad field', () => {
    const found = issues(
      cfg(
        [
          'name: x',
          'poll: [status, nope]',
          'commands:',
          '  status: {send: "ST?\\r", expect: "^ST=(?<power>[01]", map: {power: {"1": "on"}}}',
          '  volume_set: {send: "VOL {level}\\r"}',
          '  mute_on: {send: "M1\\r", expect: "^M(?<x>1)$", map: {muted: boolean}}',
          '  mute_off: {send: "M0\\r", expect: "^M(?<muted>0)$", map: {colour: string}}',
        ].join('\n'),
      ),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^devices\[0\]\.profile\.commands\.status\.expect: not a valid regular expression/),
        expect.stringMatching(/^devices\[0\]\.profile\.commands\.volume_set\.send: unknown placeholder \{level\}/),
        expect.stringMatching(/^devices\[0\]\.profile\.commands\.mute_on\.map\.muted: expect has no named group/),
        expect.stringMatching(/^devices\[0\]\.profile\.commands\.mute_off\.map\.colour: not a device field/),
        expect.stringMatching(/^devices\[0\]\.profile\.poll\[1\]: no command named nope/),
      ]),
    );
  });

  it('checksum on an ASCII profile, bad hex template, bad power value', () => {
    const found = issues(
      cfg(
        [
          'name: x',
          'checksum: sum8',
          'commands:',
          '  status: {send: "ST", expect: "(?<power>.)", map: {power: {"1": "running"}}}',
        ].join('\n'),
      ),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'devices[0].profile.checksum: checksums are for hex profiles',
        'devices[0].profile.commands.status.map.power.1: expected one of on, off, warming, cooling, unknown',
      ]),
    );
    const hexIssues = issues(cfg('name: x\nencoding: hex\ncommands:\n  status: {send: "FF 1G"}'));
    expect(hexIssues).toEqual([expect.stringMatching(/^devices\[0\]\.profile\.commands\.status\.send: expected two hex digits/)]);
  });
});
