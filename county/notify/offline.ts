/**
 * When a station's link is worth a message. This is the console's visit rule for a station that is
 * not heard from, in one place so the messages and the console's list agree: a station is offline for
 * a visit when the broker reported it gone (its Last Will) or nothing came from it (silent: no
 * heartbeat, no status) for longer than the threshold, and its last status is not a clean stop (reason
 * `agent_stop`: the PC was shut down properly, 已关机, which is no news). It is back online when it says
 * so and is heard from again. Pure: the notifier reads the facts, this judges them.
 */

/** What the rule reads of a station (NotifyStationRow): the collector's clock for every time. */
export interface LinkFacts {
  online: boolean | null;
  status_at: string | null;
  status_reason: string | null;
  heartbeat_at: string | null;
}

/**
 * `offline`: a visit, since `sinceMs`; `online`: heard from within the threshold; `neither`: nothing
 * to say (a clean stop, offline for less than the threshold, never heard from).
 */
export type LinkVerdict = { state: 'offline'; sinceMs: number } | { state: 'online' } | { state: 'neither' };

/** The status reason of a clean stop (protocol/payloads.ts StatusWillSchema). */
export const CLEAN_STOP = 'agent_stop';

const ms = (iso: string | null): number => (iso === null ? Number.NaN : Date.parse(iso));

export function linkVerdict(s: LinkFacts, nowMs: number, thresholdS: number): LinkVerdict {
  const limit = thresholdS * 1000;
  if (s.online === false) {
    if (s.status_reason === CLEAN_STOP) return { state: 'neither' };
    const since = ms(s.status_at);
    return Number.isFinite(since) && nowMs - since > limit ? { state: 'offline', sinceMs: since } : { state: 'neither' };
  }
  if (s.online !== true) return { state: 'neither' };
  // Online by its last status: silent when neither a heartbeat nor a status came for longer than the threshold.
  const life = Math.max(...[ms(s.heartbeat_at), ms(s.status_at)].filter(Number.isFinite));
  if (!Number.isFinite(life)) return { state: 'neither' };
  return nowMs - life > limit ? { state: 'offline', sinceMs: life } : { state: 'online' };
}
