/**
 * The few values the county link keeps in the store's meta table, read and written through a narrow
 * key-value interface (the daemon passes its Store), so no part of the link sees the store itself.
 */

/** The meta table as the link needs it. */
export interface LinkMeta {
  meta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}

/** Meta key of the MQTT connection counter (`boot` in status and the Will). */
export const MQTT_BOOT_KEY = 'mqtt_boot';
/** Meta key of the agent start counter (`boot` in durable records), incremented by the daemon. */
export const AGENT_BOOT_KEY = 'agent_boot';

export function agentBoot(meta: LinkMeta): number {
  return Number(meta.meta(AGENT_BOOT_KEY) ?? '0');
}
