/**
 * When a station's link is worth a message: the visit rule (county/visits.ts `judgeStation`, the one the
 * console's fleet list and the visit items use) applied to what the store knows of the station's link, so
 * the messages and the console agree. A clean stop (status reason `agent_stop`: the PC was shut down
 * properly, 已关机) is no news; a lost connection (the broker's Last Will, or online but without a
 * heartbeat for the rule's `silentAfterS`) is news once it has lasted the threshold inside the station's
 * opening hours; outside them, or before the threshold, it is not (yet). A station the county never heard
 * a status or heartbeat from has no moment it was lost: it is in the daily digest (the console's list),
 * not told on its own. It is back online when the rule reads it online (or in class) again. Pure: the
 * notifier reads the facts, this judges them.
 */
import { judgeStation, type VisitCause, type VisitRules, type VisitStation } from '../visits.js';

type LostLink = Extract<VisitCause, { kind: 'offline' | 'silent' }>;

/** What the rule reads of a station's link (NotifyStationRow has these): the collector's clock for every time. */
export type LinkFacts = Pick<VisitStation, 'station_id' | 'timezone' | 'online' | 'status_reason' | 'status_at' | 'heartbeat_at' | 'opening_hours'>;

/**
 * `offline`: a visit, the connection lost since `sinceMs`; `online`: online and heard from; `neither`:
 * nothing to say (a clean stop, lost for less than the threshold or outside opening hours, never heard from).
 */
export type LinkVerdict = { state: 'offline'; sinceMs: number } | { state: 'online' } | { state: 'neither' };

/** The status reason of a clean stop (protocol/payloads.ts StatusWillSchema). */
export const CLEAN_STOP = 'agent_stop';

/** `rules.offlineAfterS` is the threshold the notifier uses (notify.ts: the notify file's, else `visits.offline_after_s`). */
export function linkVerdict(s: LinkFacts, nowMs: number, rules: VisitRules, countyTz: string): LinkVerdict {
  const j = judgeStation({ ...s, outbox_depth: null, faults: [], lamp_warnings: [], failed_classes: [], active_devices: [] }, nowMs, rules, countyTz);
  if (j.state === 'online' || j.state === 'in_class') return { state: 'online' };
  const link = j.causes.find((c): c is LostLink => c.kind === 'offline' || c.kind === 'silent');
  if (!link || link.pending) return { state: 'neither' };
  const since = link.lost_at === null ? Number.NaN : Date.parse(link.lost_at);
  return Number.isFinite(since) ? { state: 'offline', sinceMs: since } : { state: 'neither' };
}
