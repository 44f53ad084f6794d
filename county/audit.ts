/**
 * The console's audit log (操作日志): who signed in or failed to, lockouts, sign-outs, schedule pushes
 * with their content and target, visit items acknowledged or cleared, test messages sent to a group robot,
 * account changes. Stored in the county database beside everything else
 * (AuditStore, implemented by both stores: sqlite-audit.ts, pg-audit.ts), kept at least AUDIT_MIN_DAYS
 * (等保 2.0 asks for six months of audit records), and bounded: every field is clipped, the detail is a
 * small JSON object from which secrets are dropped by name, whatever a caller passes.
 */

export const AUDIT_KINDS = [
  'sign_in',
  'sign_in_failed',
  'lockout',
  'sign_out',
  'push',
  'visit_ack',
  'visit_clear',
  'notify_test',
  'account_add',
  'account_role',
  'account_password',
  'account_remove',
  'audit_export',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];
export const isAuditKind = (v: string): v is AuditKind => (AUDIT_KINDS as readonly string[]).includes(v);

/** The least number of days an audit record is kept; the retention pass refuses anything shorter. */
export const AUDIT_MIN_DAYS = 180;
export const AUDIT_MAX_DAYS = 3650;
/** The most rows one read returns (a page, or an export). */
export const AUDIT_MAX_READ = 50_000;

/** Bounds of the stored fields (characters). */
export const AUDIT_CAPS = { actor: 64, address: 64, target: 256, detail: 4000, detailString: 1000 } as const;

/** One entry as it is stored: `detail` is JSON text (or null). */
export interface AuditEntry {
  /** UTC ISO time (`toISOString()`), so text order is time order on both stores. */
  at: string;
  kind: AuditKind;
  /** The account that acted (or whose sign-in failed); null when none is known. */
  actor: string | null;
  /** The client's address (the proxy's X-Real-IP with trust_proxy). */
  address: string | null;
  /** What was acted on: an account name, a push's target. */
  target: string | null;
  detail: string | null;
}

export interface AuditRow extends AuditEntry {
  id: number;
}

export interface AuditFilter {
  /** [from, to) as UTC ISO times; absent: unbounded. */
  from?: string;
  to?: string;
  /** Only these kinds; absent or empty: every kind. */
  kinds?: readonly AuditKind[];
}

export interface AuditQuery extends AuditFilter {
  limit: number;
  offset: number;
}

/** What the county database keeps for the console's audit log. */
export interface AuditStore {
  appendAudit(entries: readonly AuditEntry[]): Promise<void>;
  /** Newest first (by time, then by insertion), at most AUDIT_MAX_READ. */
  auditLog(query: AuditQuery): Promise<AuditRow[]>;
  countAudit(filter: AuditFilter): Promise<number>;
  /** Deletes the entries older than `before` (UTC ISO); returns how many. Call through auditCutoff(). */
  pruneAudit(before: string): Promise<number>;
}

/**
 * The time before which entries may be deleted when `days` are kept: refuses fewer than AUDIT_MIN_DAYS,
 * so no configuration, old or mistyped, can make the retention pass cut into the six months.
 */
export function auditCutoff(nowMs: number, days: number): string {
  if (!Number.isInteger(days) || days < AUDIT_MIN_DAYS || days > AUDIT_MAX_DAYS) {
    throw new Error(`操作日志至少保留 ${AUDIT_MIN_DAYS} 天（最多 ${AUDIT_MAX_DAYS} 天），不能是 ${days} / the audit log is kept ${AUDIT_MIN_DAYS}–${AUDIT_MAX_DAYS} days, not ${days}`);
  }
  return new Date(nowMs - days * 86_400_000).toISOString();
}

/** Clipped text without control characters (a value typed into a form, a station's name), or null. */
export function clipText(v: unknown, max: number): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).replace(/[\p{Cc}\p{Cf}]/gu, ' ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Never stored in a detail, whoever passes them. */
const SECRET_KEYS = new Set(['password', 'password2', 'new_password', 'hash', '_csrf', 'csrf', 'sig', 'key', 'token', 'secret']);

function bounded(v: unknown, depth: number): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return clipText(v, AUDIT_CAPS.detailString);
  if (depth > 4) return null;
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => bounded(x, depth + 1));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>).slice(0, 50)) if (!SECRET_KEYS.has(k.toLowerCase())) out[k] = bounded(x, depth + 1);
    return out;
  }
  return null;
}

/**
 * A detail object as stored: secrets dropped by name, strings clipped, at most AUDIT_CAPS.detail
 * characters of JSON (beyond that, the JSON's beginning as `{"clipped": "…"}`, still valid JSON).
 */
export function auditDetail(detail: Record<string, unknown> | null | undefined): string | null {
  if (!detail) return null;
  const json = JSON.stringify(bounded(detail, 0));
  return json.length <= AUDIT_CAPS.detail ? json : JSON.stringify({ clipped: json.slice(0, AUDIT_CAPS.detail - 100) });
}

/** An entry with every field bounded (what the stores are given). */
export function auditEntry(e: { at: string; kind: AuditKind; actor?: string | null; address?: string | null; target?: string | null; detail?: Record<string, unknown> | null }): AuditEntry {
  return {
    at: e.at,
    kind: e.kind,
    actor: clipText(e.actor, AUDIT_CAPS.actor),
    address: clipText(e.address, AUDIT_CAPS.address),
    target: clipText(e.target, AUDIT_CAPS.target),
    detail: auditDetail(e.detail),
  };
}

/** The stored detail read back (an object; {} when absent or unreadable). */
export function parseAuditDetail(detail: string | null): Record<string, unknown> {
  if (detail === null) return {};
  try {
    const v = JSON.parse(detail) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
