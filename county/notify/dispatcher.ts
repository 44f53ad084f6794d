/**
 * Sends what the notify queue holds to the group robots: each target at most `perMinute` messages a
 * minute (summaries when more waits, see pack.ts), network failures and rate-limit answers retried with
 * backoff, a permanent answer (a wrong key or signature) recorded against the target and not retried.
 * The queue is durable (the county database): a restart or an outage loses nothing.
 */
import type { Notice } from './messages.js';
import { route, type NotifyTarget } from './config.js';
import { pack, type Queued } from './pack.js';
import type { NotifyQueue } from './queue.js';
import { robotRequest, sendRobot, type RobotKind, type RobotOutcome, type RobotRequest } from './robots.js';

export type { NotifyQueue, Settlement } from './queue.js';

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
  /** True while messages are held (quiet hours); a test message still goes out. */
  quiet?: (nowMs: number) => boolean;
  /** Told each target's result as it happens (the console shows the last one). */
  onResult?: (status: TargetStatus) => Promise<void>;
}

/**
 * The minute a robot's budget is counted over, with a margin: the vendor counts on its own clock, when
 * each request arrives, and a request at the edge of our minute could still fall inside theirs (the
 * storm bench once met one 130101 at exactly 60 s).
 */
const WINDOW_MS = 62_000;
/**
 * A retry after a network failure waits 30 s, doubling per attempt, at most 30 min. A rate-limit answer
 * (45009, 130101, 11232) waits 15 s, then 30, 60 …: the vendors count 20 a minute, and when the robot
 * says "too fast" though we sent fewer, someone else shares it or its minute is not ours: the next free
 * slot is at most a minute away, and the first retry must not wait a whole one.
 */
export function retryDelayMs(attempts: number, rateLimited: boolean): number {
  const first = rateLimited ? 15_000 : 30_000;
  return Math.min(30 * 60_000, first * 2 ** Math.min(attempts, 10));
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
    const items = route(this.deps.targets, notices);
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

  /**
   * One pass over every target, side by side (a robot that does not answer holds up only its own
   * messages): send what is due within its budget. Rejects with the first failure (the store's), after
   * every target's pass has ended.
   */
  async tick(): Promise<void> {
    const passes = await Promise.allSettled(this.deps.targets.map((t) => this.tickTarget(t)));
    const failed = passes.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async tickTarget(t: ResolvedTarget): Promise<void> {
    const now = this.deps.now();
    if ((this.pausedUntil.get(t.id) ?? 0) > now) return;
    const budget = this.perMinute - (await this.deps.queue.sentSince(t.id, now - WINDOW_MS));
    if (budget <= 0) return;
    const held = this.deps.quiet?.(now) ?? false;
    const due = (await this.deps.queue.due(t.id, now, 5_000)).filter((q) => !held || q.notice.kind === 'test');
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
      await this.deps.onResult?.({ ...status });
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
      // The robot (or the network to it) said wait: nothing more to it until then, new news included.
      this.pausedUntil.set(t.id, nextMs);
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

