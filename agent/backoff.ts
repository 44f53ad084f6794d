/**
 * The one retry delay of the agent: capped exponential backoff with jitter, so 250 stations that lost a
 * broker or a county's power together never retry in lockstep.
 * - `full`: uniform over [0, bound] (never below min(100 ms, bound), so a peer refusing instantly is not
 *   hammered). The county link uses it: a fleet spreads its reconnects over the whole window.
 * - `equal`: half fixed, half random. The device supervisor uses it: a device is retried no sooner than
 *   half the bound.
 * The bound is `baseMs × 2^attempt`, capped at `maxMs`.
 */
export interface Backoff {
  baseMs: number;
  maxMs: number;
  jitter: 'full' | 'equal';
}

export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const bound = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  if (backoff.jitter === 'equal') return Math.round(bound / 2 + (random() * bound) / 2);
  return Math.max(Math.min(100, bound), Math.round(random() * bound));
}
