/** Dates as a technician types them (`2024-05-01`, `7d`, ISO times) and shows them (station time zone). */
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { localTime, zonedMidnight } from '../../protocol/time-zone.js';

export { localTime, zonedMidnight };

/**
 * `YYYY-MM-DD` (a day in the station's time zone; `endOfDay` for an inclusive --until), `Nd`/`Nh`
 * (that long ago) or an ISO time. Returns an ISO UTC string comparable with the stored times.
 */
export function parseWhen(text: string, timeZone: string, endOfDay = false, now = Date.now()): string {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    return new Date(zonedMidnight(y, m, d + (endOfDay ? 1 : 0), timeZone)).toISOString();
  }
  const rel = /^(\d+)([dh])$/.exec(text);
  if (rel) return new Date(now - Number(rel[1]) * (rel[2] === 'd' ? 86_400_000 : 3_600_000)).toISOString();
  const ms = Date.parse(text);
  if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}T/.test(text)) return new Date(ms).toISOString();
  throw new AgentError(ErrorCodes.invalid_args, `cannot read the date "${text}" (use YYYY-MM-DD, 7d, 12h or an ISO time)`);
}

export function formatDuration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}` : `0:${String(m).padStart(2, '0')}`;
}
