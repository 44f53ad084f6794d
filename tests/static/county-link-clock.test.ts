/**
 * The county link takes its time from the injected clock (agent/clock.ts), so a test (or a station whose
 * wall clock is stepped by NTP) controls every duration it measures: the replay pace, the ack timeout,
 * the half-open watchdog, the backoff reset. Formatting a given instant (`new Date(ms)`) is fine;
 * reading the clock behind the injected one's back is not. Timers may stay setTimeout.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const DIR = resolve(import.meta.dirname, '..', '..', 'agent', 'county');
/** Reads of the wall or monotonic clock: Date.now(), new Date() without an argument, performance.now(). */
const CLOCK_READ = /\bDate\.now\s*\(|\bnew Date\s*\(\s*\)|\bperformance\.now\s*\(/;

describe('agent/county/', () => {
  it('reads time only from the injected clock', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.flatMap((f) =>
      readFileSync(join(DIR, f), 'utf8')
        .split('\n')
        .flatMap((line, i) => (CLOCK_READ.test(line.replace(/\/\/.*$/, '')) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offenders).toEqual([]);
  });
});
