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

/** Zones on Beijing time (China Standard Time), which a clerk calls 北京时间. */
const BEIJING = new Set(['Asia/Shanghai', 'Asia/Chongqing', 'Asia/Chungking', 'Asia/Harbin', 'PRC']);
const zoneNames = new Map<string, string>();

/**
 * A time zone in words, never its IANA name: Beijing time as `beijing` (the catalogue's 北京时间), any
 * other by the name the reader's language gives it (乌鲁木齐时间, Central European Time). An unknown zone
 * is returned as it is (it cannot be named).
 */
export function zoneWords(beijing: string, lang: 'zh' | 'en', tz: string): string {
  if (BEIJING.has(tz)) return beijing;
  if (!isTimeZone(tz)) return tz;
  const key = `${lang} ${tz}`;
  let name = zoneNames.get(key);
  if (name === undefined) {
    const part = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en', { timeZone: tz, timeZoneName: 'longGeneric' }).formatToParts(0).find((p) => p.type === 'timeZoneName');
    name = part?.value ?? tz;
    zoneNames.set(key, name);
  }
  return name;
}
