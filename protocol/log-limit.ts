/**
 * Warnings about what the other side sent, bounded. Anyone who can publish to the broker can send a
 * station a flood of bad requests or acks, and a station (or whoever holds its credentials) can send the
 * county a flood of broken or forged records; logging each one would turn the flood into a disk flood and
 * bury the lines that matter. Per message text, at most `perWindow` lines go out per `windowMs`; the rest
 * are counted and reported once, as `suppressed`, with the next line of that text or by summarise() after
 * the window. With a `key`, each distinct value is logged once (a retained bad ack comes back on every
 * reconnect). Both the station and the county log through this one class.
 */

/** The part of a (pino) logger the limiter writes to. */
export interface LimitedLog {
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export interface LogLimiterOptions {
  perWindow?: number;
  windowMs?: number;
  now?: () => number;
}

/** Distinct message texts and keys remembered; the oldest is forgotten beyond this. */
const DISTINCT_MAX = 1_000;

interface Window {
  start: number;
  logged: number;
  suppressed: number;
}

export class LogLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly keys = new Set<string>();
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(
    private readonly log: LimitedLog,
    options: LogLimiterOptions = {},
  ) {
    this.perWindow = options.perWindow ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  warn(fields: Record<string, unknown>, msg: string, key?: string): void {
    this.note('warn', fields, msg, key);
  }

  error(fields: Record<string, unknown>, msg: string, key?: string): void {
    this.note('error', fields, msg, key);
  }

  private note(level: 'warn' | 'error', fields: Record<string, unknown>, msg: string, key: string | undefined): void {
    if (key !== undefined) {
      if (this.keys.has(key)) return;
      remember(this.keys, key);
    }
    const now = this.now();
    let w = this.windows.get(msg);
    if (!w || now - w.start >= this.windowMs) {
      if (w) this.report(msg, w);
      else if (this.windows.size >= DISTINCT_MAX) this.forgetOldest();
      this.windows.delete(msg);
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
      this.report(msg, w);
      this.windows.delete(msg);
    }
  }

  private report(msg: string, w: Window): void {
    if (w.suppressed > 0) this.log.warn({ suppressed: w.suppressed, window_s: this.windowMs / 1000 }, `${msg} (lines not logged)`);
  }

  private forgetOldest(): void {
    const [msg, w] = this.windows.entries().next().value!;
    this.report(msg, w);
    this.windows.delete(msg);
  }
}

function remember(set: Set<string>, key: string): void {
  set.add(key);
  if (set.size > DISTINCT_MAX) set.delete(set.values().next().value!);
}
