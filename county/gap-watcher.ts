/**
 * Asks stations for the seqs the collector is missing, and remembers what it asked. A gap
 * (`max_seq > watermark`) must persist `gapGraceMs` before it is asked for (in-flight reordering heals
 * itself), and the same gap is asked for again every `resendRetryMs` while it stays. Each request is an
 * outstanding transaction that expires after `resendTimeoutMs`: a `sessions.resend` answer is believed
 * only when it answers one of them (same station, not expired, once), and a `count: 0` answer can mark
 * lost only inside the range that was asked for (see writeBatch). A forged answer, a replayed one or one
 * for another collector's request changes nothing. Every collector subscribes to responses unshared
 * (collectorSubscriptions), so the one that asked always hears the answer.
 *
 * Gaps are in the county's seq space (ledgers.ts): the station is asked in its current ledger's seqs
 * (`seq − base`), and a gap below that ledger's base belongs to a database the station no longer has
 * (it was replaced): nobody can send it again, so once it has lasted the grace it is recorded as lost.
 */
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from './log.js';
import type { FleetTopics } from '../protocol/topics.js';
import { signRequest } from '../protocol/signing.js';
import type { CollectorStore } from './store.js';
import type { CommandKeys } from './command-keys.js';

export interface GapWatcherOptions {
  store: CollectorStore;
  fleet: FleetTopics;
  client: MqttClient;
  log: Logger;
  gapGraceMs: number;
  resendRetryMs: number;
  /** How long a request's answer is accepted. */
  resendTimeoutMs: number;
  /** Sign `request/sessions.resend` (HMAC-SHA256), each with the station's own key (command-keys.ts). */
  keys: CommandKeys;
  /** Counts every request handed to the client. */
  onRequested: () => void;
  /** Counts requests that expired unanswered. */
  onExpired: () => void;
  now?: () => number;
}

interface Watch {
  from: number;
  since: number;
  lastAsked: number | null;
}

/** A request in flight: what an answer to it may speak about. */
export interface ResendTransaction {
  station: string;
  /** County seqs asked for (the request carried them minus `base`). */
  from_seq: number;
  to_seq: number;
  /** The ledger asked and its base: an answer for another ledger is not believed. */
  ledger: string | null;
  base: number;
  expiresAt: number;
}

/** What writeBatch asks before it believes a resend answer. */
export interface ResendLedger {
  /** The transaction if `station` was asked it and it has not expired; consumed (an answer counts once). */
  claim(station: string, transaction: string): ResendTransaction | undefined;
}

export class GapWatcher implements ResendLedger {
  private readonly watches = new Map<string, Watch>();
  /** Outstanding transactions by id; at most one per station (a new request supersedes the old). */
  private readonly outstanding = new Map<string, ResendTransaction>();
  private readonly byStation = new Map<string, string>();
  private current: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: GapWatcherOptions) {
    this.now = o.now ?? Date.now;
  }

  /** No more passes (shutdown). */
  close(): void {
    this.closed = true;
  }

  /** Requests in flight (bounded by the number of stations with a gap). */
  get pending(): number {
    return this.outstanding.size;
  }

  claim(station: string, transaction: string): ResendTransaction | undefined {
    const t = this.outstanding.get(transaction);
    if (!t || t.station !== station) return undefined;
    this.forget(transaction);
    return t.expiresAt > this.now() ? t : undefined;
  }

  private forget(transaction: string): void {
    const t = this.outstanding.get(transaction);
    if (!t) return;
    this.outstanding.delete(transaction);
    if (this.byStation.get(t.station) === transaction) this.byStation.delete(t.station);
  }

  /** Drops expired transactions (an answer arriving later is not believed). */
  expire(): void {
    const now = this.now();
    for (const [id, t] of this.outstanding) {
      if (t.expiresAt > now) continue;
      this.forget(id);
      this.o.onExpired();
    }
  }

  /** One pass over the open gaps. A pass still running is joined, not doubled. */
  tick(): Promise<void> {
    return (this.current ??= this.pass().finally(() => (this.current = undefined)));
  }

  private async pass(): Promise<void> {
    this.expire();
    if (this.closed || !this.o.client.connected) return;
    let open;
    try {
      open = await this.o.store.gaps();
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'gap pass failed');
      return;
    }
    const now = this.now();
    const seen = new Set<string>();
    for (const g of open) {
      seen.add(g.station_id);
      let w = this.watches.get(g.station_id);
      if (!w || w.from !== g.from_seq) this.watches.set(g.station_id, (w = { from: g.from_seq, since: now, lastAsked: null }));
      if (now - w.since < this.o.gapGraceMs) continue;
      if (w.lastAsked !== null && now - w.lastAsked < this.o.resendRetryMs) continue;
      w.lastAsked = now;
      if (g.from_seq <= g.ledger_base) await this.markReplaced(g.station_id, g.from_seq, Math.min(g.to_seq, g.ledger_base));
      else this.requestResend(g.station_id, g.from_seq, g.to_seq, g.ledger, g.ledger_base, now);
    }
    for (const s of this.watches.keys()) if (!seen.has(s)) this.watches.delete(s);
  }

  /** Records a replaced ledger's missing seqs as lost: its database is gone. */
  private async markReplaced(station: string, from: number, to: number): Promise<void> {
    try {
      const [o] = await this.o.store.apply([{ kind: 'lost', station, from_seq: from, to_seq: to }]);
      const count = o?.kind === 'lost' ? o.count : 0;
      if (count > 0) this.o.log.error({ station, from_seq: from, to_seq: to, lost: count }, 'records of a replaced station database never arrived: recorded as lost');
    } catch (err) {
      this.o.log.error({ station, err: (err as Error).message }, 'could not record the lost seqs of a replaced ledger');
    }
  }

  private requestResend(station: string, from: number, to: number, ledger: string | null, base: number, now: number): void {
    let topic: string;
    let key: string | Buffer | undefined;
    try {
      topic = this.o.fleet.station(station).request('sessions.resend');
      key = this.o.keys.keyFor(station);
    } catch (err) {
      this.o.log.error({ station, err: (err as Error).message }, 'no request topic or command key for this station id');
      return;
    }
    // Unguessable, so an answer cannot be forged for a request not yet seen.
    const transaction = `resend:${from - base}:${to - base}:${randomBytes(12).toString('hex')}`;
    const request: Record<string, unknown> = { transaction, args: { from_seq: from - base, to_seq: to - base }, ts: new Date(now).toISOString() };
    if (key !== undefined) request['sig'] = signRequest(key, station, 'sessions.resend', request);
    const previous = this.byStation.get(station);
    if (previous !== undefined) this.forget(previous);
    this.outstanding.set(transaction, { station, from_seq: from, to_seq: to, ledger, base, expiresAt: now + this.o.resendTimeoutMs });
    this.byStation.set(station, transaction);
    this.o.client.publish(topic, JSON.stringify(request), { qos: 1 });
    this.o.onRequested();
    this.o.log.info({ station, from_seq: from - base, to_seq: to - base, ledger }, 'asked the station for missing records');
  }
}
