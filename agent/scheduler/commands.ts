/**
 * Schedule commands on the one registry: `schedule.list` (upcoming runs and last outcomes, for
 * stationctl schedule and the county), `schedule.run` (run one now) and `schedule.set` (the county pushes, replaces or deletes its
 * schedules; validated, persisted, re-armed at once).
 */
import { z } from 'zod';
import { ID_PATTERN, ScheduleSetArgs } from '../../protocol/schedule.js';
import type { CommandRegistry } from '../commands.js';
import type { Scheduler } from './scheduler.js';

export function registerScheduleCommands(registry: CommandRegistry, scheduler: Scheduler): void {
  registry.register({
    name: 'schedule.list',
    description: 'schedules with their next runs and the last run outcome',
    readOnly: true,
    args: z.object({}).strict(),
    handler: () => scheduler.list(),
  });
  registry.register({
    name: 'schedule.run',
    description: 'run a schedule now (trial run / make-up class); duration_min for this run only',
    readOnly: false,
    args: z.object({ id: z.string().regex(ID_PATTERN), duration_min: z.number().positive().max(24 * 60).optional() }).strict(),
    handler: (args) => scheduler.runNow(args.id, args.duration_min),
  });
  registry.register({
    name: 'schedule.set',
    description: 'add or replace a county schedule ({schedule}), delete one ({delete: id}) or replace all county schedules ({replace: [...]})',
    readOnly: false,
    args: ScheduleSetArgs,
    handler: (args) => scheduler.set(args),
  });
}
