/**
 * The notify file (`--notify FILE`): which group robots hear about which towns, and the rules of what is
 * news. Checked like the station config: unknown keys are errors with their key path; the robot's URL
 * (it holds the robot's key) and its signing secret are read from files, never written in this one.
 */
import { z } from 'zod';
import { ROBOT_KINDS } from './robots.js';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM (e.g. 08:00)');
const FAULT_CODE = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a fault or cause code (e.g. lamp, modbus_unit_silent)');

export const NotifyTargetSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower case letters, digits, _ and -'),
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
      ctx.addIssue({ code: 'custom', path: ['secret_file'], message: `${t.kind} robots are set up with 加签/签名校验: give its secret_file` });
    }
  });

export const NotifyRulesSchema = z
  .object({
    /** Offline longer than this (and not shut down cleanly, and within opening hours) is a visit. */
    station_offline_after_s: z.number().int().min(10).max(7 * 86_400).default(1800),
    /** Device faults worth a message, by their stable codes. */
    faults: z.array(FAULT_CODE).max(100).default(['lamp', 'lamp_warning', 'modbus_unit_silent', 'password_rejected', 'disk_low', 'disk_full']),
    /** No messages between these times (county time); what waits goes out when they end. */
    quiet_hours: z.object({ from: HHMM, to: HHMM }).strict().optional(),
    daily_digest: HHMM.default('08:00'),
    monthly: z.object({ day: z.number().int().min(1).max(28).default(20), time: HHMM.default('09:00') }).strict().default({ day: 20, time: '09:00' }),
    /** The console's public address, for links in messages (they open pages that work on a phone). */
    console_url: z.string().url().max(512).optional(),
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
      if (seen.has(t.id)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'id'], message: `target id ${t.id} is used twice` });
      seen.add(t.id);
    });
  });

export type NotifyConfig = z.infer<typeof NotifySchema>;
export type NotifyTarget = z.infer<typeof NotifyTargetSchema>;

/** Whether a target hears a town's news (news without a town goes to the `all` targets only). */
export function hears(target: Pick<NotifyTarget, 'towns'>, town: string | null): boolean {
  return target.towns === 'all' || (town !== null && target.towns.includes(town));
}
