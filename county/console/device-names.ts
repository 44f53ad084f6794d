/**
 * Devices as a clerk knows them: by the name configured at the station (活动室投影机), or, without one,
 * by what they are (投影机); the id only where two would read the same. Never `projector-1` alone.
 */
import type { ConsoleStore } from '../store.js';
import { label, type T } from './i18n.js';
import { readDevices } from './inventory-read.js';
import { clip } from './station-words.js';

export interface NamedDevice {
  id: string;
  name: string | null;
  kind: string | null;
}

/** Each device's words on one station: its name, else its kind; "（id）" added where two would be the same. */
export function deviceLabels(t: T, devices: readonly NamedDevice[]): Map<string, string> {
  const base = new Map(devices.map((d) => [d.id, clip(d.name ?? label(t, 'kind', d.kind))]));
  const seen = new Map<string, number>();
  for (const v of base.values()) seen.set(v, (seen.get(v) ?? 0) + 1);
  return new Map([...base].map(([id, v]) => [id, (seen.get(v) ?? 0) > 1 ? `${v}（${id}）` : v]));
}

/** A device of a station in words: `labelOf(station, device)`; a device the inventory does not list reads as its kind or id. */
export type DeviceLabel = (station: string, device: string | null) => string;

export function labelsOf(t: T, byStation: ReadonlyMap<string, ReadonlyMap<string, string>>): DeviceLabel {
  return (station, device) => (device === null ? t('none') : (byStation.get(station)?.get(device) ?? clip(device)));
}

/** The device words of the listed stations, from their stored inventories (one query). */
export async function stationDeviceLabels(store: Pick<ConsoleStore, 'inventoryDevices'>, t: T, stationIds: readonly string[]): Promise<DeviceLabel> {
  const rows = stationIds.length ? await store.inventoryDevices([...new Set(stationIds)]) : [];
  return labelsOf(t, new Map(rows.map((r) => [r.station_id, deviceLabels(t, readDevices(r.devices))])));
}
