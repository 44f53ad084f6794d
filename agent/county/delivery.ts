/**
 * One MQTT connection's delivery of the outbox: the durable lane's per-connection part (docs/mqtt.md).
 * The lane creates one on every connect and drops it when the connection ends, so nothing here — the
 * window in flight, the rows read ahead, the replay position and its pace, batched PUBACKs and acks, an
 * ack refused as early, the timers — can outlive its connection: a reconnect starts afresh by
 * construction, not by fields cleared by hand. What spans connections (the published watermark, a
 * `sessions.resend` in progress) is the lane's `LaneProgress`, shared by reference.
 *
 * After the subscription, a short grace lets the retained ack arrive before anything is sent; then a
 * window of records in flight, read ahead a batch of rows at a time. Everything stored before the lane
 * opened is backlog: marked historical and paced by a token bucket (`county.replay_rate`), so live
 * traffic does not queue behind a replay. Records the county never acks are sent again after a timeout.
 * Durations come from the injected clock's monotonic time; only the timers are setTimeout.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Outbox, StoredRecord } from '../store/outbox.js';
import { QOS1, type Connection, type PublishClient } from './connection.js';
import { markHistorical } from './historical.js';
import type { Topics } from '../../protocol/topics.js';
import type { LinkTiming } from './timing.js';

/** What the lane's deliveries share across connections. */
export interface LaneProgress {
  /** The highest seq the broker took: the outbox's, plus PUBACKs not yet written. */
  published: number;
  /** A `sessions.resend` in progress: it goes on over the next connection if this one drops. */
  resend: { next: number; until: number } | null;
}

export interface DeliveryDeps {
  /** The client of this connection: everything is published on it, and only its callbacks count. */
  client: PublishClient;
  /** The connection, to fetch the retained ack again. */
  connection: Pick<Connection, 'refetchRetained'>;
  outbox: Outbox;
  topics: Topics;
  log: Logger;
  clock: Clock;
  requireAck: boolean;
  replayRate: number;
  timing: Pick<LinkTiming, 'ackGraceMs' | 'ackTimeoutMs' | 'window'>;
  progress: LaneProgress;
  /** A publish's callback carried an error (the lane logs it, rate-limited). */
  publishFailed(err: Error, seq: number, connectionEnded: boolean): void;
}

/** Outbox rows fetched per query. */
const READ_AHEAD = 64;
/** PUBACKs and acks arriving within this window are written to the outbox together. */
export const FLUSH_MS = 25;

export class Delivery {
  private ended = false;
  private open = false;
  private laneTimer: NodeJS.Timeout | undefined;
  private cursor = 0;
  /** Outbox rows read ahead of the cursor, not yet sent. */
  private ahead: StoredRecord[] = [];
  private highestSent = 0;
  private backlogBelow = 0;
  private readonly inflight = new Set<number>();
  private tokens = 0;
  private tokensAtMs = 0;
  private lastAckProgressMs = 0;
  /** The last ack refused for being above `published` on this connection (it may be true, only early). */
  private ackAbove: number | null = null;
  // Outbox writes are batched: with synchronous=FULL each transaction is an fsync, and one per PUBACK
  // or per ack message would cap a replay at the disk's fsync rate.
  private pubackedSeqs: number[] = [];
  /** Publishes mqtt.js reported as failed on this connection. */
  private failures = 0;
  private pendingAck: number | null = null;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DeliveryDeps) {}

  /** Records published and not yet PUBACKed. */
  get inFlight(): number {
    return this.inflight.size;
  }

  /** The broker answered the subscription: the retained ack arrives right after, so wait a moment for it. */
  subscribed(): void {
    if (this.ended) return;
    clearTimeout(this.laneTimer);
    this.laneTimer = setTimeout(() => this.openLane(), this.deps.timing.ackGraceMs);
  }

  /** The connection ended: what the broker took is written down; the rest waits for the next connection. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.open = false;
    clearTimeout(this.laneTimer);
    this.laneTimer = undefined;
    if (this.flushTimer) this.flush();
  }

  /** Each watchdog tick: with require_ack, published records that stay unacked are sent again. */
  tick(): void {
    if (this.open && this.deps.requireAck) this.checkAckTimeout();
  }

  /** A believed county ack: written with the next batch. */
  ackReceived(seq: number): void {
    if (this.ended) return;
    // A county acking per message sends hundreds of acks during a replay; only the highest matters.
    this.pendingAck = Math.max(this.pendingAck ?? 0, seq);
    this.scheduleFlush();
  }

  /**
   * An honest ack can be early: the county stored a record whose PUBACK this station never saw (the
   * connection dropped in between). Once this connection has published that far, it fetches the
   * retained ack again rather than trusting a value it could not check.
   */
  ackAboveRefused(seq: number): void {
    if (!this.ended) this.ackAbove = seq;
  }

  /** Rows were removed from the outbox (the budget summarised them): forget what was read ahead. */
  forgetReadAhead(): void {
    this.ahead = [];
  }

  /** Sends what the window and the replay rate allow; called on open, append, PUBACK, ack and timers. */
  pump(): void {
    if (!this.open || this.ended) return;
    const { client, outbox, progress } = this.deps;
    while (this.inflight.size < this.deps.timing.window) {
      // A window of rows per query: one SELECT per record made a long backlog cost a query per publish.
      if (this.ahead.length === 0) this.ahead = outbox.pending(this.cursor, READ_AHEAD);
      let next: StoredRecord | undefined = this.ahead[0];
      let resend = false;
      if (!next && progress.resend) {
        const [rec] = outbox.stored(progress.resend.next, progress.resend.until, 1);
        if (!rec) {
          this.deps.log.info({ until: progress.resend.until }, 'sessions.resend finished');
          progress.resend = null;
          return;
        }
        next = rec;
        resend = true;
      }
      if (!next) return;
      const historical = resend || next.seq < this.backlogBelow || next.seq <= this.highestSent;
      if (historical) {
        const wait = this.takeToken();
        if (wait > 0) {
          if (!this.laneTimer) {
            this.laneTimer = setTimeout(() => {
              this.laneTimer = undefined;
              this.pump();
            }, wait);
          }
          return;
        }
      }
      const seq = next.seq;
      if (resend) progress.resend!.next = seq + 1;
      else {
        this.ahead.shift();
        this.cursor = seq;
        this.highestSent = Math.max(this.highestSent, seq);
      }
      // A resent record may still be in flight under its own seq: its key is negative so both fit.
      const key = resend ? -seq : seq;
      this.inflight.add(key);
      const failuresBefore = this.failures;
      client.publish(this.deps.topics.stream(next.stream), historical ? markHistorical(next.text) : next.text, QOS1, (err) => {
        if (err) {
          // mqtt.js could not complete the publish (the client is closing, the packet was refused). The
          // record stays in the outbox and goes again (after the ack timeout, or on the next connection);
          // a technician must be able to see it happened. No pump from here: a closing client fails
          // every publish, so pumping would walk the whole outbox through it.
          this.failures++;
          this.deps.publishFailed(err, seq, this.ended);
          this.inflight.delete(key);
          return;
        }
        if (this.ended) return;
        this.inflight.delete(key);
        if (!resend) {
          this.pubackedSeqs.push(seq);
          progress.published = Math.max(progress.published, seq);
          this.scheduleFlush();
        }
        this.pump();
      });
      // A closing client fails each publish at once, inside the call: stop here rather than walk the
      // whole outbox through it.
      if (this.failures !== failuresBefore) return;
    }
  }

  private openLane(): void {
    this.laneTimer = undefined;
    if (this.ended) return;
    this.open = true;
    // Everything already in the outbox when the lane opens is backlog: replayed as historical, rate-limited.
    this.backlogBelow = this.deps.outbox.lastSeq() + 1;
    this.tokensAtMs = this.lastAckProgressMs = this.deps.clock.monotonicMs();
    this.pump();
  }

  private takeToken(): number {
    const rate = this.deps.replayRate;
    const now = this.deps.clock.monotonicMs();
    // A burst of at most a tenth of a second keeps live traffic from queueing behind the replay.
    this.tokens = Math.min(Math.max(1, rate / 10), this.tokens + ((now - this.tokensAtMs) / 1000) * rate);
    this.tokensAtMs = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / rate) * 1000);
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Applies batched PUBACKs and the latest county ack in one go each. */
  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const { outbox, log, progress } = this.deps;
    try {
      const seqs = this.pubackedSeqs;
      this.pubackedSeqs = [];
      outbox.markPublished(seqs, !this.deps.requireAck);
      const ack = this.pendingAck;
      this.pendingAck = null;
      if (ack !== null) this.applyAck(ack);
    } catch (err) {
      log.error({ err }, 'cannot record delivery in the ledger');
    }
    if (this.ended) return;
    if (this.ackAbove !== null && progress.published >= this.ackAbove) {
      this.ackAbove = null;
      this.deps.connection.refetchRetained(this.deps.topics.ack);
    }
    this.pump();
  }

  /** A believed watermark; `ackUpTo` never un-acknowledges, so a lower one changes nothing. */
  private applyAck(seq: number): void {
    const n = this.deps.outbox.ackUpTo(seq);
    if (n > 0) {
      this.lastAckProgressMs = this.deps.clock.monotonicMs();
      this.deps.log.debug({ ack: seq, removed: n }, 'county ack');
    }
  }

  /** Published records that stay unacked (the county's consumer was away) are sent again. */
  private checkAckTimeout(): void {
    if (this.inflight.size > 0) return;
    const now = this.deps.clock.monotonicMs();
    const { first_seq } = this.deps.outbox.depth();
    if (first_seq === null || first_seq > this.cursor) {
      this.lastAckProgressMs = now;
      return;
    }
    if (now - this.lastAckProgressMs < this.deps.timing.ackTimeoutMs) return;
    this.deps.log.warn({ from_seq: first_seq }, 'no county ack in time; sending unacknowledged records again');
    this.lastAckProgressMs = now;
    this.cursor = first_seq - 1;
    this.ahead = [];
    this.pump();
  }
}
