import type { Clock } from './clock.js';

/** Placeholder wiring until the clock-quality detector lands: wall clock + monotonic, sync unknown. */
export function systemClock(): Clock {
  return {
    now: () => new Date(),
    monotonicMs: () => performance.now(),
    quality: () => 'unsynced',
  };
}
