/**
 * A stand-in for the MQTT connection in unit tests of the link's pure logic: records what a lane publishes
 * and keeps each publish's callback, so a test decides when (and whether) the broker's PUBACK arrives.
 * The real connection is proven against mosquitto in tests/integration/county/.
 */
import type { Clock } from '../../../agent/clock.js';
import type { Connection, PublishClient } from '../../../agent/county/connection.js';
import type { LinkMeta } from '../../../agent/county/meta.js';
import type { SeenTransactions } from '../../../agent/county/requests.js';

export interface Sent {
  topic: string;
  message: string;
  opts: { qos: 0 | 1; retain?: boolean };
  /** The PUBACK (or, for QoS 0, the write) as mqtt.js reports it. */
  ack(err?: Error): void;
}

export class FakeClient implements PublishClient {
  readonly sent: Sent[] = [];
  /** Set: every publish fails at once, inside the call, as a closing mqtt.js client does ("client disconnecting"). */
  failWith: Error | undefined;

  publish(topic: string, message: string, opts: { qos: 0 | 1; retain?: boolean }, callback?: (err?: Error) => void): void {
    this.sent.push({ topic, message, opts, ack: (err) => callback?.(err) });
    if (this.failWith) callback?.(this.failWith);
  }

  on(topicSuffix: string): Sent[] {
    return this.sent.filter((s) => s.topic.endsWith(topicSuffix));
  }
}

export class FakeConnection implements Connection {
  client: FakeClient | null = new FakeClient();
  connected = true;
  boot = 1;
  /** Topics the lane asked to subscribe to again (to get their retained message once more). */
  readonly refetched: string[] = [];

  refetchRetained(topic: string): void {
    this.refetched.push(topic);
  }

  /** A new connection on a fresh client, as after a reconnect. */
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

/** The seen-transaction store in memory, for the guard's and admission's pure logic (SQLite's is tested in requests.test.ts). */
export class MemorySeen implements SeenTransactions {
  readonly entries = new Map<string, number>();
  adds = 0;

  has(tx: string, nowMs: number): boolean {
    const exp = this.entries.get(tx);
    return exp !== undefined && exp > nowMs;
  }
  add(tx: string, expiresMs: number): void {
    this.adds++;
    this.entries.set(tx, expiresMs);
  }
  prune(nowMs: number): number {
    let n = 0;
    for (const [tx, exp] of this.entries) if (exp <= nowMs && this.entries.delete(tx)) n++;
    return n;
  }
  evictOldest(count: number): number {
    const oldest = [...this.entries].sort((a, b) => a[1] - b[1]).slice(0, count);
    for (const [tx] of oldest) this.entries.delete(tx);
    return oldest.length;
  }
  totals(): { count: number; bytes: number } {
    let bytes = 0;
    for (const tx of this.entries.keys()) bytes += tx.length;
    return { count: this.entries.size, bytes };
  }
}
