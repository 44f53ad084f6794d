/**
 * Viewing schedules (播放计划): the config's `schedules:` plus those the county pushes (`schedule.set`,
 * persisted in `county_schedules`). Cron times are in the station's time zone (croner). Each run
 * switches the devices on step by step, waits `duration_min`, then runs the end steps; each phase is
 * reported as a `schedule_run` event with every step's outcome.
 *
 * A run missed while the agent was down (or while the PC slept) is not replayed late: a class at
 * 20:00 started at 20:40 would interrupt whatever the room is used for by then.
 */
import { Cron } from 'croner';
import { validateCron } from '../../protocol/cron.js';
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { ScheduleSchema, type ScheduleConfig } from '../../protocol/schedule.js';
import type { Clock } from '../clock.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { EventLog } from '../events.js';
import type { Store } from '../store/store.js';
import type { Trigger } from '../../protocol/usage-record.js';
import { allSchedules, installedSchedules, listSchedules, type InstalledSchedules, type PhaseOutcome, type RunOutcome, type ScheduleListing, type SourcedSchedule } from './listing.js';
import { defaultEndSteps, runSteps, type DeviceControl, type StepOutcome } from './steps.js';

export type { PhaseOutcome, RunOutcome, ScheduleListing } from './listing.js';

/** A cron firing later than this after its time is a missed run, not a late one. */
export const LATE_LIMIT_MS = 2 * 60_000;

export interface SchedulerDeps {
  store: Store;
  events: EventLog;
  control: DeviceControl;
  clock: Clock;
  log: Logger;
  timezone: string;
  /** `schedules:` from the config. */
  schedules: readonly ScheduleConfig[];
  /** Configured device ids: a county schedule naming another device is refused. */
  deviceIds: readonly string[];
  /** The step actions a device takes (its driver's); a county step with another is refused. Undefined: not known yet. */
  deviceActions?: (id: string) => readonly string[] | undefined;
  /** Told after `schedule.set` changed what is installed (the county link republishes the inventory). */
  changed?: () => void;
  /** SessionTracker.noteTrigger: sessions a schedule starts carry `schedule:<id>`. */
  noteTrigger?: (trigger: Trigger) => void;
}

export type ScheduleChange = { schedule: ScheduleConfig } | { delete: string } | { replace: ScheduleConfig[] };

interface ActiveRun {
  runId: string;
  schedule: ScheduleConfig;
  outcome: RunOutcome;
  endTimer: NodeJS.Timeout | undefined;
}

export class Scheduler {
  private readonly jobs = new Map<string, Cron>();
  private readonly active = new Map<string, ActiveRun>();
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;

  constructor(private readonly deps: SchedulerDeps) {}

  start(): void {
    this.running = true;
    for (const s of this.all()) this.arm(s.schedule);
    this.resumeUnfinished();
  }

  /** Stops the timers; a run in progress is left unfinished in `schedule_runs` and resumed at the next start. */
  async stop(): Promise<void> {
    this.running = false;
    for (const job of this.jobs.values()) job.stop();
    this.jobs.clear();
    for (const run of this.active.values()) if (run.endTimer) clearTimeout(run.endTimer);
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    this.active.clear();
  }

  /** The same listing stationctl shows from the database when the daemon is down, plus what is running. */
  list(): ScheduleListing[] {
    return listSchedules({
      store: this.deps.store,
      schedules: this.deps.schedules,
      timezone: this.deps.timezone,
      now: this.deps.clock.now(),
      running: (id) => this.active.has(id),
      onInvalid: this.invalid,
    });
  }

  /**
   * Runs a schedule now: the technician's trial run (试运行) after installing a room, or the county's
   * make-up class. `durationMin` shortens or lengthens this run only. Sessions it starts carry
   * `trigger: schedule:<id>` like a timed run.
   */
  runNow(id: string, durationMin?: number): { id: string; duration_min: number } {
    const found = this.all().find((s) => s.schedule.id === id);
    if (!found) throw new AgentError(ErrorCodes.not_found, `no schedule ${id}`);
    if (this.active.has(id)) throw new AgentError(ErrorCodes.busy, `schedule ${id} is already running`);
    if (!this.running) throw new AgentError(ErrorCodes.busy, 'the scheduler is stopping');
    const schedule = durationMin === undefined ? found.schedule : { ...found.schedule, duration_min: durationMin };
    this.deps.log.info({ schedule: id, duration_min: schedule.duration_min }, 'schedule run requested now');
    this.track(this.runStart(schedule));
    return { id, duration_min: schedule.duration_min };
  }

  /** The county adds/replaces one schedule, deletes one, or replaces all of its schedules. */
  set(change: ScheduleChange): { ids: string[] } {
    const { schedules } = this.deps.store;
    const configIds = new Set(this.deps.schedules.map((s) => s.id));
    const check = (s: ScheduleConfig): ScheduleConfig => {
      const parsed = ScheduleSchema.safeParse(s);
      if (!parsed.success) throw new AgentError(ErrorCodes.invalid_args, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const sched = parsed.data;
      if (configIds.has(sched.id)) throw new AgentError(ErrorCodes.invalid_args, `schedule ${sched.id} is defined in the station config`);
      for (const step of [...sched.steps, ...(sched.end_steps ?? [])]) {
        if (!this.deps.deviceIds.includes(step.device)) throw new AgentError(ErrorCodes.invalid_args, `schedule ${sched.id}: no device ${step.device}`);
        const actions = this.deps.deviceActions?.(step.device);
        if (actions && !actions.includes(step.action)) {
          throw new AgentError(ErrorCodes.invalid_args, `schedule ${sched.id}: device ${step.device} cannot take ${step.action} (it takes ${actions.join(', ') || 'no step'})`);
        }
      }
      validateCron(sched.cron, this.deps.timezone);
      return sched;
    };
    const now = this.deps.clock.now().toISOString();
    let ids: string[];
    if ('schedule' in change) {
      const s = check(change.schedule);
      schedules.putCounty(s.id, JSON.stringify(s), now);
      ids = [s.id];
    } else if ('delete' in change) {
      if (!schedules.deleteCounty(change.delete)) {
        throw new AgentError(ErrorCodes.not_found, `no county schedule ${change.delete}`);
      }
      ids = [change.delete];
    } else {
      const all = change.replace.map(check);
      const dup = all.find((s, i) => all.findIndex((t) => t.id === s.id) !== i);
      if (dup) throw new AgentError(ErrorCodes.invalid_args, `duplicate schedule id ${dup.id}`);
      const old = schedules.county().map((r) => r.id);
      schedules.replaceCounty(all.map((s) => ({ id: s.id, definition: JSON.stringify(s) })), now);
      ids = [...new Set([...old, ...all.map((s) => s.id)])];
    }
    if (this.running) {
      const current = new Map(this.all().map((s) => [s.schedule.id, s.schedule]));
      for (const id of ids) {
        this.jobs.get(id)?.stop();
        this.jobs.delete(id);
        const s = current.get(id);
        if (s) this.arm(s);
      }
    }
    this.deps.changed?.();
    return { ids };
  }

  /** The installed schedules as the inventory lists them (docs/mqtt.md "inventory"). */
  installed(): InstalledSchedules {
    return installedSchedules(this.all());
  }

  private all(): SourcedSchedule[] {
    return allSchedules(this.deps.store, this.deps.schedules, this.invalid);
  }

  private readonly invalid = (id: string): void => this.deps.log.error({ schedule: id }, 'stored county schedule is invalid; ignored');

  private arm(schedule: ScheduleConfig): void {
    if (!schedule.enabled) return;
    try {
      const job = new Cron(schedule.cron, { timezone: this.deps.timezone, mode: '5-part', unref: true }, (self: Cron) => {
        const due = self.currentRun()?.getTime() ?? this.deps.clock.now().getTime();
        this.fire(schedule, due);
      });
      this.jobs.set(schedule.id, job);
    } catch (err) {
      this.deps.log.error({ schedule: schedule.id, err: (err as Error).message }, 'invalid cron; schedule not armed');
    }
  }

  private fire(schedule: ScheduleConfig, dueMs: number): void {
    const lateMs = this.deps.clock.now().getTime() - dueMs;
    if (lateMs > LATE_LIMIT_MS) {
      this.deps.log.warn({ schedule: schedule.id, late_s: Math.round(lateMs / 1000) }, 'schedule run missed; not replayed late');
      return;
    }
    if (this.active.has(schedule.id)) {
      this.deps.log.warn({ schedule: schedule.id }, 'previous run still in progress; this one skipped');
      return;
    }
    this.track(this.runStart(schedule));
  }

  private track(p: Promise<void>): void {
    const q = p.catch((err) => this.deps.log.error({ err }, 'schedule run failed'));
    this.inFlight.add(q);
    void q.finally(() => this.inFlight.delete(q));
  }

  private async runStart(schedule: ScheduleConfig): Promise<void> {
    const runId = ulid();
    const startedAt = this.deps.clock.now().toISOString();
    const run: ActiveRun = { runId, schedule, outcome: {}, endTimer: undefined };
    this.active.set(schedule.id, run);
    this.deps.store.schedules.startRun(runId, schedule.id, startedAt, JSON.stringify({ definition: schedule }));
    const t0 = this.deps.clock.monotonicMs();
    this.deps.log.info({ schedule: schedule.id, run: runId }, 'schedule run starting');
    const steps = await runSteps(schedule.steps, this.stepOptions(schedule));
    run.outcome.start = this.phase(steps);
    this.saveOutcome(runId, schedule, run.outcome, false);
    this.report(schedule, runId, 'start', run.outcome.start);
    if (!this.running) return;
    const remaining = schedule.duration_min * 60_000 - (this.deps.clock.monotonicMs() - t0);
    this.armEnd(run, remaining);
  }

  private armEnd(run: ActiveRun, delayMs: number): void {
    run.endTimer = setTimeout(() => this.track(this.runEnd(run)), Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
  }

  private async runEnd(run: ActiveRun): Promise<void> {
    const { schedule, runId } = run;
    run.endTimer = undefined;
    const steps = await runSteps(schedule.end_steps ?? defaultEndSteps(schedule.steps), this.stepOptions(schedule));
    run.outcome.end = this.phase(steps);
    const finished = !this.abort.signal.aborted;
    this.saveOutcome(runId, schedule, run.outcome, finished);
    this.report(schedule, runId, 'end', run.outcome.end);
    if (finished) this.active.delete(schedule.id);
  }

  /**
   * Runs the agent was stopped in the middle of: their end steps still run at the planned time. If
   * that time passed while the agent was down, the run is closed without touching the devices.
   */
  private resumeUnfinished(): void {
    for (const row of this.deps.store.schedules.unfinishedRuns()) {
      const stored = row.outcome ? (JSON.parse(row.outcome) as RunOutcome & { definition?: ScheduleConfig }) : {};
      const schedule = stored.definition;
      const outcome: RunOutcome = { ...(stored.start ? { start: stored.start } : {}) };
      const endAt = schedule ? Date.parse(row.started_at) + schedule.duration_min * 60_000 : NaN;
      const delay = endAt - this.deps.clock.now().getTime();
      if (schedule && delay > 0 && delay <= schedule.duration_min * 60_000 && !this.active.has(schedule.id)) {
        const run: ActiveRun = { runId: row.id, schedule, outcome, endTimer: undefined };
        this.active.set(schedule.id, run);
        this.armEnd(run, delay);
        this.deps.log.info({ schedule: schedule.id, run: row.id, end_in_s: Math.round(delay / 1000) }, 'resumed a schedule run');
      } else {
        outcome.end = { ok: false, at: this.deps.clock.now().toISOString(), steps: [], note: 'agent was down at the planned end; devices left as they were' };
        this.deps.store.schedules.saveRun(row.id, JSON.stringify(outcome), this.deps.clock.now().toISOString());
      }
    }
  }

  private stepOptions(schedule: ScheduleConfig) {
    return {
      control: this.deps.control,
      monotonicMs: () => this.deps.clock.monotonicMs(),
      beforePowerOn: () => this.deps.noteTrigger?.(`schedule:${schedule.id}`),
      signal: this.abort.signal,
    };
  }

  private phase(steps: StepOutcome[]): PhaseOutcome {
    return { ok: steps.every((s) => s.status === 'ok'), at: this.deps.clock.now().toISOString(), steps };
  }

  private saveOutcome(runId: string, schedule: ScheduleConfig, outcome: RunOutcome, finished: boolean): void {
    this.deps.store.schedules.saveRun(
      runId,
      JSON.stringify(finished ? outcome : { ...outcome, definition: schedule }),
      finished ? this.deps.clock.now().toISOString() : null,
    );
  }

  private report(schedule: ScheduleConfig, runId: string, phase: 'start' | 'end', outcome: PhaseOutcome): void {
    const failed = outcome.steps.filter((s) => s.status !== 'ok').length;
    this.deps.events.append({
      type: 'schedule_run',
      severity: outcome.ok ? 'info' : 'warning',
      message: `schedule ${schedule.id} ${phase}: ${outcome.steps.length - failed}/${outcome.steps.length} steps ok`,
      data: { schedule_id: schedule.id, run_id: runId, phase, ok: outcome.ok, steps: outcome.steps },
    });
  }
}

