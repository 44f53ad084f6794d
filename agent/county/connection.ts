/**
 * What the lanes and request admission see of the MQTT connection: the current client (null between
 * connections) and whether it is connected, plus the envelope every county message carries. A callback
 * compares the client it published on with the current one, so one from a dropped client is ignored.
 */
import type { Clock } from '../clock.js';

/** The one method of mqtt.js's MqttClient the link's parts publish with (a fake stands in for unit tests). */
export interface PublishClient {
  publish(topic: string, message: string, opts: { qos: 0 | 1; retain?: boolean }, callback?: (err?: Error) => void): unknown;
}

export interface Connection {
  readonly client: PublishClient | null;
  readonly connected: boolean;
  /** The MQTT connection counter of the current (or last) connection: `boot` in status and the Will. */
  readonly boot: number;
  /**
   * Subscribes to `topic` again, so the broker sends its retained message once more (MQTT 3.1.1
   * §3.8.4: a repeated subscription re-sends the retained messages). Nothing when not connected.
   */
  refetchRetained(topic: string): void;
}

export const QOS1 = { qos: 1 as const };

/** `ts` and `clock` of every live message and response. */
export function envelope(clock: Clock): { ts: string; clock: 'synced' | 'unsynced' } {
  return { ts: clock.now().toISOString(), clock: clock.quality() };
}
