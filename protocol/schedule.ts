/**
 * A viewing schedule (播放计划): the same shape in a station's config file and in the county's
 * `schedule.set` push (docs/design.md, docs/mqtt.md). Ids are the config's ids.
 */
import { z } from 'zod';

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const Id = z.string().regex(ID_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,63}$ (lower case, digits, _ and -)');

export const MAX_STEPS = 32;

export const StepSchema = z
  .object({
    device: Id,
    action: z.enum(['power', 'input', 'mute', 'volume', 'brightness', 'blank']),
    value: z.union([z.string(), z.number(), z.boolean()]),
    /** Wait until the device reports this power state before the next step (e.g. projector `on`). */
    wait_for: z.enum(['on', 'off']).optional(),
    timeout_s: z.number().positive().max(900).default(120),
  })
  .strict();
export type ScheduleStep = z.infer<typeof StepSchema>;

export const ScheduleSchema = z
  .object({
    id: Id,
    name: z.string().max(100).optional(),
    /** Five-field cron (minute hour day month weekday) in the station's time zone. */
    cron: z.string().min(9).max(100),
    duration_min: z.number().positive().max(24 * 60),
    enabled: z.boolean().default(true),
    steps: z.array(StepSchema).min(1).max(MAX_STEPS),
    /** Run at the end; default: every device switched on by `steps`, powered off in reverse order. */
    end_steps: z.array(StepSchema).max(MAX_STEPS).optional(),
  })
  .strict();
export type ScheduleConfig = z.infer<typeof ScheduleSchema>;

/** `schedule.set`'s arguments: add or replace one, delete one, or replace all of the county's schedules. */
export const ScheduleSetArgs = z.union([
  z.object({ schedule: ScheduleSchema }).strict(),
  z.object({ delete: z.string().regex(ID_PATTERN) }).strict(),
  z.object({ replace: z.array(ScheduleSchema).max(200) }).strict(),
]);
