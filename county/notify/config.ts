/**
 * The notify file (`--notify FILE`): which group robots hear about which towns, and the rules of what is
 * news. Checked like the station config: unknown keys are errors with their key path; the robot's URL
 * (it holds the robot's key) and its signing secret are read from files, never written in this one.
 */
import { z } from 'zod';
import { isTimeZone } from '../../protocol/time-zone.js';
import { OFFLINE_AFTER_S } from '../visits.js';
import { ROBOT_KINDS } from './robots.js';
import type { Notice } from './messages.js';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, '须为 HH:MM（如 08:00） / a time of day as HH:MM (e.g. 08:00)');

/**
 * The device faults a message can be about, by the stable codes stations send (docs/drivers.md, the
 * words in protocol/words/): the codes of a device's own faults (`device_fault` events), `lamp_warning`
 * for a lamp the projector itself says is near its end, `lamp_hours` / `filter_hours` for the lamp and
 * filter hours past the station's limits, `device_offline` for a device silent longer than its
 * `offline_warn_min` (a relay unit that stopped answering), `auth_failed` for a refused password.
 */
export const NOTIFY_FAULT_CODES = [
  'lamp', 'lamp_warning', 'lamp_hours', 'filter_hours', 'temperature', 'fan', 'cover_open', 'filter', 'power_supply',
  'abnormal_standby', 'power_on_failed', 'projector_failure', 'other', 'no_input_signal', 'cec_unavailable',
  'media_unconfigured', 'stream_stalled', 'media_unreachable', 'ping_missing', 'ping_failed', 'auth_failed',
  'driver_unavailable', 'device_offline',
] as const;
const FAULT_CODE = z.enum(NOTIFY_FAULT_CODES, { message: `不认识的故障代码 / not a fault code stations send (${NOTIFY_FAULT_CODES.join(', ')})` });

export const NotifyTargetSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, '只能含小写字母、数字、_ - / lower case letters, digits, _ and -'),
    kind: z.enum(ROBOT_KINDS),
    url_file: z.string().min(1).max(4096),
    secret_file: z.string().min(1).max(4096).optional(),
    /** The towns whose news this group hears; `all` for every town (the county's own group). */
    towns: z.union([z.literal('all'), z.array(z.string().min(1).max(64)).min(1).max(500)]),
    lang: z.enum(['zh', 'en']).default('zh'),
  })
  .strict()
  .superRefine((t, ctx) => {
    // A robot that signs is only set up safely with its secret: refuse a half-configured one.
    if ((t.kind === 'dingtalk' || t.kind === 'feishu') && t.secret_file === undefined) {
      ctx.addIssue({ code: 'custom', path: ['secret_file'], message: `${t.kind} 机器人须开启加签/签名校验：请给出 secret_file / ${t.kind} robots are set up with 加签/签名校验: give its secret_file` });
    }
  });

export const NotifyRulesSchema = z
  .object({
    /**
     * A station offline (not shut down cleanly) longer than this within its opening hours is told to the
     * groups. Absent: the county's visit threshold (`visits.offline_after_s`), so messages and the
     * console's list agree; given, it wins for these messages only (the list keeps its own).
     */
    station_offline_after_s: z.number().int().min(OFFLINE_AFTER_S.min).max(OFFLINE_AFTER_S.max).optional(),
    /** Device faults worth a message, by their stable codes (NOTIFY_FAULT_CODES). */
    faults: z.array(FAULT_CODE).max(100).default(['lamp', 'lamp_warning', 'lamp_hours', 'power_supply', 'temperature', 'fan', 'auth_failed', 'device_offline']),
    /**
     * A station whose latest heartbeat shows less free space than this (per cent) on the disk holding the
     * agent's data is told once, and again once when it is back at this plus DISK_RECOVER_POINTS; 0: never.
     */
    disk_free_pct_below: z.number().min(0).max(50).default(5),
    /** No messages between these times (county time); what waits goes out when they end. */
    quiet_hours: z.object({ from: HHMM, to: HHMM }).strict().optional(),
    daily_digest: HHMM.default('08:00'),
    monthly: z.object({ day: z.number().int().min(1).max(28).default(20), time: HHMM.default('09:00') }).strict().default({ day: 20, time: '09:00' }),
    /** The county's time zone: quiet hours, the digest's and the month's times, the times in messages. */
    timezone: z.string().max(64).refine(isTimeZone, '未知时区 / unknown time zone').default('Asia/Shanghai'),
    /** The console's public address, for links in messages (they open pages that work on a phone). */
    console_url: z
      .string()
      .max(512)
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, '须为 https://主机[/路径]（不带 ? 与 #） / https://host[/path], without ? or #')
      .optional(),
  })
  .strict();

export const NotifySchema = z
  .object({
    targets: z.array(NotifyTargetSchema).min(1).max(200),
    rules: NotifyRulesSchema.default(NotifyRulesSchema.parse({})),
  })
  .strict()
  .superRefine((n, ctx) => {
    const seen = new Set<string>();
    n.targets.forEach((t, i) => {
      if (seen.has(t.id)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'id'], message: `目标 ${t.id} 重复 / target id ${t.id} is used twice` });
      seen.add(t.id);
    });
  });

export type NotifyConfig = z.infer<typeof NotifySchema>;
export type NotifyTarget = z.infer<typeof NotifyTargetSchema>;
export type NotifyRules = z.infer<typeof NotifyRulesSchema>;

/** Whether a target hears a town's news (news without a town goes to the `all` targets only). */
export function hears(target: Pick<NotifyTarget, 'towns'>, town: string | null): boolean {
  return target.towns === 'all' || (town !== null && target.towns.includes(town));
}

/**
 * Whether a target hears a notice: the news of a town goes to that town's groups and to the county's
 * (`towns: all`); a town's part of news the county's groups get whole (`town_groups_only`: a town's
 * digest, its monthly progress) only to that town's; a test to every target it is meant for.
 */
export function hearsNotice(target: Pick<NotifyTarget, 'towns'>, notice: Pick<Notice, 'kind' | 'town' | 'town_groups_only'>): boolean {
  if (notice.kind === 'test') return true;
  if (notice.town_groups_only) return target.towns !== 'all' && notice.town !== null && target.towns.includes(notice.town);
  return hears(target, notice.town);
}

/** Each notice for every target that hears it. */
export function route<N extends Notice>(targets: ReadonlyArray<Pick<NotifyTarget, 'id' | 'towns'>>, notices: readonly N[]): Array<{ target: string; notice: N }> {
  return notices.flatMap((notice) => targets.filter((t) => hearsNotice(t, notice)).map((t) => ({ target: t.id, notice })));
}
