/**
 * The read side of the schedules, shared by the daemon (`schedule.list`, the scheduler's own view of
 * what to arm) and stationctl's read-only fallback when the daemon is down: config schedules, then the
 * county's from the store, each with its next runs and last run. Reads only; nothing here starts a run.
 */
import { nextRuns } from '../../protocol/cron.js';
import { PAYLOAD_CAPS, type InventorySchedule } from '../../protocol/payloads.js';
import { ScheduleSchema, type ScheduleConfig } from '../../protocol/schedule.js';
import type { Store } from '../store/store.js';
import type { StepOutcome } from './steps.js';

export interface PhaseOutcome {
  ok: boolean;
  at: string;
  steps: StepOutcome[];
  note?: string;
}

export interface RunOutcome {
  start?: PhaseOutcome;
  end?: PhaseOutcome;
}

export interface ScheduleListing {
  id: string;
  name: string | null;
  source: 'config' | 'county';
  cron: string;
  duration_min: number;
  enabled: boolean;
  running: boolean;
  next_runs: string[];
  last_run: { run_id: string; started_at: string; finished_at: string | null; outcome: RunOutcome | null } | null;
}

export interface SourcedSchedule {
  schedule: ScheduleConfig;
  source: 'config' | 'county';
}

/**
 * The config's schedules, then the county's stored ones that still pass the schema (a stored
 * definition this version cannot read is reported to `onInvalid` and left out, never fatal).
 */
export function allSchedules(
  store: Store | undefined,
  configSchedules: readonly ScheduleConfig[],
  onInvalid: (id: string) => void = () => undefined,
): SourcedSchedule[] {
  const county: SourcedSchedule[] = [];
  for (const r of store?.schedules.county() ?? []) {
    const parsed = ScheduleSchema.safeParse(parseJson(r.definition));
    if (parsed.success) county.push({ schedule: parsed.data, source: 'county' });
    else onInvalid(r.id);
  }
  return [...configSchedules.map((schedule) => ({ schedule, source: 'config' as const })), ...county];
}

export interface ListScheduleOptions {
  /** Absent when there is no database yet: the config still says what is planned. */
  store: Store | undefined;
  schedules: readonly ScheduleConfig[];
  timezone: string;
  now: Date;
  /** Whether a run of the schedule is in progress (the daemon knows; the database alone does not). */
  running?: (id: string) => boolean;
  onInvalid?: (id: string) => void;
}

export function listSchedules(o: ListScheduleOptions): ScheduleListing[] {
  return allSchedules(o.store, o.schedules, o.onInvalid).map(({ schedule, source }) => {
    const last = o.store?.schedules.lastRun(schedule.id);
    // An invalid config cron is listed without next runs; the scheduler logged it when arming.
    const next = schedule.enabled ? nextRuns(schedule.cron, o.timezone, o.now) : [];
    return {
      id: schedule.id,
      name: schedule.name ?? null,
      source,
      cron: schedule.cron,
      duration_min: schedule.duration_min,
      enabled: schedule.enabled,
      running: o.running?.(schedule.id) ?? false,
      next_runs: next,
      last_run: last
        ? { run_id: last.id, started_at: last.started_at, finished_at: last.finished_at, outcome: (parseJson(last.outcome ?? 'null') as RunOutcome | undefined) ?? null }
        : null,
    };
  });
}

export interface InstalledSchedules {
  list: InventorySchedule[];
  /** Installed beyond the inventory's cap (PAYLOAD_CAPS.schedules). */
  more: number;
}

/** What the inventory says is installed: each schedule with its steps, at most PAYLOAD_CAPS.schedules. */
export function installedSchedules(all: readonly SourcedSchedule[]): InstalledSchedules {
  const list = all.slice(0, PAYLOAD_CAPS.schedules).map(({ schedule: s, source }) => ({
    id: s.id,
    name: s.name ?? null,
    source,
    cron: s.cron,
    duration_min: s.duration_min,
    enabled: s.enabled,
    steps: s.steps.map((x) => ({ device: x.device, action: x.action, value: x.value, ...(x.wait_for ? { wait_for: x.wait_for } : {}) })),
  }));
  return { list, more: Math.max(0, all.length - list.length) };
}

/** JSON.parse, with undefined for text that is not JSON (a damaged row is shown without it, not fatal). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
