/**
 * One pass of the visit lifecycle against the store: judge the stations (visits.ts), plan
 * (visit-lifecycle.ts), apply. The console runs it before it shows the fleet or a station, so what it
 * shows is current; the collector runs it on a timer (VisitWatcher), so items open and clear when they
 * should whether anyone is looking or not, and old cleared items are pruned.
 */
import type { Logger } from './log.js';
import type { FleetRow } from './store.js';
import { emptyPlan, planVisits } from './visit-lifecycle.js';
import type { VisitRow, VisitStore } from './visit-store.js';
import { judgeStation, type VisitJudgement, type VisitRules } from './visits.js';

export interface VisitSync {
  /** Each row's judgement, by station id. */
  judgements: Map<string, VisitJudgement>;
  /** The live items after the pass (of the one station when `stationId` was given). */
  visits: VisitRow[];
}

export interface VisitSyncOptions {
  nowMs: number;
  rules: VisitRules;
  /** The zone of stations whose own is unknown. */
  countyTz: string;
  /** `rows` is this one station (the station page): only its items are read. */
  stationId?: string;
}

export async function syncVisits(store: VisitStore, rows: readonly FleetRow[], o: VisitSyncOptions): Promise<VisitSync> {
  const judgements = new Map(rows.map((r) => [r.station_id, judgeStation(r, o.nowMs, o.rules, o.countyTz)]));
  let visits = await store.liveVisits(o.stationId);
  const plan = planVisits([...judgements.values()], visits);
  if (!emptyPlan(plan)) {
    await store.applyVisitPlan(plan, new Date(o.nowMs).toISOString());
    visits = await store.liveVisits(o.stationId);
  }
  return { judgements, visits };
}

/** Cleared items are kept this long (the station page shows their history), then pruned. */
export const VISIT_HISTORY_DAYS = 400;
const PRUNE_EVERY_MS = 86_400_000;

/** The collector's pass on a timer. A pass that fails is logged and tried again at the next tick. */
export class VisitWatcher {
  private running = false;
  private lastPrune = 0;

  constructor(
    private readonly deps: {
      store: VisitStore & { fleet(): Promise<FleetRow[]> };
      rules: VisitRules;
      countyTz: string;
      log: Pick<Logger, 'warn'>;
      now?: () => number;
    },
  ) {}

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const nowMs = (this.deps.now ?? Date.now)();
    try {
      await syncVisits(this.deps.store, await this.deps.store.fleet(), { nowMs, rules: this.deps.rules, countyTz: this.deps.countyTz });
      if (nowMs - this.lastPrune > PRUNE_EVERY_MS) {
        await this.deps.store.pruneVisits(new Date(nowMs - VISIT_HISTORY_DAYS * 86_400_000).toISOString());
        this.lastPrune = nowMs;
      }
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'visit pass failed; trying again at the next tick');
    } finally {
      this.running = false;
    }
  }
}
