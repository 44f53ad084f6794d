/**
 * Runs the driver contract (driver.contract.ts) for every driver in drivers/registry.ts, each against
 * its simulator over a real link: TCP on loopback, or a socat PTY pair for serial devices.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { DRIVERS } from '../../drivers/registry.js';
import type { DeviceReading } from '../../drivers/types.js';
import { Escvp21Simulator } from '../../scripts/sims/escvp21.js';
import { FakeCec, fakeCecBinDir } from '../../scripts/sims/fake-cec-client.js';
import { PaAmplifierSimulator } from '../../scripts/sims/frame-profile-device.js';
import { ModbusRelaySimulator } from '../../scripts/sims/modbus-relay.js';
import { NecSimulator } from '../../scripts/sims/nec.js';
import { NovastarSimulator } from '../../scripts/sims/novastar.js';
import { PjlinkSimulator } from '../../scripts/sims/pjlink.js';
import { PtyPair } from '../../scripts/lib/kit/pty.js';
import { removeDir, tempDir } from '../../scripts/lib/kit/temp.js';
import { describeDriverContract, type DriverTarget } from './driver.contract.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** One `devices[]` entry through the real config loader (defaults filled, profile file loaded). */
function device(entry: Record<string, unknown>): unknown {
  const text = JSON.stringify({ station: { id: 'contract', name: 'contract' }, devices: [{ poll_s: 1, ...entry }] });
  return parseConfig(text, join(ROOT, 'contract.yaml')).devices[0];
}

const serial = (path: string) => ({ path, baud_rate: 9600 });
const powerOn = { action: 'power', value: 'on' } as const;
const onOrWarming = (r: DeviceReading): boolean => r.power === 'on' || r.power === 'warming';

/** Puts a folder first on PATH for the processes a driver starts; returns the undo. */
function pathFirst(dir: string, extra: Record<string, string> = {}): () => void {
  const saved = { PATH: process.env['PATH'], ...Object.fromEntries(Object.keys(extra).map((k) => [k, process.env[k]])) };
  process.env['PATH'] = `${dir}:${process.env['PATH'] ?? '/usr/bin:/bin'}`;
  Object.assign(process.env, extra);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

const TARGETS: DriverTarget[] = [
  {
    driver: 'pjlink',
    via: 'over TCP against PjlinkSimulator',
    async rig() {
      const sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
      const port = await sim.start();
      return {
        config: device({ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port }),
        toggle: { command: powerOn, shows: onOrWarming, deviceChanged: () => sim.power !== 0 },
        silence: () => (sim.silent = true),
        heard: () => sim.received.length,
        goAway: () => sim.unplug(),
        loss: { kind: 'poll' },
        dispose: () => sim.stop(),
      };
    },
  },
  {
    driver: 'escvp21',
    via: 'over a socat PTY against Escvp21Simulator',
    async rig() {
      const pty = await PtyPair.start();
      const sim = new Escvp21Simulator({ serialPath: pty.b, warmupMs: 50, cooldownMs: 50 });
      await sim.start();
      return {
        config: device({ id: 'projector', kind: 'projector', driver: 'escvp21', serial: serial(pty.a) }),
        toggle: { command: powerOn, shows: onOrWarming, deviceChanged: () => sim.power !== '00' },
        silence: () => (sim.silent = true),
        heard: () => sim.received.length,
        goAway: () => pty.unplug(),
        loss: { kind: 'event' },
        dispose: async () => {
          await sim.stop();
          await pty.stop();
        },
      };
    },
  },
  {
    driver: 'nec',
    via: 'over TCP against NecSimulator',
    async rig() {
      const sim = new NecSimulator({ tcpPort: 0, warmupMs: 50, cooldownMs: 50 });
      const port = await sim.start();
      return {
        config: device({ id: 'projector', kind: 'projector', driver: 'nec', host: '127.0.0.1', port }),
        toggle: { command: powerOn, shows: onOrWarming, deviceChanged: () => sim.power !== 'off' },
        silence: () => (sim.silent = true),
        heard: () => sim.received.length,
        goAway: () => sim.unplug(),
        loss: { kind: 'event' },
        dispose: () => sim.stop(),
      };
    },
  },
  {
    driver: 'novastar',
    via: 'over TCP against NovastarSimulator',
    async rig() {
      const sim = new NovastarSimulator();
      const port = await sim.start();
      return {
        config: device({ id: 'led', kind: 'led_display', driver: 'novastar', host: '127.0.0.1', port }),
        toggle: { command: { action: 'blank', value: true }, shows: (r) => r.blank === true, deviceChanged: () => sim.displayMode === 2 },
        silence: () => (sim.silent = true),
        heard: () => sim.heard,
        goAway: () => sim.endpoint.unplug(),
        loss: { kind: 'event' },
        dispose: () => sim.stop(),
      };
    },
  },
  {
    driver: 'modbus_relay',
    via: 'over a socat PTY against ModbusRelaySimulator',
    async rig() {
      const pty = await PtyPair.start();
      const sim = new ModbusRelaySimulator({ path: pty.b, units: [1] });
      await sim.start();
      return {
        config: device({ id: 'amplifier', kind: 'amplifier', driver: 'modbus_relay', serial: serial(pty.a), unit_id: 1, coil: 0 }),
        toggle: { command: powerOn, shows: (r) => r.power === 'on', deviceChanged: () => sim.coil(1, 0) === true },
        silence: () => sim.silent.add(1),
        heard: () => sim.heard,
        goAway: () => pty.unplug(),
        loss: { kind: 'event' },
        dispose: async () => {
          await sim.stop();
          await pty.stop();
        },
      };
    },
  },
  {
    driver: 'frame_profile',
    via: 'with config/profiles/pa-amplifier-hex.yaml over a socat PTY against PaAmplifierSimulator',
    async rig() {
      const pty = await PtyPair.start();
      const amp = new PaAmplifierSimulator();
      await amp.startSerial(pty.b);
      return {
        config: device({ id: 'amplifier', kind: 'amplifier', driver: 'frame_profile', serial: serial(pty.a), profile: 'config/profiles/pa-amplifier-hex.yaml' }),
        toggle: { command: powerOn, shows: (r) => r.power === 'on', deviceChanged: () => amp.power },
        silence: () => (amp.silent = true),
        heard: () => amp.frames.length,
        goAway: () => pty.unplug(),
        loss: { kind: 'event' },
        dispose: async () => {
          await amp.stop();
          await pty.stop();
        },
      };
    },
  },
  {
    driver: 'cec',
    via: 'against the fake cec-client (scripts/sims/bin) first on PATH',
    async rig() {
      const fake = new FakeCec();
      fake.setAdapter(true);
      fake.setPower(4, 'standby');
      const restore = pathFirst(fakeCecBinDir(), { FAKE_CEC_STATE: fake.stateFile });
      return {
        config: device({ id: 'stb', kind: 'settopbox', driver: 'cec', logical_address: 4 }),
        toggle: { command: powerOn, shows: onOrWarming, deviceChanged: () => fake.power(4) !== 'standby' },
        // A cec-client that hangs before reading its command (adapter busy).
        silence: () => fake.setDelay(30),
        heard: () => fake.log().filter((l) => l.startsWith('args')).length,
        goAway: async () => fake.setAdapter(false),
        loss: { kind: 'reading', reading: { power: 'unknown', errors: [expect.objectContaining({ code: 'cec_unavailable' })] } },
        dispose: async () => {
          restore();
          fake.cleanup();
        },
      };
    },
  },
  {
    driver: 'net_presence',
    via: 'over ICMP against a stand-in ping first on PATH (no raw sockets here)',
    async rig() {
      // The box: `ping` answers (exit 0), stays silent (exit 1), or hangs, as the state file says.
      const dir = tempDir('ping-');
      const state = join(dir, 'state');
      const log = join(dir, 'log');
      writeFileSync(state, 'up\n');
      writeFileSync(log, '');
      writeFileSync(
        join(dir, 'ping'),
        `#!/bin/sh\necho "$*" >> "${log}"\ncase "$(cat "${state}")" in\n  up) exit 0 ;;\n  hang) exec sleep 10 ;;\n  *) exit 1 ;;\nesac\n`,
      );
      chmodSync(join(dir, 'ping'), 0o755);
      const restore = pathFirst(dir);
      const lines = (): number => readFileSync(log, 'utf8').split('\n').filter(Boolean).length;
      return {
        config: device({ id: 'stb', kind: 'settopbox', driver: 'net_presence', host: '10.20.30.40' }),
        toggle: null,
        silence: () => writeFileSync(state, 'hang\n'),
        heard: lines,
        goAway: async () => writeFileSync(state, 'down\n'),
        loss: { kind: 'reading', reading: { reachable: false, power: 'unknown' } },
        dispose: async () => {
          restore();
          removeDir(dir);
        },
      };
    },
  },
];

describe('driver contract coverage', () => {
  it('every registered driver has a contract target, and every target a registered driver', () => {
    expect(TARGETS.map((t) => t.driver).sort()).toEqual([...DRIVERS.keys()].sort());
  });
});

for (const target of TARGETS) describeDriverContract(target);
