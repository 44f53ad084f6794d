/**
 * The county-side commands: `rebirth`, `sessions.resend`, `diag.run`. They go through the same registry
 * as stationctl's, so the county still needs them in `county.allowed_commands`.
 */
import { z } from 'zod';
import type { CommandRegistry } from '../commands.js';

/** What the commands need of the county link. */
export interface CountyCommandTarget {
  rebirth(): Promise<{ published: number }>;
  resendFrom(fromSeq: number, toSeq?: number): { from_seq: number; to_seq: number; count: number; ledger: string };
  diagnostics(): Promise<Record<string, unknown>>;
}

const ResendArgs = z
  .object({
    from_seq: z.number().int().positive(),
    to_seq: z.number().int().positive().optional(),
  })
  .strict()
  .refine((a) => a.to_seq === undefined || a.to_seq >= a.from_seq, { message: 'to_seq must be >= from_seq', path: ['to_seq'] });

export function registerCountyCommands(registry: CommandRegistry, link: CountyCommandTarget): void {
  registry.register({
    name: 'rebirth',
    description: 'Republish status, inventory and every device state to the county',
    args: z.object({}).strict(),
    readOnly: true,
    handler: () => link.rebirth(),
  });
  registry.register({
    name: 'sessions.resend',
    description: 'Republish stored durable records (usage and events) from from_seq on, marked historical',
    args: ResendArgs,
    readOnly: true,
    handler: (args) => link.resendFrom(args.from_seq, args.to_seq),
  });
  registry.register({
    name: 'diag.run',
    description: 'Host health, device states and outbox summary',
    args: z.object({}).strict(),
    readOnly: true,
    handler: () => link.diagnostics(),
  });
}
