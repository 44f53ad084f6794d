/**
 * Time for the agent. Village PCs often boot with a wrong clock, so every record says whether the clock
 * was synchronised; durations come from the monotonic clock, never from wall-clock differences.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

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

/** A wall-clock step this large (relative to monotonic time) is a jump, not drift or NTP slewing. */
export const CLOCK_JUMP_THRESHOLD_MS = 2000;

export interface ClockObservation {
  wallMs: number;
  monoMs: number;
  synced: boolean;
}

export const observe = (clock: Clock): ClockObservation => ({
  wallMs: clock.now().getTime(),
  monoMs: clock.monotonicMs(),
  synced: clock.quality() === 'synced',
});

/**
 * How far the wall clock moved beyond what monotonic time explains between two observations
 * (positive: it jumped forward). Zero when within the threshold.
 */
export function wallJumpMs(prev: ClockObservation, cur: ClockObservation, thresholdMs = CLOCK_JUMP_THRESHOLD_MS): number {
  const skew = cur.wallMs - prev.wallMs - (cur.monoMs - prev.monoMs);
  return Math.abs(skew) >= thresholdMs ? skew : 0;
}

/** Compares each observation with the previous one; each consumer keeps its own detector. */
export class ClockJumpDetector {
  private last: ClockObservation | undefined;
  constructor(private readonly clock: Clock, private readonly thresholdMs = CLOCK_JUMP_THRESHOLD_MS) {}

  /** The jump since the previous call (0 for none), and the observation it was measured at. */
  check(): { jump_ms: number; at: ClockObservation } {
    const at = observe(this.clock);
    const jump = this.last ? wallJumpMs(this.last, at, this.thresholdMs) : 0;
    this.last = at;
    return { jump_ms: jump, at };
  }
}

export interface SystemClockOptions {
  /** systemd-timesyncd creates this file once it has synchronised (systemd ≥ 239). */
  syncFlagFile?: string;
  /** How long a `timedatectl` answer is trusted before it is asked again. */
  refreshMs?: number;
  /** Injected for tests; default runs `timedatectl show -p NTPSynchronized --value` (no shell). */
  probe?: () => Promise<boolean | undefined>;
}

const TIMESYNC_FLAG = '/run/systemd/timesync/synchronized';

function timedatectlProbe(): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    // NTPSynchronized mirrors the kernel's adjtimex STA_UNSYNC flag, so it is right for chrony and
    // ntpd as well as timesyncd.
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      const v = stdout.trim();
      resolve(v === 'yes' ? true : v === 'no' ? false : undefined);
    });
  });
}

/**
 * The real clock. `quality()` is called for every record, so it never spawns a process itself: it
 * checks timesyncd's flag file (one stat) and otherwise answers from a cached `timedatectl` result that
 * is refreshed in the background at most every `refreshMs`.
 */
export function systemClock(options: SystemClockOptions = {}): Clock {
  const flag = options.syncFlagFile ?? TIMESYNC_FLAG;
  const refreshMs = options.refreshMs ?? 5 * 60_000;
  const probe = options.probe ?? timedatectlProbe;
  let cached: boolean | undefined;
  let checkedAt = -Infinity;
  let inFlight = false;

  const refresh = (): void => {
    if (inFlight || performance.now() - checkedAt < refreshMs) return;
    inFlight = true;
    checkedAt = performance.now();
    probe()
      .then((v) => {
        cached = v;
      })
      .catch(() => {
        cached = undefined;
      })
      .finally(() => {
        inFlight = false;
      });
  };
  refresh();

  return {
    now: () => new Date(),
    monotonicMs: () => performance.now(),
    quality: () => {
      if (existsSync(flag)) return 'synced';
      refresh();
      return cached === true ? 'synced' : 'unsynced';
    },
  };
}
