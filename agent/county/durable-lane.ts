/**
 * The county link's durable lane (docs/design.md §5, docs/mqtt.md): the outbox's records (usage and
 * events) published in seq order at QoS 1, and removed only when the county's retained `ack` watermark
 * covers them. It sees the store only through the `Outbox` interface.
 *
 * Per session: after the subscription, a short grace lets the retained ack arrive before anything is
 * sent; then a window of records in flight, read ahead a batch of rows at a time. Everything stored
 * before the connect is backlog: marked historical and paced by a token bucket (`county.replay_rate`),
 * so live traffic does not queue behind a replay. Records the county never acks are sent again after a
 * timeout; `sessions.resend` republishes stored ones on request. The outbox's disk budget is kept here
 * too (outbox-budget.ts), since summarising rows the lane has read ahead must drop them.
 *
 * An ack is believed only after the AckGate (ack-gate.ts): signed when the station has a command key,
 * and never above the highest seq this station has published (the outbox's `publishedSeq`, raised with
 * every batch of PUBACKs). Nothing the county sends moves the seq allocator.
 */
import type { Logger } from 'pino';
import type { Outbox, StoredRecord } from '../store/outbox.js';
import { AckGate } from './ack-gate.js';
import type { CommandKey } from './command-key.js';
import { QOS1, type Connection } from './connection.js';
import { markHistorical } from './historical.js';
import { LogLimiter } from '../../protocol/log-limit.js';
import { OutboxBudget, type SummaryEvent } from './outbox-budget.js';
import type { Topics } from '../../protocol/topics.js';
import type { LinkTiming } from './timing.js';

export type { SummaryEvent } from './outbox-budget.js';

export interface DurableLaneDeps {
  stationId: string;
  outbox: Outbox;
  topics: Topics;
  connection: Connection;
  log: Logger;
  /** county.require_ack: records stay until the county acks them (else a PUBACK removes them). */
  requireAck: boolean;
  /** county.replay_rate: historical records per second. */
  replayRate: number;
  /** county.outbox_max_mb. */
  outboxMaxMb: number;
  timing: Pick<LinkTiming, 'ackGraceMs' | 'ackTimeoutMs' | 'window' | 'budgetCheckMs'>;
  /** Records the event (the daemon's EventLog), which announces the new record with `record.appended`. */
  events: { append(event: SummaryEvent): unknown };
}

/** Outbox rows fetched per query. */
const READ_AHEAD = 64;
/** PUBACKs and acks arriving within this window are written to the outbox together. */
const FLUSH_MS = 25;

export class DurableLane {
  private readonly budget: OutboxBudget;
  private readonly gate: AckGate;
  private readonly ackLog: LogLimiter;
  private resend: { next: number; until: number } | null = null;
  /** The highest seq the broker took: the outbox's, plus PUBACKs not yet written. */
  private published: number;
  /** The last ack refused for being above `published` in this session (it may be true, only early). */
  private ackAbove: number | null = null;

  // Per-session state, reset on every connect.
  private laneOpen = false;
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
  // Outbox writes are batched: with synchronous=FULL each transaction is an fsync, and one per PUBACK
  // or per ack message would cap a replay at the disk's fsync rate.
  private pubackedSeqs: number[] = [];
  private pendingAck: number | null = null;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DurableLaneDeps) {
    this.budget = new OutboxBudget({
      outbox: deps.outbox,
      log: deps.log,
      outboxMaxMb: deps.outboxMaxMb,
      checkEveryMs: deps.timing.budgetCheckMs,
      events: deps.events,
      summarised: () => (this.ahead = []), // rows read ahead may be among the ones just summarised
    });
    this.gate = new AckGate(deps.stationId, deps.outbox.ledger());
    this.ackLog = new LogLimiter(deps.log, { perWindow: 20 });
    this.published = deps.outbox.publishedSeq();
  }

  /** The command key (loaded by the link before the session starts): acks must then be signed. */
  setCommandKey(key: CommandKey): void {
    this.gate.setKey(key);
  }

  /** Starts the periodic budget check (the first one now). */
  start(): void {
    this.budget.start();
  }

  stop(): void {
    this.budget.stop();
  }

  /** The broker answered the subscription: the retained ack arrives right after, so wait a moment for it. */
  subscribed(): void {
    this.laneTimer = setTimeout(() => this.openLane(), this.deps.timing.ackGraceMs);
  }

  /** The session ended: what the broker took is written down, the rest waits for the next session. */
  sessionEnded(): void {
    this.laneOpen = false;
    if (this.flushTimer) this.flush();
    clearTimeout(this.laneTimer);
    this.laneTimer = undefined;
    this.inflight.clear();
    this.ackAbove = null;
  }

  /** Each watchdog tick: with require_ack, published records that stay unacked are sent again. */
  tick(): void {
    if (this.laneOpen && this.deps.requireAck) this.checkAckTimeout();
  }

  /** Records not yet acknowledged. */
  depth(): number {
    return this.deps.outbox.depth().count;
  }

  /** The outbox part of `diag.run`. */
  figures(): Record<string, unknown> {
    const { outbox } = this.deps;
    return { ...outbox.depth(), bytes: outbox.bytes(), next_seq: outbox.lastSeq() + 1, published_seq: this.published, in_flight: this.inflight.size };
  }

  /** A message on `ack`: the county's watermark, once the gate believes it. */
  onAck(raw: Buffer): void {
    const verdict = this.gate.check(raw, this.published);
    if (!verdict.ok) {
      // An honest ack can be early: the county stored a record whose PUBACK this station never saw
      // (the connection dropped in between). Once the station has published that far, it fetches the
      // retained ack again rather than trusting a value it could not check.
      if (verdict.reason === 'above_published') this.ackAbove = verdict.seq!;
      this.ackLog.warn(
        { reason: verdict.reason, ack: verdict.value, published_seq: this.published },
        `ignoring a county ack: ${verdict.message}`,
        `${verdict.reason}:${verdict.value}`,
      );
      return;
    }
    // A county acking per message sends hundreds of acks during a replay; only the highest matters.
    this.pendingAck = Math.max(this.pendingAck ?? 0, verdict.seq);
    this.scheduleFlush();
  }

  /** `sessions.resend`: republish stored records from `fromSeq` (acked or not) as historical. */
  resendFrom(fromSeq: number, toSeq?: number): { from_seq: number; to_seq: number; count: number } {
    const last = this.deps.outbox.lastSeq();
    const until = Math.min(toSeq ?? last, last);
    const count = until >= fromSeq ? this.deps.outbox.countStored(fromSeq, until) : 0;
    if (count > 0) {
      this.resend = { next: fromSeq, until };
      this.pump();
    }
    return { from_seq: fromSeq, to_seq: until, count };
  }

  /** Sends what the window and the replay rate allow; called on open, append, PUBACK, ack and timers. */
  pump(): void {
    const { connection, outbox } = this.deps;
    if (!this.laneOpen || !connection.connected) return;
    const client = connection.client!;
    while (this.inflight.size < this.deps.timing.window) {
      // A window of rows per query: one SELECT per record made a long backlog cost a query per publish.
      if (this.ahead.length === 0) this.ahead = outbox.pending(this.cursor, READ_AHEAD);
      let next: StoredRecord | undefined = this.ahead[0];
      let resend = false;
      if (!next && this.resend) {
        const [rec] = outbox.stored(this.resend.next, this.resend.until, 1);
        if (!rec) {
          this.deps.log.info({ until: this.resend.until }, 'sessions.resend finished');
          this.resend = null;
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
      if (resend) this.resend!.next = seq + 1;
      else {
        this.ahead.shift();
        this.cursor = seq;
        this.highestSent = Math.max(this.highestSent, seq);
      }
      // A resent record may still be in flight under its own seq: its key is negative so both fit.
      const key = resend ? -seq : seq;
      this.inflight.add(key);
      client.publish(this.deps.topics.stream(next.stream), historical ? markHistorical(next.text) : next.text, QOS1, (err) => {
        if (client !== connection.client) return;
        this.inflight.delete(key);
        if (!err && !resend) {
          this.pubackedSeqs.push(seq);
          this.published = Math.max(this.published, seq);
          this.scheduleFlush();
        }
        this.pump();
      });
    }
  }

  private openLane(): void {
    this.laneTimer = undefined;
    if (!this.deps.connection.connected) return;
    this.laneOpen = true;
    this.cursor = 0;
    this.ahead = [];
    this.highestSent = 0;
    // Everything already in the outbox at (re)connect is backlog: replayed as historical, rate-limited.
    this.backlogBelow = this.deps.outbox.lastSeq() + 1;
    this.tokens = 0;
    this.tokensAtMs = Date.now();
    this.lastAckProgressMs = Date.now();
    this.pump();
  }

  private takeToken(): number {
    const rate = this.deps.replayRate;
    const now = Date.now();
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
    try {
      const seqs = this.pubackedSeqs;
      this.pubackedSeqs = [];
      this.deps.outbox.markPublished(seqs, !this.deps.requireAck);
      const ack = this.pendingAck;
      this.pendingAck = null;
      if (ack !== null) this.applyAck(ack);
    } catch (err) {
      this.deps.log.error({ err }, 'cannot record delivery in the ledger');
    }
    if (this.ackAbove !== null && this.published >= this.ackAbove) {
      this.ackAbove = null;
      this.deps.connection.refetchRetained(this.deps.topics.ack);
    }
    this.pump();
  }

  /** A believed watermark; `ackUpTo` never un-acknowledges, so a lower one changes nothing. */
  private applyAck(seq: number): void {
    const n = this.deps.outbox.ackUpTo(seq);
    if (n > 0) {
      this.lastAckProgressMs = Date.now();
      this.deps.log.debug({ ack: seq, removed: n }, 'county ack');
    }
  }

  /** Published records that stay unacked (the county's consumer was away) are sent again. */
  private checkAckTimeout(): void {
    if (this.inflight.size > 0) return;
    const { first_seq } = this.deps.outbox.depth();
    if (first_seq === null || first_seq > this.cursor) {
      this.lastAckProgressMs = Date.now();
      return;
    }
    if (Date.now() - this.lastAckProgressMs < this.deps.timing.ackTimeoutMs) return;
    this.deps.log.warn({ from_seq: first_seq }, 'no county ack in time; sending unacknowledged records again');
    this.lastAckProgressMs = Date.now();
    this.cursor = first_seq - 1;
    this.ahead = [];
    this.pump();
  }
}
