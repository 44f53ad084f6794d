/**
 * The device vocabulary both sides share: the kinds of device a station has, the power states a device
 * reports and the shape of a fault. The drivers produce them, the agent publishes them, the county shows
 * them (docs/design.md §4, docs/mqtt.md).
 */
export const DEVICE_KINDS = ['projector', 'settopbox', 'led_display', 'amplifier'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const POWER_STATES = ['on', 'off', 'warming', 'cooling', 'unknown'] as const;
export type PowerState = (typeof POWER_STATES)[number];

export interface DeviceFault {
  code: string;
  severity: 'warning' | 'error';
  text: string;
}

