/**
 * Time for the agent. Village PCs often boot with a wrong clock, so every record says whether the clock
 * was synchronised; durations come from the monotonic clock, never from wall-clock differences.
 */
export type ClockQuality = 'synced' | 'unsynced' | 'corrected';

export interface Clock {
  /** Wall-clock time. */
  now(): Date;
  /** Monotonic milliseconds (never jumps). */
  monotonicMs(): number;
  /** Whether the system clock is synchronised right now (NTP/chrony/timesyncd). */
  quality(): 'synced' | 'unsynced';
}

export const isoNow = (clock: Clock): string => clock.now().toISOString();
