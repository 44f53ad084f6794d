/**
 * What a device takes, as the inventory reports it (`controls`, docs/mqtt.md): the county's table for
 * stations older than `controls` agrees with every driver's own capabilities, and a PJLink projector's
 * INST answer becomes its inputs.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { FrameProfileSchema } from '../../../config/frame-profile.js';
import { DeviceSchema } from '../../../config/schema.js';
import { DRIVERS } from '../../../drivers/registry.js';
import { SharedResourcePool } from '../../../drivers/shared.js';
import { parseInputList, PJLINK_INPUTS } from '../../../drivers/pjlink/protocol.js';
import { EPSON_INPUTS } from '../../../drivers/escvp21/protocol.js';
import { NEC_INPUTS } from '../../../drivers/nec/protocol.js';
import { controlsFrom, DRIVER_ACTIONS, InputChoiceSchema, stepActions } from '../../../protocol/device-controls.js';

const CONFIGS: Record<string, Record<string, unknown>> = {
  pjlink: { kind: 'projector', host: '127.0.0.1' },
  escvp21: { kind: 'projector', host: '127.0.0.1' },
  nec: { kind: 'projector', host: '127.0.0.1' },
  modbus_relay: { kind: 'amplifier', serial: { path: '/dev/null' }, unit_id: 1, coil: 0 },
  frame_profile: { kind: 'amplifier', host: '127.0.0.1', profile: FrameProfileSchema.parse(parse(readFileSync(join(import.meta.dirname, '../../../config/profiles/pa-amplifier-hex.yaml'), 'utf8'))) },
  novastar: { kind: 'led_display', host: '127.0.0.1' },
  net_presence: { kind: 'settopbox', host: '127.0.0.1' },
  cec: { kind: 'settopbox' },
};

describe('device controls', () => {
  it('DRIVER_ACTIONS is what each driver itself takes', () => {
    expect(Object.keys(DRIVER_ACTIONS).sort()).toEqual([...DRIVERS.keys()].sort());
    for (const [name, def] of DRIVERS) {
      const config = DeviceSchema.parse({ id: 'dev', driver: name, ...CONFIGS[name] });
      const driver = def.create({ config, log: pino({ level: 'silent' }), readSecret: async () => '', peerState: () => undefined, shared: new SharedResourcePool() });
      const controls = controlsFrom(driver)!;
      expect(controls.actions, name).toEqual(stepActions(driver.capabilities));
      // A frame profile takes what its profile declares: the table's power is what every such profile has.
      if (name === 'frame_profile') expect(controls.actions).toEqual(expect.arrayContaining([...DRIVER_ACTIONS[name]!]));
      else expect(controls.actions, name).toEqual(DRIVER_ACTIONS[name]);
      // Inputs only with the input action, and every one a code the contract takes.
      if (controls.inputs) expect(controls.actions).toContain('input');
      for (const i of controls.inputs ?? []) expect(InputChoiceSchema.safeParse(i).success, `${name} ${i.code}`).toBe(true);
    }
  });

  it("reads a PJLink projector's INST answer as its inputs, in order, without duplicates or junk", () => {
    expect(parseInputList('11 12 31 32 3A')).toEqual([
      { code: '11', kind: 'computer', n: 1 },
      { code: '12', kind: 'computer', n: 2 },
      { code: '31', kind: 'digital', n: 1 },
      { code: '32', kind: 'digital', n: 2 },
      { code: '3A', kind: 'digital', n: 10 },
    ]);
    expect(parseInputList('  21 21 99 x 51 ')).toEqual([
      { code: '21', kind: 'video', n: 1 },
      { code: '51', kind: 'network', n: 1 },
    ]);
    expect(parseInputList('')).toBeNull();
    expect(parseInputList('ERR')).toBeNull();
    expect(PJLINK_INPUTS.map((i) => i.code)).toEqual(['11', '12', '21', '22', '31', '32', '41', '51']);
  });

  it('keeps every driver table within the contract', () => {
    for (const list of [PJLINK_INPUTS, EPSON_INPUTS, NEC_INPUTS]) {
      expect(new Set(list.map((i) => i.code)).size).toBe(list.length);
      for (const i of list) expect(InputChoiceSchema.safeParse(i).success).toBe(true);
    }
  });
});
