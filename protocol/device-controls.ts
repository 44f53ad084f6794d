/**
 * What a device can be told to do, as a station reports it in its inventory (`devices[].controls`,
 * docs/mqtt.md "inventory") so the county's schedule form offers only what each device takes: the step
 * actions its driver carries out, and the input codes the driver knows with what they are (an HDMI
 * socket, a computer input …), so a clerk picks "HDMI 1" instead of typing `31`.
 *
 * The kinds are words both sides share (protocol/words: `input.hdmi` …). A kind this version does not
 * know is shown by its code, so a newer agent's word never breaks an older county.
 */
import { z } from 'zod';
import { STEP_ACTIONS, type StepAction } from './schedule.js';

export const INPUT_KINDS = [
  'computer',
  'video',
  'svideo',
  'component',
  'hdmi',
  'digital',
  'displayport',
  'dvi',
  'hdbaset',
  'sdi',
  'usb',
  'network',
  'storage',
  'internal',
] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** One input a driver knows: the code a step carries, what it is, and its number among its kind (HDMI 2). */
export interface InputChoice {
  code: string;
  kind: InputKind;
  n?: number;
}

/** At most this many inputs per device (a projector has a handful; PJLink allows 6 × 35 in theory). */
export const MAX_INPUTS = 32;

export const InputChoiceSchema = z
  .object({
    code: z.string().regex(/^[A-Za-z0-9._:-]{1,32}$/, 'an input code (letters, digits and . : _ -, at most 32)'),
    // Text, not an enum: a kind a newer agent knows must not make an older county refuse the inventory.
    kind: z.string().max(32),
    n: z.number().int().min(1).max(99).optional(),
  })
  .strict();

export const DeviceControlsSchema = z
  .object({
    actions: z.array(z.string().max(32)).max(16).describe('the step actions this device takes (power, input, mute, volume, brightness, blank)'),
    inputs: z.array(InputChoiceSchema).max(MAX_INPUTS).optional().describe('the input codes the driver knows for this device; absent when it takes any code'),
  })
  .strict();
export type DeviceControls = z.infer<typeof DeviceControlsSchema>;

/** The step actions among `actions`, in the contract's order (unknown ones dropped). */
export function stepActions(actions: readonly string[]): StepAction[] {
  return STEP_ACTIONS.filter((a) => actions.includes(a));
}

/** A driver's `controls`: its step actions, and its known inputs when it takes `input` (undefined: no driver yet). */
export function controlsFrom(driver: { capabilities: readonly string[]; inputs?: readonly InputChoice[] } | undefined): DeviceControls | undefined {
  if (!driver) return undefined;
  const actions = stepActions(driver.capabilities);
  return { actions, ...(actions.includes('input') && driver.inputs ? { inputs: driver.inputs.map((i) => ({ ...i })) } : {}) };
}

/**
 * What each driver takes, for a device whose station is older than `controls` (its inventory names the
 * driver only). The drivers' own `capabilities` are the truth; tests/unit/drivers/controls.test.ts
 * checks this table against them. `frame_profile` depends on its profile: power only, the one action
 * every profile that switches anything has.
 */
export const DRIVER_ACTIONS: Readonly<Record<string, readonly StepAction[]>> = {
  pjlink: ['power', 'input', 'mute'],
  escvp21: ['power', 'input', 'mute'],
  nec: ['power', 'input', 'mute'],
  modbus_relay: ['power'],
  frame_profile: ['power'],
  novastar: ['brightness', 'blank'],
  net_presence: [],
  cec: ['power'],
};
