/**
 * One command registry serves the control socket (stationctl) and the county's MQTT requests.
 * Each command has a zod schema for its arguments; the same `{code, message}` error reaches both.
 */
import type { z } from 'zod';
import { AgentError, ErrorCodes, toAgentError } from '../protocol/errors.js';
import { formatIssues } from '../config/issues.js';

export type CommandSource = 'socket' | 'county' | 'schedule' | 'internal';


export interface CommandContext {
  source: CommandSource;
  /** The county transaction or socket request id, for logs. */
  transaction?: string;
}

export interface CommandDefinition<S extends z.ZodType = z.ZodType> {
  /** e.g. `status`, `device.power`, `schedule.set`. */
  name: string;
  description: string;
  args: S;
  /** Read-only commands are safe to allow broadly; the county still needs them in allowed_commands. */
  readOnly: boolean;
  handler(args: z.infer<S>, ctx: CommandContext): Promise<unknown> | unknown;
}

export type CommandResult = { status: 'ok'; data: unknown } | { status: 'error'; error: { code: string; message: string } };

export class CommandRegistry {
  private readonly commands = new Map<string, CommandDefinition>();

  register<S extends z.ZodType>(def: CommandDefinition<S>): void {
    if (this.commands.has(def.name)) throw new Error(`command ${def.name} registered twice`);
    this.commands.set(def.name, def as unknown as CommandDefinition);
  }

  has(name: string): boolean {
    return this.commands.has(name);
  }

  list(): CommandDefinition[] {
    return [...this.commands.values()];
  }

  /** Validates and runs a command; never throws. */
  async invoke(name: string, rawArgs: unknown, ctx: CommandContext): Promise<CommandResult> {
    const def = this.commands.get(name);
    if (!def) return { status: 'error', error: { code: ErrorCodes.not_found, message: `unknown command ${name}` } };
    const parsed = def.args.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      return {
        status: 'error',
        error: { code: ErrorCodes.invalid_args, message: formatIssues(parsed.error.issues, ['args']).join('; ') },
      };
    }
    try {
      const data = await def.handler(parsed.data, ctx);
      return { status: 'ok', data: data ?? null };
    } catch (err) {
      const e = err instanceof AgentError ? err : toAgentError(err);
      return { status: 'error', error: e.toJSON() };
    }
  }
}
