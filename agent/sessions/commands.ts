/**
 * Session commands on the one registry (stationctl and county requests): `sessions.list`,
 * `session.note`. Read-only listing also works without the daemon via `querySessions`.
 */
import { z } from 'zod';
import type { CommandRegistry } from '../commands.js';
import { AnnotationSchema } from '../../protocol/usage-record.js';
import { SessionCursor, toCsv } from './query.js';
import type { SessionTracker } from './tracker.js';

const Bound = z.string().min(10).max(40).optional();

export function registerSessionCommands(registry: CommandRegistry, tracker: SessionTracker, timezone: string): void {
  registry.register({
    name: 'sessions.list',
    description:
      'closed usage sessions started in a period (since/until: YYYY-MM-DD station days or ISO times), in pages of at most 500: `more` holds the args for the next page, null at the end; format csv for the hand-in (the header on the first page only)',
    readOnly: true,
    args: z
      .object({
        since: Bound,
        until: Bound,
        format: z.enum(['json', 'csv']).default('json'),
        lang: z.enum(['zh', 'en']).default('en'),
        after: z.string().max(60).regex(SessionCursor, 'a page cursor from sessions.list (more.after)').optional(),
      })
      .strict(),
    handler: (args) => {
      const page = tracker.listPage({ since: args.since, until: args.until, after: args.after });
      return args.format === 'csv' ? { csv: toCsv(page.sessions, args.lang, timezone, args.after === undefined), more: page.more } : page;
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
