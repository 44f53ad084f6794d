/**
 * What the schedule form offers for a step: the target's devices by their names, each with only the
 * actions and values it takes (its inventory's `controls`: power on/off/toggle, the input codes its
 * driver knows, volume and brightness 0–100 …). For a town or every station: what the stations that
 * reported their devices have in common (same device id, the actions and inputs all of them take).
 *
 * One choice is one `<option>` (`device|action|value`), grouped by device, so the essential path needs
 * no script; a level (volume 40) or an input code no list names goes in the step's value field.
 */
import type { InputChoice } from '../../protocol/device-controls.js';
import type { StepAction } from '../../protocol/schedule.js';
import type { InventoryDevicesRow } from '../store.js';
import { deviceLabels } from './device-names.js';
import type { ConsoleKey, T } from './i18n.js';
import { readDevices, type InventoryDevice } from './inventory-read.js';

export interface DeviceOffer extends InventoryDevice {
  /** The device in words (deviceLabels). */
  label: string;
}

export interface Offer {
  devices: DeviceOffer[];
  /** Stations addressed, and how many of them have reported their devices (the offer is theirs). */
  stations: number;
  reported: number;
}

function commonInputs(a: InputChoice[] | null, b: InputChoice[] | null): InputChoice[] | null {
  if (a === null) return b;
  if (b === null) return a;
  return a.filter((x) => b.some((y) => y.code === x.code));
}

/** The devices every list has (by id), each with the actions and inputs all of them take. */
export function commonDevices(lists: readonly (readonly InventoryDevice[])[]): InventoryDevice[] {
  if (lists.length === 0) return [];
  const [first, ...rest] = lists;
  const out: InventoryDevice[] = [];
  for (const d of first!) {
    const same = rest.map((l) => l.find((x) => x.id === d.id));
    if (same.some((x) => x === undefined)) continue;
    const all = [d, ...(same as InventoryDevice[])];
    const actions = d.actions.filter((a) => all.every((x) => x.actions.includes(a)));
    const inputs = all.reduce<InputChoice[] | null>((acc, x) => commonInputs(acc, x.inputs), null);
    // An input list that lost every code leaves no input to offer, rather than "any code".
    const noInputs = actions.includes('input') && inputs !== null && inputs.length === 0;
    // The name most of them give it (a town's projectors are usually all 投影机).
    const names = new Map<string | null, number>();
    for (const x of all) names.set(x.name, (names.get(x.name) ?? 0) + 1);
    const name = [...names].sort((a, b) => b[1] - a[1])[0]![0];
    out.push({ ...d, name, actions: noInputs ? actions.filter((a) => a !== 'input') : actions, inputs: noInputs ? null : inputs });
  }
  return out.filter((d) => d.actions.length > 0);
}

/** The offer for the stations of a push, from their stored inventories' devices. */
export function offerFor(t: T, rows: readonly InventoryDevicesRow[], stations: number): Offer {
  const lists = rows.map((r) => readDevices(r.devices)).filter((l) => l.length > 0);
  const devices = commonDevices(lists);
  const labels = deviceLabels(t, devices);
  return { devices: devices.map((d) => ({ ...d, label: labels.get(d.id)! })), stations, reported: lists.length };
}

/** An input in words: HDMI 1, 电脑 2, 视频; a kind this console does not know, by its code. */
export function inputWords(t: T, input: InputChoice | undefined, code: string): string {
  const key = `input.${input?.kind ?? ''}`;
  if (!input || !Object.hasOwn(INPUT_KEYS, input.kind)) return t('step.input_code', { code });
  return `${t(key as ConsoleKey)}${input.n ? ` ${input.n}` : ''}`;
}
const INPUT_KEYS: Record<string, true> = Object.fromEntries(
  ['computer', 'video', 'svideo', 'component', 'hdmi', 'digital', 'displayport', 'dvi', 'hdbaset', 'sdi', 'usb', 'network', 'storage', 'internal'].map((k) => [k, true]),
);

export interface StepOption {
  value: string;
  text: string;
  /** The step's value field is needed: a level 0–100, or an input code. */
  needs: 'level' | 'code' | null;
}

const ON_OFF: Record<'power' | 'mute' | 'blank', readonly string[]> = { power: ['on', 'off', 'toggle'], mute: ['on', 'off'], blank: ['on', 'off'] };

/** `device|action|value`; value '' when it comes from the step's value field. */
export const choiceValue = (device: string, action: StepAction, value: string): string => `${device}|${action}|${value}`;

export function parseChoice(choice: string): { device: string; action: string; value: string } | null {
  const m = /^([a-z0-9][a-z0-9_-]{0,63})\|([a-z]{1,16})\|(.{0,32})$/.exec(choice);
  return m ? { device: m[1]!, action: m[2]!, value: m[3]! } : null;
}

/** Every step a device takes, in words, for the form's select. */
export function stepOptions(t: T, d: DeviceOffer): StepOption[] {
  const out: StepOption[] = [];
  for (const action of d.actions) {
    if (action === 'power' || action === 'mute' || action === 'blank') {
      for (const v of ON_OFF[action]) out.push({ value: choiceValue(d.id, action, v), text: t(`step.${action}.${v}` as ConsoleKey), needs: null });
    } else if (action === 'input') {
      for (const i of d.inputs ?? []) out.push({ value: choiceValue(d.id, 'input', i.code), text: t('step.input', { input: inputWords(t, i, i.code) }), needs: null });
      if (d.inputs === null) out.push({ value: choiceValue(d.id, 'input', ''), text: t('step.input_any'), needs: 'code' });
    } else {
      out.push({ value: choiceValue(d.id, action, ''), text: t(action === 'volume' ? 'step.volume_any' : 'step.brightness_any'), needs: 'level' });
    }
  }
  return out;
}

/** Whether the offer has this step (a forged or stale choice is refused by the form). */
export function offers(offer: Offer, device: string, action: string, value: string): boolean {
  const d = offer.devices.find((x) => x.id === device);
  if (!d || !(d.actions as readonly string[]).includes(action)) return false;
  if (action === 'input' && d.inputs !== null) return d.inputs.some((i) => i.code === value);
  return true;
}
