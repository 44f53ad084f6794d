/** What every stationctl command shares: options, language, config, the daemon or the database. */
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { AgentError, ErrorCodes, asErrorCode } from '../../protocol/errors.js';
import { ConfigError } from '../../config/errors.js';
import { callDaemon } from '../control/client.js';
import { Store } from '../store/store.js';
import { translator, type Lang, type Translate } from '../i18n/index.js';
import { wrap } from '../../protocol/table.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export const DEFAULT_CONFIG = '/etc/station-agent/config.yaml';

export class CliContext {
  readonly t: Translate;
  private cachedConfig: Config | undefined;

  constructor(
    readonly opts: { config?: string; json: boolean; lang: Lang },
    readonly out: (text: string) => void = (s) => process.stdout.write(`${s}\n`),
    // Notes and errors are wrapped too: a long database path must not spill past a technician's 80 columns.
    readonly err: (text: string) => void = (s) => process.stderr.write(`${wrap(s, 80).join('\n')}\n`),
  ) {
    this.t = translator(opts.lang);
  }

  get configFile(): string {
    return this.opts.config ?? process.env.STATION_AGENT_CONFIG ?? DEFAULT_CONFIG;
  }

  config(): Config {
    if (!this.cachedConfig) this.cachedConfig = loadConfig(this.configFile, { checkFiles: false });
    return this.cachedConfig;
  }

  /** Calls the daemon; a `{status:error}` reply becomes an AgentError with the daemon's code. */
  async call<T>(command: string, args: unknown = {}): Promise<T> {
    const res = await callDaemon(this.config().control.socket, command, args);
    if (res.status === 'error') throw new AgentError(asErrorCode(res.error?.code), res.error?.message ?? 'failed');
    return res.data as T;
  }

  /**
   * Read-only commands ask the daemon and, when it is down, answer from the database opened read-only
   * (saying so on stderr, so `--json` output stays parseable).
   */
  async callOrDb<T>(command: string, args: unknown, fromDb: (store: Store) => T): Promise<{ data: T; live: boolean }> {
    let note: 'daemon.down' | 'daemon.db_fallback' = 'daemon.down';
    try {
      return { data: await this.call<T>(command, args), live: true };
    } catch (err) {
      // An agent older than this stationctl lacks the command: the database still has the answer.
      const unknown = err instanceof AgentError && err.code === ErrorCodes.not_found && err.message.startsWith('unknown command');
      if (unknown) note = 'daemon.db_fallback';
      else if (!(err instanceof AgentError) || err.code !== ErrorCodes.daemon_unreachable) throw err;
    }
    const store = Store.open(this.config().data_dir, { readonly: true });
    try {
      this.err(this.t(note, { path: store.path, command }));
      return { data: fromDb(store), live: false };
    } finally {
      store.close();
    }
  }

  print(json: unknown, human: () => string): void {
    this.out(this.opts.json ? JSON.stringify(json, null, 2) : wrap(human(), 80).join('\n'));
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) return EXIT.failed;
  if (err instanceof AgentError && err.code === ErrorCodes.daemon_unreachable) return EXIT.unreachable;
  if (err instanceof AgentError && err.code === ErrorCodes.permission_denied) return EXIT.unreachable;
  if (err instanceof AgentError && err.code === ErrorCodes.db_open) return EXIT.unreachable;
  return EXIT.failed;
}
