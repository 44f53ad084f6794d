/**
 * The console's side of the audit log (county/audit.ts): what it records and when, and the retention
 * pass. Recording never fails a request: a store error is logged (pino) and the request goes on, so a
 * database hiccup cannot lock the office out. Failed sign-ins and lockouts, which anyone on the network
 * can cause, are listed one by one up to FAILURES_PER_MINUTE a minute and then counted in one summary
 * row, so a guessing attack cannot grow the table without bound.
 */
import { AUDIT_MIN_DAYS, auditCutoff, auditEntry, type AuditKind, type AuditStore } from '../audit.js';
import type { Logger } from '../log.js';
import type { AccountChange } from './accounts.js';

export const FAILURES_PER_MINUTE = 30;
const WINDOW_MS = 60_000;
/** How often the retention pass runs (and once at start). */
const RETENTION_EVERY_MS = 6 * 3600_000;

export interface AuditFields {
  actor?: string | null;
  address?: string | null;
  target?: string | null;
  detail?: Record<string, unknown> | null;
}

/** A push as the audit log keeps it: what was sent (the request's args), to what target, how many stations. */
export interface PushAudit {
  push_id: string;
  action: string;
  args: Record<string, unknown>;
  /** The target as the form named it: one station, one town, or all. */
  target: { kind: 'station' | 'town' | 'all'; value: string };
  stations: number;
}

/** A visit item acknowledged (with the note typed, if any) or cleared by hand: which item, of which station, about what. */
export interface VisitAudit {
  action: 'ack' | 'clear';
  station: string;
  /** The item's id (visits.id). */
  id: number;
  /** What the item is about (visits.ts VisitCauseKind), when it was read before the action. */
  kind: string | null;
  note: string | null;
}

export class AuditLog {
  private readonly pending = new Set<Promise<void>>();
  private windowStart = 0;
  private itemised = 0;
  private notItemised = 0;
  private summaryTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: AuditStore,
    private readonly log: Logger,
    private readonly now: () => number,
    /** Days kept (AUDIT_MIN_DAYS at least: auditCutoff refuses fewer). */
    readonly days: number = AUDIT_MIN_DAYS,
  ) {
    auditCutoff(0, days);
  }

  /**
   * Appends one entry. The promise never rejects (a store error is logged): a route awaits it so the
   * entry is in the log by the time its page is shown; `flush` waits for any not awaited.
   */
  record(kind: AuditKind, f: AuditFields): Promise<void> {
    const entry = auditEntry({ at: new Date(this.now()).toISOString(), kind, ...f });
    const p = this.store.appendAudit([entry]).catch((err: unknown) => void this.log.error({ err: (err as Error).message, kind }, 'could not write the audit log'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** A failed sign-in or a lockout: itemised up to FAILURES_PER_MINUTE a minute, then counted. */
  failure(kind: 'sign_in_failed' | 'lockout', f: AuditFields): Promise<void> {
    const now = this.now();
    if (now - this.windowStart >= WINDOW_MS) this.closeWindow(now);
    if (this.itemised < FAILURES_PER_MINUTE) {
      this.itemised++;
      return this.record(kind, f);
    }
    this.notItemised++;
    this.summaryTimer ??= setTimeout(() => this.closeWindow(this.now()), Math.max(0, this.windowStart + WINDOW_MS - now)).unref();
    return Promise.resolve();
  }

  private closeWindow(now: number): void {
    if (this.summaryTimer) clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    if (this.notItemised > 0) {
      void this.record('sign_in_failed', { detail: { not_itemised: this.notItemised, max: FAILURES_PER_MINUTE, since: new Date(this.windowStart).toISOString() } });
    }
    this.windowStart = now;
    this.itemised = 0;
    this.notItemised = 0;
  }

  /** Account changes: by `actor` from `address` (the browser), or found in the file (actor null). */
  async accountChanges(changes: readonly AccountChange[], actor: string | null, address: string | null): Promise<void> {
    for (const c of changes) {
      const { kind, name, ...rest } = c;
      await this.record(kind, { actor, address, target: name, detail: actor === null ? { ...rest, outside: true } : rest });
    }
  }

  push(p: PushAudit, actor: string, address: string | null): Promise<void> {
    return this.record('push', {
      actor,
      address,
      target: `${p.target.kind}:${p.target.value}`,
      detail: { push_id: p.push_id, action: p.action, target: p.target, stations: p.stations, args: p.args },
    });
  }

  visit(v: VisitAudit, actor: string, address: string | null): Promise<void> {
    return this.record(v.action === 'ack' ? 'visit_ack' : 'visit_clear', {
      actor,
      address,
      target: `station:${v.station}`,
      detail: { station: v.station, visit: v.id, kind: v.kind, ...(v.note === null ? {} : { note: v.note }) },
    });
  }

  /** A test message queued for group robot `target` (the notifications page's button). */
  notifyTest(target: string, actor: string, address: string | null): Promise<void> {
    return this.record('notify_test', { actor, address, target: `group:${target}`, detail: { target } });
  }

  /** Deletes what is older than `days` now, then every RETENTION_EVERY_MS. */
  startRetention(): void {
    const run = (): void => {
      const before = auditCutoff(this.now(), this.days);
      const p = this.store
        .pruneAudit(before)
        .then((n) => void (n > 0 && this.log.info({ deleted: n, before }, 'audit log: entries past retention deleted')))
        .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'audit log retention failed'));
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    };
    run();
    this.retentionTimer = setInterval(run, RETENTION_EVERY_MS).unref();
  }

  /** Stops the timers (a summary still owed is written) and waits for every write. */
  async flush(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.retentionTimer = undefined;
    if (this.summaryTimer) this.closeWindow(this.now());
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
