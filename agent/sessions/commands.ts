/**
 * Session commands on the one registry (stationctl and county requests): `sessions.list`,
 * `session.note`. Read-only listing also works without the daemon via `querySessions`.
 */
import { z } from 'zod';
import type { CommandRegistry } from '../commands.js';
import { AnnotationSchema } from '../../protocol/usage-record.js';
import { toCsv } from './query.js';
import type { SessionTracker } from './tracker.js';

const Bound = z.string().min(10).max(40).optional();

export function registerSessionCommands(registry: CommandRegistry, tracker: SessionTracker, timezone: string): void {
  registry.register({
    name: 'sessions.list',
    description: 'closed usage sessions started in a period (since/until: YYYY-MM-DD station days or ISO times); format csv for the hand-in',
    readOnly: true,
    args: z
      .object({ since: Bound, until: Bound, format: z.enum(['json', 'csv']).default('json'), lang: z.enum(['zh', 'en']).default('en') })
      .strict(),
    handler: (args) => {
      const records = tracker.list({ since: args.since, until: args.until });
      return args.format === 'csv' ? { csv: toCsv(records, args.lang, timezone) } : records;
    },
  });
  registry.register({
    name: 'session.note',
    description: 'record what a usage session was about (topic, attendees, organiser, note)',
    readOnly: false,
    args: AnnotationSchema.extend({ id: z.string().min(10).max(40) })
      .strict()
      .refine((a) => Object.keys(a).length > 1, 'give at least one of topic, attendees, organiser, note'),
    handler: ({ id, ...annotation }) => tracker.annotate(id, annotation),
  });
}
