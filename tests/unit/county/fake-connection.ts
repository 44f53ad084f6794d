/**
 * A stand-in for the MQTT session in unit tests of the link's pure logic: records what a lane publishes
 * and keeps each publish's callback, so a test decides when (and whether) the broker's PUBACK arrives.
 * The real session is proven against mosquitto in tests/integration/county/.
 */
import type { Clock } from '../../../agent/clock.js';
import type { Connection, PublishClient } from '../../../agent/county/connection.js';
import type { LinkMeta } from '../../../agent/county/meta.js';

export interface Sent {
  topic: string;
  message: string;
  opts: { qos: 0 | 1; retain?: boolean };
  /** The PUBACK (or, for QoS 0, the write) as mqtt.js reports it. */
  ack(err?: Error): void;
}

export class FakeClient implements PublishClient {
  readonly sent: Sent[] = [];

  publish(topic: string, message: string, opts: { qos: 0 | 1; retain?: boolean }, callback?: (err?: Error) => void): void {
    this.sent.push({ topic, message, opts, ack: (err) => callback?.(err) });
  }

  on(topicSuffix: string): Sent[] {
    return this.sent.filter((s) => s.topic.endsWith(topicSuffix));
  }
}

export class FakeConnection implements Connection {
  client: FakeClient | null = new FakeClient();
  connected = true;
  boot = 1;

  /** A new session on a fresh client, as after a reconnect. */
  reconnect(): FakeClient {
    const c = new FakeClient();
    this.client = c;
    this.connected = true;
    this.boot++;
    return c;
  }
}

export function memoryMeta(entries: Record<string, string> = {}): LinkMeta {
  const m = new Map(Object.entries(entries));
  return { meta: (k) => m.get(k), setMeta: (k, v) => void m.set(k, v) };
}

/** The wall clock (fake timers move it), always synced. */
export const syncedClock: Clock = { now: () => new Date(), monotonicMs: () => performance.now(), quality: () => 'synced' };
