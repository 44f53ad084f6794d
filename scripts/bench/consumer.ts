/**
 * A county stand-in for the benchmarks: subscribes to one station's durable topics, remembers every
 * seq it saw, and publishes the retained `ack {seq}` watermark (contiguous seqs only), at most every
 * `ackEveryMs`, and again after every reconnect (a broker without persistence forgets retained acks);
 * signed with `commandKey` when the bench gives the stations one.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { signAck, signRequest } from '../../protocol/signing.js';
import { Topics } from '../../protocol/topics.js';

export interface ConsumerOptions {
  url: string;
  station: string;
  prefix?: string;
  ackEveryMs?: number;
  /** Do not publish acks (the raw reference loop has nobody to ack). */
  noAck?: boolean;
  /**
   * Like the reference collector: a gap above the watermark that persists this long is asked for with
   * `request/sessions.resend` (the station must allow it). Off when undefined.
   */
  resendAfterMs?: number;
  /**
   * The stations' `county.command_key_file` content, when the bench gives them one: acks and resend
   * requests are then signed (docs/mqtt.md "Ack signing", "Command signing"), as the station demands.
   */
  commandKey?: string;
}

export class AckingConsumer {
  readonly seen = new Set<number>();
  readonly usageSeqs = new Set<number>();
  watermark = 0;
  messages = 0;
  firstAt: number | undefined;
  lastAt: number | undefined;
  resendRequests = 0;
  private acked = 0;
  private gapSince: { from: number; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ledger: string | undefined;
  private client: MqttClient | undefined;

  private readonly topics: Topics;

  constructor(private readonly o: ConsumerOptions) {
    this.topics = new Topics(o.prefix ?? 'stations', o.station);
  }

  async start(): Promise<void> {
    const client = mqtt.connect(this.o.url, { clientId: `bench-county-${this.o.station}-${process.pid}`, clean: true, reconnectPeriod: 500, connectTimeout: 5_000 });
    this.client = client;
    client.on('connect', () => {
      client.subscribe([this.topics.usage, this.topics.events], { qos: 1 });
      if (this.acked > 0 && !this.o.noAck) this.publishAck(this.acked);
    });
    client.on('error', () => undefined);
    client.on('message', (topic, buf) => this.onMessage(topic, buf));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    if (!this.o.noAck) this.timer = setInterval(() => this.tick(), this.o.ackEveryMs ?? 100);
  }

  private onMessage(topic: string, buf: Buffer): void {
    const now = performance.now();
    let msg: { seq?: unknown; ledger?: unknown };
    try {
      msg = JSON.parse(buf.toString());
    } catch {
      return;
    }
    if (typeof msg.seq !== 'number') return;
    this.messages++;
    this.firstAt ??= now;
    this.lastAt = now;
    // One station, one database in a bench: the ack names the ledger its records carry.
    if (typeof msg.ledger === 'string') this.ledger = msg.ledger;
    this.seen.add(msg.seq);
    if (topic === this.topics.usage) this.usageSeqs.add(msg.seq);
    while (this.seen.has(this.watermark + 1)) this.watermark++;
  }

  private tick(): void {
    if (this.watermark > this.acked && this.client?.connected) this.publishAck(this.watermark);
    if (this.o.resendAfterMs === undefined) return;
    const now = Date.now();
    const gap = this.seen.size > this.watermark;
    if (!gap) this.gapSince = undefined;
    else if (!this.gapSince || this.gapSince.from !== this.watermark + 1) this.gapSince = { from: this.watermark + 1, at: now };
    else if (now - this.gapSince.at >= this.o.resendAfterMs) {
      this.requestResend(this.watermark + 1);
      this.gapSince.at = now;
    }
  }

  /** Asks the station to republish its records from `fromSeq` (to its last one). */
  requestResend(fromSeq: number): void {
    if (!this.client?.connected) return;
    this.resendRequests++;
    const req: Record<string, unknown> = { transaction: `bench-resend-${fromSeq}-${this.resendRequests}`, args: { from_seq: fromSeq }, ts: new Date().toISOString() };
    if (this.o.commandKey !== undefined) req['sig'] = signRequest(this.o.commandKey, this.o.station, 'sessions.resend', req);
    this.client.publish(this.topics.request('sessions.resend'), JSON.stringify(req), { qos: 1 });
  }

  private publishAck(seq: number): void {
    this.acked = seq;
    const ts = new Date().toISOString();
    const body = this.ledger === undefined ? { seq } : { seq, ledger: this.ledger };
    const ack = this.o.commandKey === undefined ? body : { ...body, ts, sig: signAck(this.o.commandKey, this.o.station, { ...body, ts }) };
    this.client?.publish(this.topics.ack, JSON.stringify(ack), { qos: 1, retain: true });
  }

  /** Publishes the current watermark now (end of a run). */
  flushAck(): void {
    this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client?.endAsync(true);
  }
}
