/**
 * Station-time arithmetic (Asia/Shanghai by default): session days, monthly reports, `--since` dates.
 * One implementation for the agent, stationctl and the county collector.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const known = new Map<string, boolean>();

/**
 * True when `tz` is a time zone this runtime knows: an unknown one throws wherever it is used, so a
 * zone from the wire (a station's inventory, a row stored before the county checked) is tested here
 * first. Cached, and bounded: a flood of odd names cannot grow the map.
 */
export function isTimeZone(tz: string): boolean {
  // No IANA name is this long (the longest is 32); a stored string of any size must not become a cache key.
  if (tz.length > 64) return false;
  let ok = known.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      ok = true;
    } catch {
      ok = false;
    }
    if (known.size < 1000) known.set(tz, ok);
  }
  return ok;
}

/** Offset of `timeZone` from UTC at instant `utcMs`, in ms (Asia/Shanghai: +8 h). */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    // Building a formatter costs far more than using one: the collector calls this per record.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/** Midnight of calendar day y-m-d (month 1–12; day may overflow into the next month) in `timeZone`, as epoch ms. */
export function zonedMidnight(y: number, m: number, d: number, timeZone: string): number {
  const guess = Date.UTC(y, m - 1, d);
  // Two passes, so a DST change between the guess and the answer still lands on local midnight.
  const first = guess - zoneOffsetMs(guess, timeZone);
  return guess - zoneOffsetMs(first, timeZone);
}

/**
 * Wall time `YYYY-MM-DD HH:MM:SS` (or `…HH:MM` without `seconds`) of instant `utcMs` in `timeZone`: every
 * time a person reads (stationctl, the hand-in CSV, the county console) is shown this way, never as UTC.
 */
export function wallTime(utcMs: number, timeZone: string, seconds = true): string {
  return new Date(utcMs + zoneOffsetMs(utcMs, timeZone)).toISOString().slice(0, seconds ? 19 : 16).replace('T', ' ');
}

/**
 * `2024-05-01 20:03` (`…:07` with `seconds`) in the station's time zone: every time a person reads from
 * stationctl is shown this way, never as a UTC ISO string.
 */
export function localTime(iso: string | null | undefined, timeZone: string, seconds = false): string {
  if (!iso) return '-';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return wallTime(ms, timeZone, seconds);
}
