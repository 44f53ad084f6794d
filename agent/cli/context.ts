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
    const asked = await this.ask<T>(command, args);
    if (asked.live) return { data: asked.data, live: true };
    const store = this.openDb(asked.note, command);
    try {
      return { data: fromDb(store), live: false };
    } finally {
      store.close();
    }
  }

  /** The daemon's answer, or why the database must answer instead. */
  private async ask<T>(command: string, args: unknown): Promise<{ live: true; data: T } | { live: false; note: 'daemon.down' | 'daemon.db_fallback' }> {
    try {
      return { live: true, data: await this.call<T>(command, args) };
    } catch (err) {
      // An agent older than this stationctl lacks the command: the database still has the answer.
      if (err instanceof AgentError && err.code === ErrorCodes.not_found && err.message.startsWith('unknown command')) return { live: false, note: 'daemon.db_fallback' };
      if (err instanceof AgentError && err.code === ErrorCodes.daemon_unreachable) return { live: false, note: 'daemon.down' };
      throw err;
    }
  }

  private openDb(note: 'daemon.down' | 'daemon.db_fallback', command: string): Store {
    const store = Store.open(this.config().data_dir, { readonly: true });
    this.err(this.t(note, { path: store.path, command }));
    return store;
  }

  /**
   * Follows a paged list command (`more` is the args for the next page, null at the end) and hands each
   * page to `each` as it comes, so a listing of the whole ledger never sits in memory at once, in the
   * daemon or here. With the daemon down, the same pages come from the database opened read-only (said
   * on stderr once). `normalize` reads an older agent's unpaged answer (a bare array) as one last page.
   */
  async paged<P extends { more: Record<string, unknown> | null }>(
    command: string,
    args: Record<string, unknown>,
    fromDb: (store: Store, args: Record<string, unknown>) => P,
    normalize: (data: unknown) => P,
    each: (page: P, first: boolean) => Promise<void>,
  ): Promise<void> {
    const follow = async (first: P, next: (a: Record<string, unknown>) => Promise<P> | P): Promise<void> => {
      let page = first;
      await each(page, true);
      while (page.more) {
        page = await next({ ...args, ...page.more });
        await each(page, false);
      }
    };
    const asked = await this.ask<unknown>(command, args);
    if (asked.live) return follow(normalize(asked.data), async (a) => normalize(await this.call<unknown>(command, a)));
    const store = this.openDb(asked.note, command);
    try {
      await follow(fromDb(store, args), (a) => fromDb(store, a));
    } finally {
      store.close();
    }
  }

  /** Writes to stdout and waits while the reader is slower than us: a long listing streams, never piles up. */
  write(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (process.stdout.write(text)) resolve();
      else process.stdout.once('drain', resolve);
    });
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
