/**
 * A station's declared opening hours (开放时间): when it is expected to be up, in the station's own time
 * zone. Declared in the station config (`station.opening_hours`), sent to the county in the inventory
 * (`station.opening_hours`), and read by the county's visit rule (county/visits.ts): a lost connection
 * outside these hours is not a reason to visit. A station that declares none is open at all times.
 *
 *   opening_hours:
 *     - { days: [mon, tue, wed, thu, fri], from: "08:00", to: "12:00" }
 *     - { days: [sat], from: "19:00", to: "02:00" }     # to before from: ends the next day, Sunday 02:00
 *
 * Pure: zod and the station-time arithmetic of time-zone.ts, no I/O.
 */
import { z } from 'zod';
import { zoneOffsetMs } from './time-zone.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** Ranges of one station: four a day for a week is already more than any station posts on its door. */
export const MAX_OPENING_RANGES = 28;

const WEEK_MIN = 7 * 1440;
const START = /^([01]\d|2[0-3]):([0-5]\d)$/;
const END = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;

/** `HH:MM` as minutes after midnight (24:00 is 1440). */
const minutes = (hhmm: string): number => {
  const m = END.exec(hhmm)!;
  return Number(m[1] ?? m[3]) * 60 + Number(m[2] ?? m[4]);
};

export const OpeningRangeSchema = z
  .object({
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .max(7)
      .refine((d) => new Set(d).size === d.length, 'a day is named twice')
      .describe('the days the range starts on (mon … sun)'),
    from: z.string().regex(START, 'a time HH:MM from 00:00 to 23:59, e.g. "08:00"').describe('opening time, station time, HH:MM'),
    to: z
      .string()
      .regex(END, 'a time HH:MM from 00:00 to 24:00, e.g. "21:30"')
      .describe('closing time, HH:MM; earlier than `from` when the range ends the next day (19:00–02:00); 24:00 is midnight'),
  })
  .strict()
  .refine((r) => !START.test(r.from) || !START.test(r.to) || minutes(r.from) !== minutes(r.to), {
    message: 'from and to are the same time: for a whole day write from "00:00" to "24:00"',
    path: ['to'],
  });
export type OpeningRange = z.infer<typeof OpeningRangeSchema>;

export const OpeningHoursSchema = z
  .array(OpeningRangeSchema)
  .min(1, 'list at least one range, or leave opening_hours out (open at all times)')
  .max(MAX_OPENING_RANGES)
  .describe("when the station is expected to be up, in the station's time zone; absent = at all times");
export type OpeningHours = z.infer<typeof OpeningHoursSchema>;

/** [start, end) in minutes of the week (Monday 00:00 = 0), merged, sorted, within [0, WEEK_MIN]. */
export function weekIntervals(hours: OpeningHours): Array<[number, number]> {
  const raw: Array<[number, number]> = [];
  for (const r of hours) {
    const from = minutes(r.from);
    let to = minutes(r.to);
    if (to <= from) to += 1440;
    for (const d of r.days) {
      const s = WEEKDAYS.indexOf(d) * 1440 + from;
      const e = s + (to - from);
      if (e <= WEEK_MIN) raw.push([s, e]);
      else raw.push([s, WEEK_MIN], [0, e - WEEK_MIN]);
    }
  }
  raw.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of raw) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** The instant's minute of the week in `timeZone` (Monday 00:00 = 0), with fractions. */
export function weekMinute(ms: number, timeZone: string): number {
  const local = new Date(ms + zoneOffsetMs(ms, timeZone));
  const day = (local.getUTCDay() + 6) % 7;
  return day * 1440 + local.getUTCHours() * 60 + local.getUTCMinutes() + (local.getUTCSeconds() * 1000 + local.getUTCMilliseconds()) / 60_000;
}

/**
 * When the open stretch holding `ms` began (epoch ms): the start of its range, or of the range before it
 * when they touch (a Saturday evening running past midnight into a Sunday range). `-Infinity` when the
 * station is open at all times (no hours declared, or ranges that cover the whole week); `null` when it
 * is closed at `ms`.
 */
export function openSince(hours: OpeningHours | null | undefined, ms: number, timeZone: string): number | null {
  if (!hours || hours.length === 0) return -Infinity;
  const iv = weekIntervals(hours);
  if (iv.length === 1 && iv[0]![0] === 0 && iv[0]![1] === WEEK_MIN) return -Infinity;
  const wm = weekMinute(ms, timeZone);
  const i = iv.findIndex(([s, e]) => s <= wm && wm < e);
  if (i < 0) return null;
  let start = iv[i]![0];
  // The week is a circle: a stretch open at Monday 00:00 may have begun on Sunday.
  const last = iv[iv.length - 1]!;
  if (start === 0 && last[1] === WEEK_MIN && i !== iv.length - 1) start = last[0] - WEEK_MIN;
  const guess = ms - (wm - start) * 60_000;
  // Local minutes are not always real ones (a DST change inside the stretch): correct by the offsets' difference.
  return guess + (zoneOffsetMs(ms, timeZone) - zoneOffsetMs(guess, timeZone));
}

/** Whether the station is open at `ms` by its declared hours (always, when it declares none). */
export const isOpenAt = (hours: OpeningHours | null | undefined, ms: number, timeZone: string): boolean => openSince(hours, ms, timeZone) !== null;
