/**
 * frame_profile with the two shipped profiles, loaded through the real config loader, against
 * hand-written device simulators over real TCP and a real socat PTY.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.js';
import type { DeviceConfig } from '../../../config/schema.js';
import { FrameProfileDriver, type FrameProfileConfig } from '../../../drivers/frame-profile/driver.js';
import { PaAmplifierSimulator, PowerSequencerSimulator } from '../../../scripts/sims/frame-profile-device.js';
import { PtyPair } from '../../../scripts/lib/kit/index.js';
import { driverContext } from './context.js';

const PROFILES = resolve(import.meta.dirname, '../../../config/profiles');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A device entry as the daemon gets it: YAML → schema → loader (profile file resolved and validated). */
function loadDevice(yaml: string): FrameProfileConfig {
  const dir = mkdtempSync(join(tmpdir(), 'fp-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'station.yaml');
  writeFileSync(file, `station: {id: s1, name: S}\ndevices:\n${yaml}`);
  const cfg = parseConfig(`station: {id: s1, name: S}\ndevices:\n${yaml}`, file);
  return cfg.devices[0] as Extract<DeviceConfig, { driver: 'frame_profile' }>;
}

function driver(cfg: FrameProfileConfig): FrameProfileDriver {
  const d = new FrameProfileDriver(driverContext(cfg), { connectTimeoutMs: 500 });
  cleanups.push(() => d.close());
  return d;
}

describe('PA amplifier profile (hex, xor8 checksum)', () => {
  it('over TCP: power, volume set and read back, mute', async () => {
    const amp = new PaAmplifierSimulator();
    const port = await amp.startTcp();
    cleanups.push(() => amp.stop());
    const d = driver(
      loadDevice(`  - {id: amp, kind: amplifier, driver: frame_profile, host: 127.0.0.1, port: ${port}, profile: ${PROFILES}/pa-amplifier-hex.yaml}\n`),
    );
    expect(d.capabilities).toEqual(['power', 'volume', 'mute']);
    // 20 dB attenuation of 79 = 75 %.
    expect(await d.open()).toEqual({ power: 'off', volume: 75, muted: false });
    expect(await d.execute({ action: 'power', value: 'on' })).toEqual({ power: 'on', volume: 75, muted: false });
    expect(amp.power).toBe(true);

    expect(await d.execute({ action: 'volume', value: 25 })).toMatchObject({ volume: 25 });
    expect(amp.attenuation[0]).toBe(59);
    expect(await d.poll()).toMatchObject({ volume: 25 });
    expect(await d.execute({ action: 'volume', value: 100 })).toMatchObject({ volume: 100 });
    expect(amp.attenuation[0]).toBe(0);

    expect(await d.execute({ action: 'mute', value: true })).toMatchObject({ muted: true });
    expect(await d.execute({ action: 'mute', value: false })).toMatchObject({ muted: false });
    expect(await d.execute({ action: 'power', value: 'toggle' })).toMatchObject({ power: 'off' });
    expect(amp.badFrames).toBe(0);
    await expect(d.execute({ action: 'volume', value: 150 })).rejects.toMatchObject({ code: 'invalid_args' });
    await expect(d.execute({ action: 'blank', value: true })).rejects.toMatchObject({ code: 'unsupported' });
  });

  it('over a PTY, with replies split byte by byte', async () => {
    const pty = await PtyPair.start();
    cleanups.push(() => pty.stop());
    const amp = new PaAmplifierSimulator();
    await amp.startSerial(pty.b);
    cleanups.push(() => amp.stop());
    amp.shaper.chunking = 'bytes';
    const d = driver(loadDevice(`  - {id: amp, kind: amplifier, driver: frame_profile, serial: {path: ${pty.a}}, profile: ${PROFILES}/pa-amplifier-hex.yaml}\n`));
    await d.open();
    expect(await d.execute({ action: 'volume', value: 75 })).toMatchObject({ volume: 75 });
    expect(amp.attenuation[0]).toBe(20);
  });

  it('a reply with a wrong checksum is a protocol error; a silent amplifier a timeout', async () => {
    const amp = new PaAmplifierSimulator();
    const port = await amp.startTcp();
    cleanups.push(() => amp.stop());
    const d = driver(loadDevice(`  - {id: amp, kind: amplifier, driver: frame_profile, host: 127.0.0.1, port: ${port}, profile: ${PROFILES}/pa-amplifier-hex.yaml}\n`));
    await d.open();
    amp.corruptChecksum = true;
    await expect(d.poll()).rejects.toMatchObject({ code: 'protocol', message: expect.stringMatching(/xor8/) });
    amp.corruptChecksum = false;
    amp.silent = true;
    await expect(d.run('status')).rejects.toMatchObject({ code: 'timeout' });
    amp.silent = false;
    expect(await d.poll()).toMatchObject({ power: 'off' });
  });
});

describe('power sequencer profile (ASCII)', () => {
  it('over a PTY: all outlets on and off, state read back', async () => {
    const pty = await PtyPair.start();
    cleanups.push(() => pty.stop());
    const seq = new PowerSequencerSimulator();
    await seq.startSerial(pty.b);
    cleanups.push(() => seq.stop());
    const d = driver(loadDevice(`  - {id: seq, kind: amplifier, driver: frame_profile, serial: {path: ${pty.a}}, profile: ${PROFILES}/power-sequencer-ascii.yaml}\n`));
    expect(d.capabilities).toEqual(['power']);
    expect(await d.open()).toEqual({ power: 'off' });
    expect(await d.execute({ action: 'power', value: 'on' })).toEqual({ power: 'on' });
    expect(seq.outlets.every(Boolean)).toBe(true);
    expect(await d.execute({ action: 'power', value: 'off' })).toEqual({ power: 'off' });
    expect(seq.lines).toEqual(['Status1', 'All@', 'Status1', 'All$', 'Status1']);
  });

  it('a reply that does not match the pattern is reported with its text', async () => {
    const seq = new PowerSequencerSimulator();
    const port = await seq.startTcp();
    cleanups.push(() => seq.stop());
    const cfg = loadDevice(
      [
        `  - id: seq`,
        `    kind: amplifier`,
        `    driver: frame_profile`,
        `    host: 127.0.0.1`,
        `    port: ${port}`,
        `    profile:`,
        `      name: wrong pattern`,
        `      reply_terminator: "."`,
        `      timeout_ms: 200`,
        `      poll: [status]`,
        `      commands:`,
        `        status: {send: "Status1.", expect: '^outlet (?<power>on|off)$', map: {power: {"on": "on", "off": "off"}}}`,
        '',
      ].join('\n'),
    );
    const d = driver(cfg);
    await expect(d.open()).rejects.toMatchObject({ code: 'protocol', message: expect.stringMatching(/"01 Closed\." does not match/) });
  });

  it('without a terminator or length, split replies accumulate until the pattern matches', async () => {
    const seq = new PowerSequencerSimulator();
    const port = await seq.startTcp();
    cleanups.push(() => seq.stop());
    seq.shaper.chunking = 'bytes';
    const cfg = loadDevice(
      [
        `  - id: seq`,
        `    kind: amplifier`,
        `    driver: frame_profile`,
        `    host: 127.0.0.1`,
        `    port: ${port}`,
        `    profile:`,
        `      name: gap framed`,
        `      timeout_ms: 500`,
        `      poll: [status]`,
        `      commands:`,
        `        status: {send: "Status1.", expect: '0?1 (?<power>Open|Closed)\\.$', map: {power: {Open: "on", Closed: "off"}}}`,
        `        power_on: {send: "All@.", expect: 'All (?<power>Open|Closed)\\.$', map: {power: {Open: "on", Closed: "off"}}}`,
        `        power_off: {send: "All$.", expect: 'All (?<power>Open|Closed)\\.$', map: {power: {Open: "on", Closed: "off"}}}`,
        '',
      ].join('\n'),
    );
    const d = driver(cfg);
    expect(await d.open()).toEqual({ power: 'off' });
    expect(await d.execute({ action: 'power', value: 'on' })).toEqual({ power: 'on' });
  });
});
