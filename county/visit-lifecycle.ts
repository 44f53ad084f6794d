/**
 * The lifecycle of visit items, from the visit rule's judgements (visits.ts) and the items the store
 * holds (visit-store.ts): what one pass opens, clears and rearms. Pure: the store applies the plan
 * (applyVisitPlan), collectors and consoles alike (visit-sync.ts), and its statements check again what
 * they rely on, so two passes at once do no harm.
 *
 * - A cause that is a reason to go (not pending) opens an active item, unless one is open for it, or it
 *   was cleared by hand while the cause held (then nothing opens until the cause has gone away once).
 * - An open item (active or acknowledged) whose cause is no longer present, pending or not, is cleared:
 *   the station recovered. A pending cause keeps its item open (a station offline since the afternoon
 *   stays on the list overnight, acknowledged or not, though the night opens no new item).
 * - A hand-cleared item whose cause is gone is rearmed: the next occurrence opens a new item.
 */
import type { VisitPlan, VisitRow } from './visit-store.js';
import type { VisitCause, VisitCauseKind } from './visits.js';

/** Faults and texts kept in an item's detail: enough for its history line, bounded whatever a device reported. */
const DETAIL_FAULTS = 5;
const DETAIL_TEXT = 300;

/** The cause as an item keeps it (JSON, at most a few KB): the words of the visit history. */
export function causeDetail(c: VisitCause): string {
  const { pending: _pending, ...rest } = c;
  if (rest.kind === 'fault') {
    const errors = rest.errors.slice(0, DETAIL_FAULTS).map((e) => ({ code: e.code.slice(0, DETAIL_TEXT), severity: e.severity.slice(0, 16), text: e.text.slice(0, DETAIL_TEXT) }));
    return JSON.stringify({ ...rest, device: rest.device.slice(0, DETAIL_TEXT), errors, unread: rest.unread + Math.max(0, rest.errors.length - DETAIL_FAULTS) });
  }
  return JSON.stringify(rest);
}

const KINDS = new Set<VisitCauseKind>(['offline', 'silent', 'never', 'fault', 'lamp', 'outbox', 'class_failed']);

/** An item's stored cause, for its history line; undefined when it cannot be read as one. */
export function causeOfRow(row: Pick<VisitRow, 'detail' | 'kind' | 'cause'>): VisitCause | undefined {
  try {
    const d = JSON.parse(row.detail) as Record<string, unknown>;
    if (d === null || typeof d !== 'object' || !KINDS.has(d['kind'] as VisitCauseKind) || d['kind'] !== row.kind) return undefined;
    if (d['kind'] === 'fault' && !Array.isArray(d['errors'])) return undefined;
    return { ...(d as unknown as VisitCause), key: row.cause, pending: false } as VisitCause;
  } catch {
    return undefined;
  }
}

/** One pass: `judged` are the stations judged now (only their items are touched), `live` the store's live items. */
export function planVisits(judged: ReadonlyArray<{ station_id: string; causes: readonly VisitCause[] }>, live: readonly VisitRow[]): VisitPlan {
  const rows = new Map<string, VisitRow[]>();
  for (const r of live) (rows.get(r.station_id) ?? rows.set(r.station_id, []).get(r.station_id)!).push(r);
  const plan: VisitPlan = { open: [], clear: [], rearm: [] };
  for (const j of judged) {
    const present = new Map(j.causes.map((c) => [c.key, c]));
    const mine = rows.get(j.station_id) ?? [];
    const taken = new Set<string>();
    for (const r of mine) {
      if (present.has(r.cause)) taken.add(r.cause);
      else if (r.cleared_at === null) plan.clear.push(r.id);
      else plan.rearm.push(r.id);
    }
    for (const c of present.values()) {
      if (!c.pending && !taken.has(c.key)) plan.open.push({ station_id: j.station_id, cause: c.key, kind: c.kind, detail: causeDetail(c) });
    }
  }
  return plan;
}

export const emptyPlan = (p: VisitPlan): boolean => p.open.length === 0 && p.clear.length === 0 && p.rearm.length === 0;
