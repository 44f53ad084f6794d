/**
 * What a valid config can still get wrong about trust (docs/mqtt.md "Security model"), for
 * `stationctl config check` and `doctor`; the agent logs the first at start from its own registry.
 *
 * - County commands that change the station allowed without `county.command_key_file`: anyone who can
 *   publish to the broker can run them (install an every-minute schedule, which fabricates sessions).
 * - A secret file other users may read or write.
 */
import { statSync } from 'node:fs';
import { configFiles } from './files.js';
import type { Config } from './schema.js';

/**
 * The commands the agent's registry marks read-only (`readOnly: true` where they are registered):
 * allowing them unsigned lets a broker user read and republish, not change anything. A test starts
 * the daemon's registry and keeps this list equal to it; a name not listed counts as a write command.
 */
export const READ_ONLY_COMMANDS: readonly string[] = [
  'db.integrity',
  'devices',
  'devices.diagnose',
  'diag.run',
  'events.list',
  'rebirth',
  'schedule.list',
  'sessions.list',
  'sessions.resend',
  'status',
];

export type ConfigWarning =
  | { code: 'unsigned_commands'; key: 'county.allowed_commands'; commands: string[] }
  | { code: 'secret_file_open'; key: string; file: string; mode: string };

/** Allowed county commands that would run unsigned and are not read-only. */
export function unsignedWriteCommands(config: Config): string[] {
  const county = config.county;
  if (!county || county.command_key_file) return [];
  return county.allowed_commands.filter((name) => !READ_ONLY_COMMANDS.includes(name));
}

/** The warnings of a loaded config (paths resolved). Files that cannot be read are the loader's errors, not warnings. */
export function configWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const commands = unsignedWriteCommands(config);
  if (commands.length > 0) out.push({ code: 'unsigned_commands', key: 'county.allowed_commands', commands });
  for (const { key, file, secret } of configFiles(config)) {
    if (!secret) continue;
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch {
      continue;
    }
    if ((mode & 0o007) !== 0) out.push({ code: 'secret_file_open', key, file, mode: `0${mode.toString(8).padStart(3, '0')}` });
  }
  return out;
}
