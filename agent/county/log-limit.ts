/**
 * Warnings about what the county side sent, bounded: anyone who can publish to the broker can send a
 * flood of bad requests or acks, and the journal must not become the victim. At most `perMinute` lines
 * a minute, then one line with how many were left out; with a key, each distinct value is logged once
 * (a retained bad ack comes back on every reconnect).
 */
import type { Logger } from 'pino';

/** Distinct values remembered for "once per value"; the oldest is forgotten beyond this. */
const DISTINCT_MAX = 1_000;

export class LogLimiter {
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;
  private readonly logged = new Set<string>();

  constructor(
    private readonly log: Logger,
    /** The line that reports how many warnings were left out. */
    private readonly suppressedMsg: string,
    private readonly perMinute = 20,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Logs `msg` at warn unless the minute's budget is spent, or `key` was logged already. */
  warn(fields: Record<string, unknown>, msg: string, key?: string): void {
    if (key !== undefined) {
      if (this.logged.has(key)) return;
      this.logged.add(key);
      if (this.logged.size > DISTINCT_MAX) this.logged.delete(this.logged.values().next().value!);
    }
    const now = this.nowMs();
    if (now - this.windowStart > 60_000) {
      if (this.suppressed > 0) this.log.warn({ suppressed: this.suppressed }, this.suppressedMsg);
      this.windowStart = now;
      this.inWindow = 0;
      this.suppressed = 0;
    }
    if (this.inWindow++ < this.perMinute) this.log.warn(fields, msg);
    else this.suppressed++;
  }
}
