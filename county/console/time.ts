/**
 * Times as a county clerk reads them: in the station's (or the county's) time zone, `2026-11-03 20:15`,
 * never raw UTC ISO (agent/time-zone.ts, whose formatters are cached: a fleet page formats tens of
 * thousands of times).
 */
import { isTimeZone, wallTime } from '../../protocol/time-zone.js';

/** True when `tz` is a time zone this Node knows (an unknown one would throw at format time). Cached. */
export { isTimeZone };

/** `YYYY-MM-DD HH:mm` (or with `:ss`) in `timeZone`; '' for a missing or unparsable time. */
export function localTime(iso: string | number | null | undefined, timeZone: string, seconds = false): string {
  if (iso === null || iso === undefined) return '';
  const ms = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  return wallTime(ms, isTimeZone(timeZone) ? timeZone : 'Asia/Shanghai', seconds);
}

/** The calendar month (`YYYY-MM`) of instant `ms` in `timeZone`. */
export function localMonth(ms: number, timeZone: string): string {
  return localTime(ms, timeZone).slice(0, 7);
}

/** An age in whole units, largest first: {n, unit} for the catalogue's `age.*` keys. */
export function ageParts(seconds: number): { n: number; unit: 's' | 'min' | 'h' | 'd' } {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return { n: s, unit: 's' };
  if (s < 3600) return { n: Math.floor(s / 60), unit: 'min' };
  if (s < 86_400) return { n: Math.floor(s / 3600), unit: 'h' };
  return { n: Math.floor(s / 86_400), unit: 'd' };
}
