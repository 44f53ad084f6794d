/**
 * The parts of a stored inventory the console shows (its devices, what they take, the installed
 * schedules), read leniently: a document was validated when it arrived, but rows stored by an older
 * collector, or by an agent older than `controls` and `schedules`, lack them. Each item is checked on its
 * own, so one odd entry drops itself, never the page.
 */
import { DRIVER_ACTIONS, InputChoiceSchema, stepActions, type InputChoice } from '../../protocol/device-controls.js';
import { InventoryScheduleSchema, PAYLOAD_CAPS, type InventorySchedule } from '../../protocol/payloads.js';
import type { StepAction } from '../../protocol/schedule.js';

export interface InventoryDevice {
  id: string;
  name: string | null;
  kind: string | null;
  driver: string | null;
  /** The step actions it takes: the station's own `controls`, else what its driver takes. */
  actions: StepAction[];
  /** The input codes its driver knows; null when any code goes (or the station did not say). */
  inputs: InputChoice[] | null;
}

const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const text = (v: unknown, max: number): string | null => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null);
const ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function readInputs(v: unknown): InputChoice[] | null {
  if (!Array.isArray(v)) return null;
  const out: InputChoice[] = [];
  for (const x of v.slice(0, 32)) {
    const r = InputChoiceSchema.safeParse(x);
    if (r.success && !out.some((i) => i.code === r.data.code)) out.push({ code: r.data.code, kind: r.data.kind as InputChoice['kind'], ...(r.data.n ? { n: r.data.n } : {}) });
  }
  return out.length ? out : null;
}

/** An inventory's `devices` (at most PAYLOAD_CAPS.devices, ids a schedule step can name). */
export function readDevices(devices: readonly unknown[]): InventoryDevice[] {
  const out: InventoryDevice[] = [];
  for (const raw of devices.slice(0, PAYLOAD_CAPS.devices)) {
    const d = obj(raw);
    const id = d && typeof d['id'] === 'string' && ID.test(d['id']) ? d['id'] : null;
    if (!d || !id || out.some((x) => x.id === id)) continue;
    const driver = text(d['driver'], 64);
    const controls = obj(d['controls']);
    const actions = controls && Array.isArray(controls['actions']) ? stepActions(controls['actions'].filter((a): a is string => typeof a === 'string')) : [...(DRIVER_ACTIONS[driver ?? ''] ?? [])];
    out.push({ id, name: text(d['name'], 100), kind: text(d['kind'], 32), driver, actions, inputs: controls && actions.includes('input') ? readInputs(controls['inputs']) : null });
  }
  return out;
}

export interface InstalledList {
  /** Null when the station does not report its schedules (an agent older than that). */
  list: InventorySchedule[] | null;
  more: number;
}

/** The schedules installed on a station, as its last inventory lists them. */
export function readInstalled(inventory: Record<string, unknown> | null): InstalledList {
  const raw = inventory?.['schedules'];
  if (!Array.isArray(raw)) return { list: null, more: 0 };
  const list: InventorySchedule[] = [];
  for (const x of raw.slice(0, PAYLOAD_CAPS.schedules)) {
    const r = InventoryScheduleSchema.safeParse(x);
    if (r.success) list.push(r.data);
  }
  const more = inventory?.['schedules_more'];
  return { list, more: (typeof more === 'number' && Number.isInteger(more) && more > 0 ? more : 0) + (raw.length - list.length) };
}
