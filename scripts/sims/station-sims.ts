/**
 * Entries of the simulator table (scripts/sims/index.ts) for the amplifier, LED display and set-top
 * box side of a station: Modbus relay bus, frame-profile devices, NovaStar, fake MediaMTX.
 * (The fake cec-client is not a server: put scripts/sims/bin first on PATH, see fake-cec-client.ts.)
 */
import { PaAmplifierSimulator, PowerSequencerSimulator } from './frame-profile-device.js';
import type { SimEntry } from './shared.js';
import { MediaMtxFake, type FakeStreamState } from './mediamtx-fake.js';
import { ModbusRelaySimulator } from './modbus-relay.js';
import { NovastarSimulator } from './novastar.js';
import { numFlag } from './shared.js';

const list = (v: string | undefined): string[] => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const ints = (v: string | undefined, flag: string): number[] =>
  list(v).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 247) throw new Error(`--${flag}: ${s} is not a unit id 1..247`);
    return n;
  });

function lineDevice(name: string, summary: string, make: () => PaAmplifierSimulator | PowerSequencerSimulator): SimEntry {
  return {
    name,
    summary,
    usage: `${name} (--serial /path/to/pty | [--port 4001])`,
    async start(flags) {
      const sim = make();
      const serial = flags.get('serial');
      if (serial) {
        await sim.startSerial(serial);
        return { describe: `${name} on serial ${serial}`, stop: () => sim.stop() };
      }
      const port = await sim.startTcp(numFlag(flags, 'port', 4001));
      return { describe: `${name} on 127.0.0.1:${port}`, stop: () => sim.stop() };
    },
  };
}

export const STATION_SIMS: SimEntry[] = [
  {
    name: 'modbus-relay',
    summary: 'Modbus RTU relay boards on one RS-485 bus (serial PTY path)',
    usage: 'modbus-relay --serial /path/to/pty [--units 1,2] [--coils 8] [--silent 2] [--corrupt-crc 1]',
    async start(flags) {
      const path = flags.get('serial');
      if (!path) throw new Error('--serial is required');
      const units = ints(flags.get('units') ?? '1,2', 'units');
      const sim = new ModbusRelaySimulator({ path, units, coils: numFlag(flags, 'coils', 8) });
      for (const u of ints(flags.get('silent'), 'silent')) sim.silent.add(u);
      for (const u of ints(flags.get('corrupt-crc'), 'corrupt-crc')) sim.corruptCrc.add(u);
      await sim.start();
      return { describe: `modbus relay units ${units.join(', ')} on serial ${path}`, stop: () => sim.stop() };
    },
  },
  lineDevice('pa-amplifier', 'PA amplifier speaking config/profiles/pa-amplifier-hex.yaml (PTY or TCP)', () => new PaAmplifierSimulator()),
  lineDevice('power-sequencer', 'power sequencer speaking config/profiles/power-sequencer-ascii.yaml (PTY or TCP)', () => new PowerSequencerSimulator()),
  {
    name: 'novastar',
    summary: 'NovaStar LED sending card (TCP)',
    usage: 'novastar [--port 5200] [--cabinets-off] [--no-dvi]',
    async start(flags) {
      const sim = new NovastarSimulator();
      sim.cabinetsOff = flags.has('cabinets-off');
      sim.dviSignal = !flags.has('no-dvi');
      const port = await sim.start(numFlag(flags, 'port', 5200));
      return { describe: `novastar controller on 127.0.0.1:${port}`, stop: () => sim.stop() };
    },
  },
  {
    name: 'mediamtx',
    summary: 'MediaMTX control API fake, every response checked against the OpenAPI document',
    usage: 'mediamtx [--port 9997] [--legacy] [--user U --pass P] [--paths stb=publishing,cam=offline]',
    async start(flags) {
      const user = flags.get('user');
      const fake = new MediaMtxFake({ legacy: flags.has('legacy'), users: user ? [{ user, pass: flags.get('pass') ?? '' }] : [] });
      for (const item of list(flags.get('paths'))) {
        const [name, state = 'publishing'] = item.split('=');
        if (!['publishing', 'stalled', 'offline', 'gone'].includes(state)) throw new Error(`--paths: unknown state ${state}`);
        fake.configurePath(name!);
        fake.setStream(name!, state as FakeStreamState);
      }
      const url = await fake.start(numFlag(flags, 'port', 9997));
      return { describe: `mediamtx API on ${url}${fake.legacy ? ' (legacy fields)' : ''}`, stop: () => fake.close() };
    },
  },
];
