/**
 * Asks stations for the seqs the collector is missing. A gap (`max_seq > watermark`) must persist
 * `gapGraceMs` before it is asked for (in-flight reordering heals itself), and the same gap is asked for
 * again every `resendRetryMs` while it stays. The request covers the first gap of the station; its
 * range travels in the transaction, so whichever collector of the group gets the response can act on it
 * (a `count: 0` answer marks the seqs lost: see writeBatch).
 */
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from '../../agent/log.js';
import type { FleetTopics } from '../../agent/county/topics.js';
import { signRequest } from '../../agent/county/signing.js';
import type { CollectorStore } from './store.js';

export interface GapWatcherOptions {
  store: CollectorStore;
  fleet: FleetTopics;
  client: MqttClient;
  log: Logger;
  gapGraceMs: number;
  resendRetryMs: number;
  /** Signs `request/sessions.resend` (HMAC-SHA256) for stations that have `county.command_key_file`. */
  commandKey?: string | Buffer;
  /** Counts every request handed to the client. */
  onRequested: () => void;
}

interface Watch {
  from: number;
  since: number;
  lastAsked: number | null;
}

export class GapWatcher {
  private readonly watches = new Map<string, Watch>();
  private current: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly o: GapWatcherOptions) {}

  /** No more passes (shutdown). */
  close(): void {
    this.closed = true;
  }

  /** One pass over the open gaps. A pass still running is joined, not doubled. */
  tick(): Promise<void> {
    return (this.current ??= this.pass().finally(() => (this.current = undefined)));
  }

  private async pass(): Promise<void> {
    if (this.closed || !this.o.client.connected) return;
    let open;
    try {
      open = await this.o.store.gaps();
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'gap pass failed');
      return;
    }
    const now = Date.now();
    const seen = new Set<string>();
    for (const g of open) {
      seen.add(g.station_id);
      let w = this.watches.get(g.station_id);
      if (!w || w.from !== g.from_seq) this.watches.set(g.station_id, (w = { from: g.from_seq, since: now, lastAsked: null }));
      if (now - w.since < this.o.gapGraceMs) continue;
      if (w.lastAsked !== null && now - w.lastAsked < this.o.resendRetryMs) continue;
      w.lastAsked = now;
      this.requestResend(g.station_id, g.from_seq, g.to_seq);
    }
    for (const s of this.watches.keys()) if (!seen.has(s)) this.watches.delete(s);
  }

  private requestResend(station: string, from: number, to: number): void {
    let topic: string;
    try {
      topic = this.o.fleet.station(station).request('sessions.resend');
    } catch (err) {
      this.o.log.error({ station, err: (err as Error).message }, 'no request topic for this station id');
      return;
    }
    const request: Record<string, unknown> = {
      transaction: `resend:${from}:${to}:${randomBytes(4).toString('hex')}`,
      args: { from_seq: from, to_seq: to },
      ts: new Date().toISOString(),
    };
    if (this.o.commandKey !== undefined) request['sig'] = signRequest(this.o.commandKey, station, 'sessions.resend', request);
    this.o.client.publish(topic, JSON.stringify(request), { qos: 1 });
    this.o.onRequested();
    this.o.log.info({ station, from_seq: from, to_seq: to }, 'asked the station for missing records');
  }
}
