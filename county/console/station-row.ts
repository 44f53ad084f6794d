/**
 * One station's fleet row without reading the whole fleet: the station page of a province must not cost
 * a 20,000-row read. Same definitions as ConsoleStore.fleet(): faults are devices whose latest state has
 * errors, a lamp warning is a device whose latest lamp event is `lamp_warning`, devices in use are online
 * projectors, LED displays and amplifiers on or warming.
 */
import type { CollectorStore, ConsoleStore, DeviceRow, FleetRow } from '../store.js';

const LAMP_EVENTS = ['lamp_warning', 'lamp_warning_cleared'] as const;
/** The kinds that count as use by default (docs/design.md §6), as the stores' activeDevices query. */
const USE_KINDS = new Set(['projector', 'led_display', 'amplifier']);
/** Lamp events looked at per station (latest first); a station has a handful of projectors. */
const LAMP_EVENT_WINDOW = 200;

export async function stationFleetRow(store: CollectorStore & ConsoleStore, stationId: string, devices: readonly DeviceRow[]): Promise<FleetRow | undefined> {
  const row = await store.station(stationId);
  if (!row) return undefined;
  const [inventory, lampEvents, failedClasses] = await Promise.all([
    store.inventory(stationId),
    store.events(stationId, LAMP_EVENT_WINDOW, LAMP_EVENTS),
    store.failedClasses(stationId),
  ]);
  const agent = inventory?.['agent'] as { version?: unknown } | undefined;
  const latest = new Map<string | null, string>();
  for (const e of lampEvents) {
    const device = typeof e['device'] === 'string' ? e['device'] : null;
    if (!latest.has(device)) latest.set(device, String(e['type']));
  }
  const hours = new Map(devices.map((d) => [d.device_id, d.lamp_hours]));
  return {
    ...row,
    agent_version: typeof agent?.version === 'string' ? agent.version : null,
    faults: devices.filter((d) => d.errors.length > 0),
    lamp_warnings: [...latest]
      .filter(([, type]) => type === 'lamp_warning')
      .map(([device]) => ({ device, lamp_hours: device === null ? null : (hours.get(device) ?? null) })),
    failed_classes: failedClasses,
    active_devices: devices
      .filter((d) => d.online === true && (d.power === 'on' || d.power === 'warming') && USE_KINDS.has(d.kind ?? ''))
      .map((d) => ({ device_id: d.device_id, kind: d.kind })),
  };
}
