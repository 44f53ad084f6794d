/**
 * The county link's durable lane (docs/design.md §5, docs/mqtt.md): the outbox's records (usage and
 * events) published in seq order at QoS 1, and removed only when the county's retained `ack` watermark
 * covers them. It sees the store only through the `Outbox` interface.
 *
 * The lane holds what spans connections: the ack gate, the published watermark, a `sessions.resend` in
 * progress, the rate-limited logs. Everything that belongs to one connection (window, read-ahead, replay
 * position and pace, batched PUBACKs and acks, timers) is a `Delivery` (delivery.ts), created on each
 * connect and dropped when the connection ends. The outbox's disk budget is a part of its own
 * (outbox-budget.ts); it only tells the lane when rows were summarised away.
 *
 * An ack is believed only after the AckGate (ack-gate.ts): signed when the station has a command key,
 * and never above the highest seq this station has published (the outbox's `publishedSeq`, raised with
 * every batch of PUBACKs). Nothing the county sends moves the seq allocator.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Outbox } from '../store/outbox.js';
import { AckGate } from './ack-gate.js';
import type { CommandKey } from './command-key.js';
import type { Connection } from './connection.js';
import { Delivery, type LaneProgress } from './delivery.js';
import { LogLimiter } from '../../protocol/log-limit.js';
import type { Topics } from '../../protocol/topics.js';
import type { LinkTiming } from './timing.js';

export interface DurableLaneDeps {
  stationId: string;
  outbox: Outbox;
  topics: Topics;
  connection: Connection;
  log: Logger;
  /** Monotonic time for the replay pace, the ack timeout and the log limits. */
  clock: Clock;
  /** county.require_ack: records stay until the county acks them (else a PUBACK removes them). */
  requireAck: boolean;
  /** county.replay_rate: historical records per second. */
  replayRate: number;
  timing: Pick<LinkTiming, 'ackGraceMs' | 'ackTimeoutMs' | 'window'>;
}

export class DurableLane {
  private readonly gate: AckGate;
  private readonly ackLog: LogLimiter;
  private readonly publishLog: LogLimiter;
  private readonly progress: LaneProgress;
  /** The current connection's delivery; null between connections. */
  private delivery: Delivery | null = null;
  /** Deliveries created so far: a failed publish is logged once per connection and error. */
  private deliveries = 0;

  constructor(private readonly deps: DurableLaneDeps) {
    this.gate = new AckGate(deps.stationId, deps.outbox.ledger());
    const now = (): number => deps.clock.monotonicMs();
    this.ackLog = new LogLimiter(deps.log, { perWindow: 20, now });
    this.publishLog = new LogLimiter(deps.log, { perWindow: 10, now });
    this.progress = { published: deps.outbox.publishedSeq(), resend: null };
  }

  /** The command key (loaded by the link before the connection starts): acks must then be signed. */
  setCommandKey(key: CommandKey): void {
    this.gate.setKey(key);
  }

  /** A connection exists (CONNACK): a fresh delivery, on its client. */
  connected(): void {
    this.delivery?.end();
    const client = this.deps.connection.client;
    if (!client) return;
    const { outbox, topics, log, clock, requireAck, replayRate, timing, connection } = this.deps;
    const no = ++this.deliveries;
    this.delivery = new Delivery({
      client,
      connection,
      outbox,
      topics,
      log,
      clock,
      requireAck,
      replayRate,
      timing,
      progress: this.progress,
      publishFailed: (err, seq, ended) => this.publishFailed(no, err, seq, ended),
    });
  }

  /** The broker answered the subscription: the delivery opens after a grace for the retained ack. */
  subscribed(): void {
    this.delivery?.subscribed();
  }

  /** The connection ended: its delivery writes down what the broker took and goes. */
  connectionEnded(): void {
    this.delivery?.end();
    this.delivery = null;
  }

  /** Each watchdog tick: with require_ack, published records that stay unacked are sent again. */
  tick(): void {
    this.delivery?.tick();
  }

  /** The outbox budget summarised rows away: the delivery forgets what it read ahead. */
  forgetReadAhead(): void {
    this.delivery?.forgetReadAhead();
  }

  /** Records not yet acknowledged. */
  depth(): number {
    return this.deps.outbox.depth().count;
  }

  /** The outbox part of `diag.run`. */
  figures(): Record<string, unknown> {
    const { outbox } = this.deps;
    return { ...outbox.depth(), bytes: outbox.bytes(), next_seq: outbox.lastSeq() + 1, published_seq: this.progress.published, in_flight: this.delivery?.inFlight ?? 0 };
  }

  /** A message on `ack`: the county's watermark, once the gate believes it. */
  onAck(raw: Buffer): void {
    const verdict = this.gate.check(raw, this.progress.published);
    if (!verdict.ok) {
      if (verdict.reason === 'above_published') this.delivery?.ackAboveRefused(verdict.seq!);
      this.ackLog.warn(
        { reason: verdict.reason, ack: verdict.value, published_seq: this.progress.published },
        `ignoring a county ack: ${verdict.message}`,
        `${verdict.reason}:${verdict.value}`,
      );
      return;
    }
    // Acks arrive only over a connection, so there is a delivery to batch them.
    this.delivery?.ackReceived(verdict.seq);
  }

  /** `sessions.resend`: republish stored records from `fromSeq` (acked or not) as historical. */
  resendFrom(fromSeq: number, toSeq?: number): { from_seq: number; to_seq: number; count: number } {
    const last = this.deps.outbox.lastSeq();
    const until = Math.min(toSeq ?? last, last);
    const count = until >= fromSeq ? this.deps.outbox.countStored(fromSeq, until) : 0;
    if (count > 0) {
      this.progress.resend = { next: fromSeq, until };
      this.pump();
    }
    return { from_seq: fromSeq, to_seq: until, count };
  }

  /** Sends what the window and the replay rate allow (on `record.appended`, and after a resend request). */
  pump(): void {
    this.delivery?.pump();
  }

  /**
   * A closing client fails every record in flight at once ("Connection closed"): one line per
   * connection and error text says so, and the limiter bounds a flood of distinct ones.
   */
  private publishFailed(delivery: number, err: Error, seq: number, connectionEnded: boolean): void {
    this.publishLog.warn(
      { seq, err: err.message, connection_ended: connectionEnded },
      'publishing a record to the county failed; it stays in the outbox and is sent again',
      `${delivery}:${err.message}`,
    );
  }
}
