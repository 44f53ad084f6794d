/**
 * Rate-limited warnings. A station (or whoever holds its credentials) can send the collector a flood of
 * broken or forged messages; logging each one would turn the flood into a disk flood and bury the lines
 * that matter. Per message text, at most `perWindow` lines go out per `windowMs`; the rest are counted
 * and reported once, as `suppressed`, with the next line or by summarise() at the end of the window.
 */
import type { Logger } from '../../agent/log.js';

interface Window {
  start: number;
  logged: number;
  suppressed: number;
}

export class LogLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly perWindow = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(fields: Record<string, unknown>, msg: string): void {
    this.note('warn', fields, msg);
  }

  error(fields: Record<string, unknown>, msg: string): void {
    this.note('error', fields, msg);
  }

  private note(level: 'warn' | 'error', fields: Record<string, unknown>, msg: string): void {
    const now = this.now();
    let w = this.windows.get(msg);
    if (!w || now - w.start >= this.windowMs) {
      if (w && w.suppressed > 0) this.log.warn({ suppressed: w.suppressed, window_s: this.windowMs / 1000 }, `${msg} (lines not logged)`);
      this.windows.set(msg, (w = { start: now, logged: 0, suppressed: 0 }));
    }
    if (w.logged >= this.perWindow) {
      w.suppressed++;
      return;
    }
    w.logged++;
    this.log[level](fields, msg);
  }

  /** Reports the counts of windows that have ended (called on a timer, so a flood that stopped is still summed up). */
  summarise(): void {
    const now = this.now();
    for (const [msg, w] of this.windows) {
      if (now - w.start < this.windowMs) continue;
      if (w.suppressed > 0) this.log.warn({ suppressed: w.suppressed, window_s: this.windowMs / 1000 }, `${msg} (lines not logged)`);
      this.windows.delete(msg);
    }
  }
}
