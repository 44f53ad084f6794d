/**
 * Visit items as the console's lifecycle pass would have stored them for plain rows (no database): the
 * rule judges the rows, the plan opens an item per cause that needs a visit, numbered from 1.
 */
import type { FleetRow } from '../../county/store.js';
import { planVisits } from '../../county/visit-lifecycle.js';
import type { VisitRow } from '../../county/visit-store.js';
import { DEFAULT_VISIT_RULES, judgeStation, type VisitRules } from '../../county/visits.js';

export function openItems(rows: readonly FleetRow[], nowMs: number, rules: VisitRules = DEFAULT_VISIT_RULES): VisitRow[] {
  const plan = planVisits(
    rows.map((r) => judgeStation(r, nowMs, rules)),
    [],
  );
  const at = new Date(nowMs).toISOString();
  return plan.open.map((o, i) => ({ id: i + 1, ...o, opened_at: at, acked_at: null, acked_by: null, note: null, cleared_at: null, cleared_by: null, rearmed: false }));
}
