/**
 * Acknowledges durable records: publishes the retained `ack` of each station's contiguous
 * watermark (never above a gap), at most once per pass, so stations can drain their outboxes. Which
 * watermarks are new is claimed atomically in the store, so collectors sharing a database never publish
 * the same ack twice. After a reconnect every known ack is published again: a broker restarted without
 * persistence forgets retained messages.
 *
 * The ack names the station's current ledger and counts in its seqs (`watermark − base`, ledgers.ts): a
 * station whose database was replaced ignores an ack for the old one, and gets `{seq: 0, ledger}` as soon
 * as the county has seen its new ledger. A station older than ledgers gets `{seq}` as before.
 *
 * With command keys the ack is signed like a command (protocol/signing.ts), with the station's own key
 * (command-keys.ts: derived from the county's master key, or the legacy shared key):
 * `{seq, ts, ledger, sig}` with `sig = HMAC-SHA256(key, "<station_id>\nack\n<canonical JSON of {seq, ts, ledger}>")`,
 * so a station holding its key can refuse a forged one. Without keys it stays `{seq, ledger}`.
 */
import { signRequest } from '../protocol/signing.js';
import { ackOf } from './ledgers.js';
import type { MqttClient } from 'mqtt';
import type { Logger } from './log.js';
import type { FleetTopics } from '../protocol/topics.js';
import type { CollectorStore, LedgerOf } from './store.js';
import type { CommandKeys } from './command-keys.js';

/** How long a pass waits for the broker to take its acks before it gives the claim up (PostgreSQL: rolls it back). */
export const ACK_PUBACK_MS = 5_000;

export interface AckerDeps {
  store: CollectorStore;
  fleet: FleetTopics;
  client: MqttClient;
  log: Logger;
  /** Counts every ack handed to the client. */
  onPublished: () => void;
  /** The keys (what each station's `county.command_key_file` holds): each station's ack is signed with its own. */
  keys: CommandKeys;
}

/**
 * The ack payload for `station` at county watermark `watermark` (its ledger's seqs): signed when there
 * is a key (the station's own). Without `of` (a station older than ledgers) the watermark is the station's seq.
 */
export function ackPayload(station: string, watermark: number, commandKey: string | Buffer | undefined, now = new Date(), of: LedgerOf = { ledger: null, ledger_base: 0 }): Record<string, unknown> {
  const ack = ackOf(watermark, of.ledger, of.ledger_base);
  if (commandKey === undefined) return ack;
  const body: Record<string, unknown> = { ...ack, ts: now.toISOString() };
  return { ...body, sig: signRequest(commandKey, station, 'ack', body) };
}

export class Acker {
  private current: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly d: AckerDeps) {}

  /** No more passes; failures of acks already handed to the client are no longer reported. */
  close(): void {
    this.closed = true;
  }

  /** One pass: claims the new watermarks and publishes them. A pass still running is joined, not doubled. */
  tick(): Promise<void> {
    return (this.current ??= this.pass().finally(() => (this.current = undefined)));
  }

  /** Waits for a pass in flight, then runs one more (shutdown: what the last batch stored gets acked). */
  async final(): Promise<void> {
    await this.current;
    await this.tick();
  }

  /** Publishes every known ack again (after a reconnect). */
  async restore(): Promise<void> {
    try {
      for (const r of await this.d.store.ackedStations()) void this.publish(r.station_id, r.acked_seq, r).catch(() => undefined);
    } catch (err) {
      this.d.log.error({ err: (err as Error).message }, 'could not restore acks');
    }
  }

  /**
   * Claims the new watermarks and publishes them, and the claim holds only once the broker has taken
   * every ack (PUBACK) within ACK_PUBACK_MS. On PostgreSQL the claimed stations stay locked meanwhile, so
   * another collector's later ack of the same station reaches the broker after this one.
   */
  private async pass(): Promise<void> {
    if (this.closed || !this.d.client.connected) return;
    try {
      await this.d.store.publishAcks(async (claims) => {
        await Promise.all(claims.map((p) => this.publish(p.station_id, p.watermark, p)));
      });
    } catch (err) {
      this.d.log.error({ err: (err as Error).message }, 'ack pass failed; the acks are claimed again on the next pass');
    }
  }

  /** Publishes one retained ack; resolves when the broker has it (or with a logged failure: restore() sends it again). */
  private publish(station: string, seq: number, of: LedgerOf): Promise<void> {
    let topic: string;
    try {
      topic = this.d.fleet.station(station).ack;
    } catch (err) {
      this.d.log.error({ station, err: (err as Error).message }, 'no ack topic for this station id');
      return Promise.resolve();
    }
    let payload: string;
    try {
      payload = JSON.stringify(ackPayload(station, seq, this.d.keys.keyFor(station), new Date(), of));
    } catch (err) {
      // A topic the broker let through under a name no station can have (no key derives for it): that
      // station goes unacked, the others are not held up.
      this.d.log.error({ station, err: (err as Error).message }, 'no command key for this station id: not acked');
      return Promise.resolve();
    }
    this.d.onPublished();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no PUBACK for the ack of ${station} within ${ACK_PUBACK_MS} ms`)), ACK_PUBACK_MS);
      this.d.client.publish(topic, payload, { qos: 1, retain: true }, (err) => {
        clearTimeout(timer);
        if (err && !this.closed) this.d.log.warn({ station, err: err.message }, 'ack publish failed; sent again on reconnect');
        resolve();
      });
    });
  }
}
