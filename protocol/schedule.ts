/**
 * A viewing schedule (播放计划): the same shape in a station's config file and in the county's
 * `schedule.set` push (docs/design.md, docs/mqtt.md). Ids are the config's ids.
 */
import { z } from 'zod';

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const Id = z.string().regex(ID_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,63}$ (lower case, digits, _ and -)');

export const MAX_STEPS = 32;

export const STEP_ACTIONS = ['power', 'input', 'mute', 'volume', 'brightness', 'blank'] as const;
export type StepAction = (typeof STEP_ACTIONS)[number];
export type StepValue = string | number | boolean;

/** What a step of each action may carry: the one rule for config files, `schedule.set` and the console. */
export const STEP_VALUE_RULES: Record<StepAction, string> = {
  power: 'on, off or toggle',
  mute: 'on or off',
  blank: 'on or off',
  volume: 'a whole number 0-100',
  brightness: 'a whole number 0-100',
  input: 'an input code (letters, digits and . : _ -, at most 32)',
};

/** An input code as drivers take them (PJLink `31`, ESC/VP21 `30`, NEC `0x1A` …): no spaces, no words. */
const INPUT_CODE = /^[A-Za-z0-9._:-]{1,32}$/;
const isOnOff = (v: StepValue): boolean => v === 'on' || v === 'off' || typeof v === 'boolean';

/**
 * Whether `value` is one `action` can take. A value a device cannot take (`开` for on, `loud` for a
 * volume) is refused where it enters, never accepted and found out at class time.
 */
export function stepValueFits(action: StepAction, value: StepValue): boolean {
  switch (action) {
    case 'power':
      return value === 'toggle' || isOnOff(value);
    case 'mute':
    case 'blank':
      return isOnOff(value);
    case 'volume':
    case 'brightness': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : NaN;
      return Number.isInteger(n) && n >= 0 && n <= 100;
    }
    case 'input':
      return (typeof value === 'string' && INPUT_CODE.test(value)) || (typeof value === 'number' && Number.isInteger(value) && value >= 0);
  }
}

export const StepSchema = z
  .object({
    device: Id,
    action: z.enum(STEP_ACTIONS),
    value: z.union([z.string().max(64), z.number(), z.boolean()]),
    /** Wait until the device reports this power state before the next step (e.g. projector `on`). */
    wait_for: z.enum(['on', 'off']).optional(),
    timeout_s: z.number().positive().max(900).default(120),
  })
  .strict()
  .superRefine((step, ctx) => {
    if (!stepValueFits(step.action, step.value)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${step.action} takes ${STEP_VALUE_RULES[step.action]}, not ${JSON.stringify(step.value)}` });
    }
  });
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
