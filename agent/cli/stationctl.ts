#!/usr/bin/env node
/**
 * stationctl [--config F] [--json] [--lang zh|en] <command>. Exit codes: 0 ok, 1 failed check or
 * command, 2 usage error, 3 daemon unreachable.
 */
import { Command, CommanderError } from 'commander';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { ConfigError } from '../../config/errors.js';
import { detectLang } from '../i18n/index.js';
import { hintText } from '../i18n/hints.js';
import { AGENT_VERSION } from '../version.js';
import { CliContext, EXIT, exitCodeFor } from './context.js';
import { registerCoreCommands } from './commands-core.js';
import { registerDoctorCommand } from './commands-doctor.js';
import { registerRecordCommands } from './commands-records.js';
import { registerPortCommands } from './commands-ports.js';
import { registerInventoryCommand } from './commands-inventory.js';
import { registerEvidenceCommands } from './commands-evidence.js';

/** The group the packaged unit runs the agent as (Group= in systemd/station-agent.service). */
const AGENT_GROUP = 'station-agent';

export async function runCli(argv: string[]): Promise<number> {
  let context: CliContext | undefined;
  const program = new Command('stationctl')
    .description('station-agent technician tool / 远程教育站点代理 维护工具')
    .version(AGENT_VERSION)
    .option('-c, --config <file>', 'config file / 配置文件')
    .option('--json', 'machine-readable output / JSON 输出', false)
    .option('--lang <lang>', 'zh or en (default from LANG) / 语言')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const ctx = () => {
    if (!context) {
      const o = program.opts<{ config?: string; json: boolean; lang?: string }>();
      context = new CliContext({ ...(o.config ? { config: o.config } : {}), json: o.json, lang: detectLang(o.lang) });
    }
    return context;
  };
  registerCoreCommands(program, ctx);
  registerRecordCommands(program, ctx);
  registerPortCommands(program, ctx);
  registerInventoryCommand(program, ctx);
  registerDoctorCommand(program, ctx);
  registerEvidenceCommands(program, ctx);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const c = ctx();
    if (err instanceof ConfigError) {
      const fixes = err.hints.map((h) => hintText(c.t, h));
      c.err(`${c.t('error.prefix')}: ${c.configFile}:\n${[...err.issues, ...fixes].map((i) => `  ${i}`).join('\n')}`);
    } else if (err instanceof AgentError && err.code === ErrorCodes.daemon_unreachable) {
      c.err(c.t('daemon.unreachable', { path: c.config().control.socket }));
    } else if (err instanceof AgentError && err.code === ErrorCodes.permission_denied) {
      // The agent's group, not the socket file's: a socket left owned by root (an agent started by hand as
      // root) would otherwise have the hint tell a technician to join root.
      const path = c.config().control.socket;
      c.err(c.t('daemon.permission', { path, group: AGENT_GROUP, cmd: `sudo usermod -aG ${AGENT_GROUP} $USER` }));
    } else if (err instanceof AgentError) {
      if (c.opts.json) c.out(JSON.stringify({ error: err.toJSON() }));
      c.err(c.t('error.command', { code: err.code, message: err.message }));
      if (err.code === ErrorCodes.invalid_args || err.code === ErrorCodes.not_found) return EXIT.usage;
    } else {
      c.err(`${c.t('error.prefix')}: ${(err as Error).message}`);
    }
    return exitCodeFor(err);
  }
}

// A reader that went away (`stationctl events | head -1`) is no error to report: stop quietly, non-zero
// like any cut-short command. Exiting at once is right here, as nothing more can reach that reader.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.failed);
  throw err;
});

// process.exitCode, never process.exit(): exit() drops what a pipe has not taken yet (a `sessions --csv |
// cat` was cut at 64 KiB, mid-character, exit 0). Node exits once stdout is flushed.
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`stationctl: ${String(err)}\n`);
    process.exitCode = EXIT.failed;
  },
);
