/**
 * Cron patterns of `schedules[]` (five fields, in the station's time zone, croner). Validation lives
 * with the config so the loader needs nothing from the scheduler; the scheduler and stationctl's
 * read-only listing share `nextRuns`.
 */
import { Cron } from 'croner';
import { AgentError, ErrorCodes } from './errors.js';

const OPTIONS = { paused: true, mode: '5-part' } as const;

/** Checks a five-field cron pattern in a time zone; throws a readable error. */
export function validateCron(pattern: string, timezone: string): void {
  try {
    const job = new Cron(pattern, { ...OPTIONS, timezone });
    const next = job.nextRun();
    job.stop();
    if (!next) throw new Error('never fires');
  } catch (err) {
    throw new AgentError(ErrorCodes.invalid_args, `cron ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

/** The next `count` fire times after `from` as ISO strings; [] for a pattern that does not parse. */
export function nextRuns(pattern: string, timezone: string, from: Date, count = 3): string[] {
  try {
    const job = new Cron(pattern, { ...OPTIONS, timezone });
    const runs = job.nextRuns(count, from).map((d) => d.toISOString());
    job.stop();
    return runs;
  } catch {
    return [];
  }
}
