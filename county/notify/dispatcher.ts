/**
 * Sends what the notify queue holds to the group robots: each target at most `perMinute` messages a
 * minute (summaries when more waits, see pack.ts), network failures and rate-limit answers retried with
 * backoff, a permanent answer (a wrong key or signature) recorded against the target and not retried.
 * The queue is durable (the county database): a restart or an outage loses nothing.
 */
import type { Notice } from './messages.js';
import { hears, type NotifyTarget } from './config.js';
import { pack, type Queued } from './pack.js';
import { robotRequest, sendRobot, type RobotKind, type RobotOutcome, type RobotRequest } from './robots.js';

/** How a queued item ended, or when to try it again. */
export type Settlement = { state: 'sent'; text: string } | { state: 'retry'; reason: string; nextMs: number } | { state: 'failed'; reason: string };

/** The durable queue of news per target (SQLite or PostgreSQL behind the county store). */
export interface NotifyQueue {
  enqueue(items: ReadonlyArray<{ target: string; notice: Notice }>, nowMs: number): Promise<void>;
  /** Items of `target` due at `nowMs`, oldest first. */
  due(target: string, nowMs: number, limit: number): Promise<Array<Queued & { attempts: number }>>;
  settle(target: string, ids: readonly number[], how: Settlement, nowMs: number): Promise<void>;
  /** Messages sent to `target` since `sinceMs` (a summary counts once). */
  sentSince(target: string, sinceMs: number): Promise<number>;
}

/** A target with its URL and secret read from their files. */
export interface ResolvedTarget extends NotifyTarget {
  url: string;
  secret?: string;
}

export interface TargetStatus {
  id: string;
  kind: RobotKind;
  lastResult: 'sent' | 'retry' | 'failed' | null;
  lastReason: string | null;
  lastAtMs: number | null;
}

export interface DispatcherDeps {
  queue: NotifyQueue;
  targets: readonly ResolvedTarget[];
  now: () => number;
  send?: (kind: RobotKind, request: RobotRequest) => Promise<RobotOutcome>;
  perMinute?: number;
}

const MINUTE = 60_000;
/** A retry waits 30 s, doubling per attempt, at most 30 min; a rate-limit answer waits a minute at least. */
export function retryDelayMs(attempts: number, rateLimited: boolean): number {
  const backoff = Math.min(30 * 60_000, 30_000 * 2 ** Math.min(attempts, 10));
  return rateLimited ? Math.max(MINUTE, backoff) : backoff;
}

export class Dispatcher {
  private readonly status = new Map<string, TargetStatus>();
  private readonly pausedUntil = new Map<string, number>();
  private readonly perMinute: number;
  private readonly send: (kind: RobotKind, request: RobotRequest) => Promise<RobotOutcome>;

  constructor(private readonly deps: DispatcherDeps) {
    this.perMinute = deps.perMinute ?? 20;
    this.send = deps.send ?? ((kind, request) => sendRobot(kind, request));
    for (const t of deps.targets) this.status.set(t.id, { id: t.id, kind: t.kind, lastResult: null, lastReason: null, lastAtMs: null });
  }

  /** Queues the news for every target that hears its town. */
  async notify(notices: readonly Notice[]): Promise<void> {
    const items = notices.flatMap((notice) => this.deps.targets.filter((t) => notice.kind === 'test' || hears(t, notice.town)).map((t) => ({ target: t.id, notice })));
    if (items.length) await this.deps.queue.enqueue(items, this.deps.now());
  }

  /** Queues a test message for one target (the console's button). */
  async test(targetId: string): Promise<void> {
    if (!this.status.has(targetId)) throw new Error(`no notify target ${targetId}`);
    await this.deps.queue.enqueue([{ target: targetId, notice: { kind: 'test', town: null, station_id: null, station_name: null } }], this.deps.now());
  }

  targets(): TargetStatus[] {
    return [...this.status.values()].map((s) => ({ ...s }));
  }

  /** One pass over every target: send what is due within its budget. */
  async tick(): Promise<void> {
    for (const t of this.deps.targets) await this.tickTarget(t);
  }

  private async tickTarget(t: ResolvedTarget): Promise<void> {
    const now = this.deps.now();
    if ((this.pausedUntil.get(t.id) ?? 0) > now) return;
    const budget = this.perMinute - (await this.deps.queue.sentSince(t.id, now - MINUTE));
    if (budget <= 0) return;
    const due = await this.deps.queue.due(t.id, now, 5_000);
    if (due.length === 0) return;
    const attempts = new Map(due.map((q) => [q.id, q.attempts]));
    for (const out of pack(due, budget, t.lang)) {
      const at = this.deps.now();
      const request = robotRequest(t.kind, t.url, t.secret, { text: out.text, facts: factsOf(due, out.ids) }, at);
      const outcome = await this.send(t.kind, request);
      const status = this.status.get(t.id)!;
      status.lastAtMs = at;
      status.lastResult = outcome.result === 'permanent' ? 'failed' : outcome.result;
      status.lastReason = outcome.result === 'sent' ? null : outcome.reason;
      if (outcome.result === 'sent') {
        await this.deps.queue.settle(t.id, out.ids, { state: 'sent', text: out.text }, at);
        continue;
      }
      if (outcome.result === 'permanent') {
        await this.deps.queue.settle(t.id, out.ids, { state: 'failed', reason: outcome.reason }, at);
        continue;
      }
      const tries = Math.max(...out.ids.map((id) => attempts.get(id) ?? 0));
      const nextMs = at + retryDelayMs(tries, outcome.rateLimited);
      await this.deps.queue.settle(t.id, out.ids, { state: 'retry', reason: outcome.reason, nextMs }, at);
      // The robot (or the network to it) said wait: nothing more to it in this pass.
      if (outcome.rateLimited) this.pausedUntil.set(t.id, nextMs);
      return;
    }
  }
}

/** For webhook targets: the facts behind a message (its kind, town and the stations it names). */
function factsOf(due: readonly Queued[], ids: readonly number[]): Record<string, unknown> {
  const items = due.filter((q) => ids.includes(q.id)).map((q) => q.notice);
  const first = items[0];
  return { kind: first?.kind ?? 'test', town: first?.town ?? null, stations: items.map((n) => n.station_id).filter((s) => s !== null) };
}

