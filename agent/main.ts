#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1 --no-opt --no-maglev
/**
 * station-agent: `station-agent --config /etc/station-agent/config.yaml`. Exit codes: 0 normal stop,
 * 78 configuration error (systemd does not restart), anything else a crash (systemd restarts).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { AgentError, ErrorCodes } from '../protocol/errors.js';
import { ConfigError, EXIT_CONFIG } from '../config/errors.js';
import { createLogger } from './log.js';
import { App } from './app.js';
import { SystemdNotifier } from './systemd.js';
import { AGENT_VERSION } from './version.js';
import { systemClock } from './clock.js';
import { detectLang, translator } from './i18n/index.js';
import { hintText } from './i18n/hints.js';

export const DEFAULT_CONFIG = '/etc/station-agent/config.yaml';
const STOP_DEADLINE_MS = 5000;

/** The issues with their key paths (English, like every key-path line), then each fix in the reader's language. */
function configErrorText(file: string, err: ConfigError): string {
  const t = translator(detectLang());
  const hints = err.hints.map((h) => `  ${hintText(t, h)}`);
  return `station-agent: configuration error in ${file}:\n${[...err.issues.map((i) => `  ${i}`), ...hints].join('\n')}\n`;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`station-agent: ${(err as Error).message}\nusage: station-agent [--config FILE]\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write('usage: station-agent [--config FILE] [--version]\n');
    return;
  }
  if (args.version) {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return;
  }
  const file = args.config ?? process.env.STATION_AGENT_CONFIG ?? DEFAULT_CONFIG;

  let config;
  try {
    config = loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(configErrorText(file, err));
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }

  const log = createLogger(config.log.level);
  const notifier = new SystemdNotifier(log.child({ component: 'systemd' }));
  const app = new App({ config, log, clock: systemClock() });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    notifier.stopping();
    // A wedged part must not keep a dead agent around: systemd would wait its full TimeoutStopSec.
    setTimeout(() => {
      log.error('stop took longer than 5 s: exiting anyway');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    app
      .stop()
      .then(() => {
        log.info('stopped');
        log.flush();
        notifier.close();
        process.exitCode = 0;
        setImmediate(() => process.exit(0));
      })
      .catch((err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    log.flush();
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    log.flush();
    process.exit(70);
  });

  try {
    await app.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      // Found at start (the evidence seed file): said like any configuration error, and not restarted.
      log.fatal({ code: err.code, issues: err.issues }, 'start failed: configuration');
      process.stderr.write(configErrorText(file, err));
      await app.stop().catch(() => undefined);
      log.flush();
      process.exit(EXIT_CONFIG);
    }
    const e = err instanceof AgentError ? err : undefined;
    log.fatal({ err, code: e?.code }, 'start failed');
    process.stderr.write(`station-agent: ${e ? e.message : (err as Error).message}\n`);
    await app.stop().catch(() => undefined);
    log.flush();
    // An unwritable data_dir is the operator's to fix: do not let systemd restart-loop on it.
    process.exit(e?.code === ErrorCodes.data_dir || e?.code === ErrorCodes.db_too_new ? EXIT_CONFIG : 1);
  }
  notifier.ready(`${config.devices.length} devices`);
}

void main();
