/**
 * What the county keeps about visits (上门): each "needs a visit" item with its lifecycle, as ThingsBoard
 * keeps alarms — active → acknowledged (who, when, an optional note) → cleared (by the station's own
 * recovery, or by an operator) — and the latest run of each schedule of each station, from which a failed
 * scheduled class is told. Both stores implement VisitStore (sqlite-visit-sql.ts, pg-visit-sql.ts); the
 * rule that decides what needs a visit is county/visits.ts, the lifecycle's plan visit-lifecycle.ts.
 */

/** The latest run of one schedule on one station (from its `schedule_run` events), both phases. */
export interface ClassRun {
  station_id: string;
  schedule_id: string;
  /** The run's id (`data.run_id`), or `seq-<seq>` for an event without one. */
  run_id: string;
  /** The run's latest event: its county seq and its time (station clock). */
  seq: number;
  ts: string;
  /** Each phase's outcome: null until its event arrived; steps that went well of all. */
  start_ok: boolean | null;
  start_done: number | null;
  start_total: number | null;
  end_ok: boolean | null;
  end_done: number | null;
  end_total: number | null;
}

/** One visit item. `cleared_at` null: open (active, or acknowledged when `acked_at` is set). */
export interface VisitRow {
  id: number;
  station_id: string;
  /** The cause's key (county/visits.ts VisitCause.key): `link`, `fault:<device>`, `class:<schedule>` … */
  cause: string;
  /** The cause's kind when it was opened (`offline`, `fault`, `class_failed` …). */
  kind: string;
  /** The cause as it was when opened (JSON, bounded): the words of the history. */
  detail: string;
  opened_at: string;
  acked_at: string | null;
  acked_by: string | null;
  note: string | null;
  cleared_at: string | null;
  /** The operator who cleared it; null when the station's recovery did (or while open). */
  cleared_by: string | null;
  /**
   * A visit cleared by hand while its cause still held opens no new visit for that cause until the cause
   * has gone away once: then it is `rearmed`.
   */
  rearmed: boolean;
}

export type VisitState = 'active' | 'acknowledged' | 'cleared';
export const visitState = (v: Pick<VisitRow, 'acked_at' | 'cleared_at'>): VisitState => (v.cleared_at !== null ? 'cleared' : v.acked_at !== null ? 'acknowledged' : 'active');

/** What one pass of the lifecycle changes (visit-lifecycle.ts planVisits). */
export interface VisitPlan {
  /** New active visits. A cause with an open visit, or held by a hand clear, opens none (checked in the store too). */
  open: Array<{ station_id: string; cause: string; kind: string; detail: string }>;
  /** Open visits whose cause went away: cleared by the station's recovery. */
  clear: number[];
  /** Hand-cleared visits whose cause went away: a new occurrence may open a visit again. */
  rearm: number[];
}

/** The longest note an operator may add when acknowledging. */
export const VISIT_NOTE_MAX = 200;

export interface VisitStore {
  /** The latest run of every schedule (of one station, or of all) whose start or end failed. */
  failedClasses(stationId?: string): Promise<ClassRun[]>;
  /** Open visits and hand-cleared ones not yet rearmed (of one station, or of all), by station and id. */
  liveVisits(stationId?: string): Promise<VisitRow[]>;
  /** Applies a lifecycle pass in one transaction; `at` is the time written. */
  applyVisitPlan(plan: VisitPlan, at: string): Promise<void>;
  /** A station's visits, open and cleared, newest first. */
  visitHistory(stationId: string, limit: number): Promise<VisitRow[]>;
  /** Acknowledges an open visit of the station (again: a new note and name); false when there is none such. */
  acknowledgeVisit(stationId: string, id: number, by: string, note: string | null, at: string): Promise<boolean>;
  /** Clears an open visit of the station by hand; false when there is none such. */
  clearVisit(stationId: string, id: number, by: string, at: string): Promise<boolean>;
  /** Deletes visits cleared before `before` (ISO); how many. */
  pruneVisits(before: string): Promise<number>;
}

/** What a `schedule_run` event says about its run, as the stores keep it (ClassRun's columns). */
export interface ClassRunWrite {
  station_id: string;
  schedule_id: string;
  run_id: string;
  seq: number;
  ts: string;
  phase: 'start' | 'end';
  ok: boolean;
  done: number;
  total: number;
}

const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/**
 * The run a stored `schedule_run` event reports (at its county seq), or undefined when it is not one or
 * says too little to tell (no schedule id, no `ok`): what an agent sends (agent/scheduler/scheduler.ts
 * `report`), read as untrusted. The SQL backfill of the migrations reads the stored events the same way.
 */
export function classRunOf(stationId: string, seq: number, e: { type: string; ts: string; data?: Record<string, unknown> | undefined }): ClassRunWrite | undefined {
  const d = e.data;
  if (e.type !== 'schedule_run' || !d || !isText(d['schedule_id'], 128) || typeof d['ok'] !== 'boolean') return undefined;
  const steps = Array.isArray(d['steps']) ? (d['steps'] as unknown[]) : [];
  return {
    station_id: stationId,
    schedule_id: d['schedule_id'],
    run_id: isText(d['run_id'], 64) ? d['run_id'] : `seq-${seq}`,
    seq,
    ts: e.ts,
    phase: d['phase'] === 'end' ? 'end' : 'start',
    ok: d['ok'],
    done: steps.filter((s) => (s as { status?: unknown } | null)?.status === 'ok').length,
    total: steps.length,
  };
}
