/**
 * The visit rule (今日需上门): for one station at one moment, the state it is in and what, if anything,
 * needs a technician on site, and why. One rule for the fleet and station pages, the lifecycle of visit
 * items (visit-lifecycle.ts) and the group notifications (county/notify/). Pure: no store, no clock of
 * its own, no I/O.
 *
 * Inputs: a VisitStation (a FleetRow of ConsoleStore.fleet() has every field), the moment (`nowMs`), the
 * VisitRules, and the county's time zone for a station whose own is unknown. Output: a VisitJudgement.
 *
 * - A station whose last status is a clean stop (`reason: agent_stop`: the PC was switched off) is
 *   `shutdown` (已关机): no visit.
 * - A lost connection — a Last Will (`offline`), or an online station without a heartbeat for
 *   `silentAfterS` (`silent`) — is a visit once it has lasted `offlineAfterS` inside the station's current
 *   open stretch (its declared opening hours; a station that declares none is open at all times). Outside
 *   opening hours, or before the threshold, it is `pending`: present, but not (yet) a visit.
 * - A device fault, a lamp near its limit, `outboxWarn` records or more not delivered, and a failed
 *   scheduled class (the latest run of a schedule failed at its start or its end) are visits at once; a
 *   failed class older than `classFailedWithinS` is pending (an old failure found in the history is no
 *   new errand).
 * - An online station with a projector, LED display or amplifier on or warming is `in_class` (上课中).
 */
import { openSince, type OpeningHours } from '../protocol/opening-hours.js';
import { isTimeZone } from '../protocol/time-zone.js';

export interface VisitRules {
  /** A lost connection needs a visit once it has lasted this long within opening hours (config `visits.offline_after_s`). */
  offlineAfterS: number;
  /** An online station without a heartbeat for this long is `silent`: its connection is taken as lost since its last heartbeat. */
  silentAfterS: number;
  /** This many undelivered records (the heartbeat's outbox depth) means the link needs a look. */
  outboxWarn: number;
  /** A failed class older than this opens no visit (one already open stays open). */
  classFailedWithinS: number;
}

/** `visits.offline_after_s`: its default and its bounds (10 s is for tests; a week is the most that means anything). */
export const OFFLINE_AFTER_S = { default: 900, min: 10, max: 7 * 86_400 } as const;

export const DEFAULT_VISIT_RULES: VisitRules = { offlineAfterS: OFFLINE_AFTER_S.default, silentAfterS: 15 * 60, outboxWarn: 100, classFailedWithinS: 7 * 86_400 };

/** Device kinds that count as use by default (docs/design.md §6): one of them on means a class is on. */
export const USE_KINDS: readonly string[] = ['projector', 'led_display', 'amplifier'];

export interface DeviceFault {
  code: string;
  severity: string;
  text: string;
}

/** The latest run of one schedule that failed (visit-store.ts ClassRun has these fields). */
export interface FailedClassRun {
  schedule_id: string;
  run_id: string;
  ts: string;
  start_ok: boolean | null;
  start_done: number | null;
  start_total: number | null;
  end_ok: boolean | null;
  end_done: number | null;
  end_total: number | null;
}

/** What the rule reads of a station. */
export interface VisitStation {
  station_id: string;
  /** IANA zone of the station (its inventory); unknown or null: the county's. */
  timezone: string | null;
  /** From the latest status: true online, false offline, null never told. */
  online: boolean | null;
  /** `agent_stop` when the latest offline status was the agent's clean stop; null for a Last Will. */
  status_reason: string | null;
  /** When the county received the latest status (ISO): for a Will, when the connection was lost. */
  status_at: string | null;
  /** When the latest heartbeat arrived (ISO, county clock). */
  heartbeat_at: string | null;
  outbox_depth: number | null;
  opening_hours: OpeningHours | null;
  /** Devices whose latest state carries errors (`errors_more`: faults beyond those read). */
  faults: ReadonlyArray<{ device_id: string; errors: readonly DeviceFault[]; errors_more?: number }>;
  lamp_warnings: ReadonlyArray<{ device: string | null; lamp_hours: number | null }>;
  /** The latest run of each schedule, where its start or end failed. */
  failed_classes: readonly FailedClassRun[];
  /** Devices switched on or warming (online). */
  active_devices: ReadonlyArray<{ device_id: string; kind: string | null }>;
}

export type StationState = 'online' | 'in_class' | 'offline' | 'shutdown' | 'silent' | 'unknown';

/**
 * Why a visit is needed. `key` names the cause across passes (one visit item per station and key);
 * `pending`: the cause is there but is not (yet) a reason to go (keeps an open item open, opens none).
 */
export type VisitCause =
  | { kind: 'offline'; key: 'link'; pending: boolean; lost_at: string | null; lost_s: number | null }
  | { kind: 'silent'; key: 'link'; pending: boolean; lost_at: string; lost_s: number }
  | { kind: 'never'; key: 'link'; pending: boolean }
  | { kind: 'fault'; key: string; pending: false; device: string; errors: DeviceFault[]; unread: number }
  | { kind: 'lamp'; key: string; pending: false; device: string | null; hours: number | null }
  | { kind: 'outbox'; key: 'outbox'; pending: false; n: number }
  | { kind: 'class_failed'; key: string; pending: boolean; schedule: string; run: string; ts: string; phase: 'start' | 'end'; done: number | null; total: number | null };

export type VisitCauseKind = VisitCause['kind'];

export interface VisitJudgement {
  station_id: string;
  state: StationState;
  /** Seconds since the last heartbeat arrived; null when none has. */
  age_s: number | null;
  /** Open now by its declared hours (always true without any). */
  open: boolean;
  /** Every cause present, pending or not, most urgent first. */
  causes: VisitCause[];
}

/** Most urgent first: no contact, then a class that did not happen, faults, lamps, undelivered records. */
export const URGENCY: Record<VisitCauseKind, number> = { never: 0, offline: 0, silent: 1, class_failed: 2, fault: 3, lamp: 4, outbox: 5 };

const secondsSince = (iso: string | null, nowMs: number): number | null => {
  const ms = iso === null ? NaN : Date.parse(iso);
  return Number.isFinite(ms) ? Math.max(0, (nowMs - ms) / 1000) : null;
};

export function judgeStation(s: VisitStation, nowMs: number, rules: VisitRules = DEFAULT_VISIT_RULES, countyTz = 'Asia/Shanghai'): VisitJudgement {
  const tz = s.timezone !== null && isTimeZone(s.timezone) ? s.timezone : countyTz;
  const since = openSince(s.opening_hours, nowMs, tz);
  const open = since !== null;
  /** A connection lost `lostS` ago is a visit once it has lasted the threshold inside the current open stretch. */
  const due = (lostS: number | null): boolean => open && lostS !== null && Math.min(lostS, (nowMs - since) / 1000) >= rules.offlineAfterS;
  const age_s = secondsSince(s.heartbeat_at, nowMs);
  const causes: VisitCause[] = [];
  let state: StationState;
  if (s.online === false) {
    if (s.status_reason === 'agent_stop') state = 'shutdown';
    else {
      state = 'offline';
      const lost_at = s.status_at ?? s.heartbeat_at;
      const lost_s = secondsSince(lost_at, nowMs);
      causes.push({ kind: 'offline', key: 'link', pending: lost_s === null ? !open : !due(lost_s), lost_at, lost_s });
    }
  } else if (age_s === null) {
    state = s.online === true ? 'online' : 'unknown';
    if (state === 'unknown') causes.push({ kind: 'never', key: 'link', pending: !open });
  } else if (age_s > rules.silentAfterS) {
    state = 'silent';
    causes.push({ kind: 'silent', key: 'link', pending: !due(age_s), lost_at: s.heartbeat_at!, lost_s: age_s });
  } else state = s.active_devices.some((d) => USE_KINDS.includes(d.kind ?? '')) ? 'in_class' : 'online';

  for (const c of s.failed_classes) {
    const phase = c.start_ok === false ? 'start' : 'end';
    const old = secondsSince(c.ts, nowMs);
    causes.push({
      kind: 'class_failed',
      key: `class:${c.schedule_id}`,
      pending: old !== null && old > rules.classFailedWithinS,
      schedule: c.schedule_id,
      run: c.run_id,
      ts: c.ts,
      phase,
      done: phase === 'start' ? c.start_done : c.end_done,
      total: phase === 'start' ? c.start_total : c.end_total,
    });
  }
  for (const d of s.faults) causes.push({ kind: 'fault', key: `fault:${d.device_id}`, pending: false, device: d.device_id, errors: [...d.errors], unread: d.errors_more ?? 0 });
  for (const l of s.lamp_warnings) causes.push({ kind: 'lamp', key: `lamp:${l.device ?? ''}`, pending: false, device: l.device, hours: l.lamp_hours });
  if ((s.outbox_depth ?? 0) >= rules.outboxWarn) causes.push({ kind: 'outbox', key: 'outbox', pending: false, n: s.outbox_depth! });
  causes.sort((a, b) => URGENCY[a.kind] - URGENCY[b.kind]);
  return { station_id: s.station_id, state, age_s, open, causes };
}

/** True when something present is a reason to go now. */
export const needsVisit = (j: Pick<VisitJudgement, 'causes'>): boolean => j.causes.some((c) => !c.pending);

/** The causes that are a reason to go now. */
export const dueCauses = (j: Pick<VisitJudgement, 'causes'>): VisitCause[] => j.causes.filter((c) => !c.pending);
