/**
 * The outbox's disk budget (`county.outbox_max_mb`, docs/mqtt.md "Outbox budget"): checked now and
 * then, low-priority unsent events summarised away when over it, usage records never. A part of its own,
 * wired by the link: it tells the durable lane when rows went, since the lane may have read them ahead.
 */
import type { Logger } from 'pino';
import type { Outbox, OutboxSummary } from '../store/outbox.js';

/** The `outbox_summarised` event as the budget hands it over to be recorded. */
export interface SummaryEvent {
  type: 'outbox_summarised';
  severity: 'warning';
  message: string;
  data: Record<string, unknown>;
}

export interface OutboxBudgetDeps {
  outbox: Outbox;
  log: Logger;
  /** county.outbox_max_mb. */
  outboxMaxMb: number;
  checkEveryMs: number;
  /** Records the event (the daemon's EventLog), which announces the new record with `record.appended`. */
  events: { append(event: SummaryEvent): unknown };
  /** Rows were removed: forget whatever was read ahead. */
  summarised(): void;
}

export class OutboxBudget {
  private timer: NodeJS.Timeout | undefined;
  private warned = false;

  constructor(private readonly deps: OutboxBudgetDeps) {}

  /** Starts the periodic check (the first one now). */
  start(): void {
    this.timer = setInterval(() => this.enforce(), this.deps.checkEveryMs);
    this.timer.unref();
    this.enforce();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  enforce(): void {
    const { outbox, log, outboxMaxMb } = this.deps;
    const maxBytes = outboxMaxMb * 2 ** 20;
    let summary: OutboxSummary | null;
    try {
      summary = outbox.summarise(maxBytes);
    } catch (err) {
      log.error({ err }, 'outbox budget check failed');
      return;
    }
    if (summary) {
      this.deps.summarised();
      log.warn({ removed: summary.removed, bytes_freed: summary.bytes_freed }, 'outbox over budget: low-priority events summarised');
      this.deps.events.append({
        type: 'outbox_summarised',
        severity: 'warning',
        message: `outbox over ${outboxMaxMb} MB: ${summary.removed} unsent events summarised`,
        data: { ...summary },
      });
    }
    const bytes = outbox.bytes();
    if (bytes > maxBytes && !this.warned) {
      this.warned = true;
      log.warn({ outbox_bytes: bytes }, 'outbox over budget with usage records only: they are never evicted');
    } else if (bytes <= maxBytes) this.warned = false;
  }
}
