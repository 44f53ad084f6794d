/**
 * Request admission (docs/mqtt.md "County requests"): a county request passes the RequestGuard (size,
 * shape, signature, freshness, allowlist, replay; requests.ts), then a concurrency limit, and is
 * recorded as seen (one row) only once it will run, before it reaches the command registry; the answer
 * goes back on `response/<action>`. Refusals are logged at a bounded rate so a flood of bad requests
 * cannot flood the journal.
 */
import type { Logger } from 'pino';
import type { CountyConfig } from '../../config/schema.js';
import { ErrorCodes } from '../../protocol/errors.js';
import type { Clock } from '../clock.js';
import type { CommandRegistry } from '../commands.js';
import type { CommandKey } from './command-key.js';
import { envelope, QOS1, type Connection } from './connection.js';
import { LogLimiter } from '../../protocol/log-limit.js';
import type { CountyResponse } from '../../protocol/payloads.js';
import { ReplayCache, RequestGuard, type SeenTransactions } from './requests.js';
import type { Topics } from '../../protocol/topics.js';

export interface AdmissionDeps {
  county: CountyConfig;
  stationId: string;
  registry: CommandRegistry;
  topics: Topics;
  connection: Connection;
  clock: Clock;
  log: Logger;
  /** Where the replay cache lives (the store's seen_transactions table), so it survives a restart. */
  seen: SeenTransactions;
  /** More county commands than this running at once get `busy`. */
  maxConcurrentCommands: number;
}

/**
 * The allowed county commands that change the station (anything the registry does not mark read-only,
 * or does not know), when they would run unsigned: what the start warning, `config check` and `doctor`
 * name.
 */
export function writeCommandsAllowedUnsigned(county: CountyConfig, registry: CommandRegistry): string[] {
  if (county.command_key_file) return [];
  const readOnly = new Set(registry.list().filter((c) => c.readOnly).map((c) => c.name));
  return county.allowed_commands.filter((name) => !readOnly.has(name));
}

export class RequestAdmission {
  private guard: RequestGuard | undefined;
  private replay: ReplayCache | undefined;
  private runningCommands = 0;
  private readonly problems: LogLimiter;

  constructor(private readonly deps: AdmissionDeps) {
    this.problems = new LogLimiter(deps.log, { perWindow: 20, now: () => deps.clock.now().getTime() });
  }

  /**
   * Takes the command key (loaded by the link) and the seen transactions; until then no request is
   * admitted. Returns the problem to show in the link's status when the key cannot be read.
   */
  start(key: CommandKey): string | undefined {
    const { county, log, registry } = this.deps;
    const now = this.deps.clock.now().getTime();
    const unsigned = writeCommandsAllowedUnsigned(county, registry);
    if (unsigned.length > 0) {
      log.warn(
        { commands: unsigned },
        'county commands that change this station are allowed without signing: anyone who can publish to the broker can run them; set county.command_key_file',
      );
    }
    // Fail closed: without a readable key no county command may run, but reporting still works.
    const allowed = key.state === 'unreadable' ? [] : county.allowed_commands;
    const replay = new ReplayCache(this.deps.seen, { whenFull: key.state === 'none' ? 'evict_oldest' : 'refuse' });
    try {
      replay.load(now);
    } catch (err) {
      log.warn({ err }, 'cannot read the replay cache');
    }
    this.replay = replay;
    this.guard = new RequestGuard({
      stationId: this.deps.stationId,
      allowed,
      ...(key.state === 'loaded' ? { key: key.key } : {}),
      nowMs: () => this.deps.clock.now().getTime(),
      replay,
    });
    return key.state === 'unreadable' ? key.problem : undefined;
  }

  /** A message on `request/<action>`. */
  handle(action: string, raw: Buffer): void {
    if (!this.guard || !this.replay) return;
    const verdict = this.guard.check(action, raw);
    if (!verdict.ok) {
      this.problems.warn({ action, transaction: verdict.transaction, code: verdict.code }, `county request refused: ${verdict.message}`);
      if (verdict.transaction !== null) {
        this.respond(action, { transaction: verdict.transaction, status: 'error', error: { code: verdict.code, message: verdict.message } });
      }
      return;
    }
    const tx = verdict.transaction;
    const busy = (message: string) => this.respond(action, { transaction: tx, status: 'error', error: { code: ErrorCodes.busy, message } });
    if (this.runningCommands >= this.deps.maxConcurrentCommands) return busy('too many county commands running');
    if (!this.record(tx)) return busy('too many recent requests; retry later');
    this.runningCommands++;
    this.deps.log.info({ action, transaction: tx }, 'county request');
    void this.deps.registry
      .invoke(action, verdict.args, { source: 'county', transaction: tx })
      .then((result) => {
        if (result.status === 'ok') this.respond(action, { transaction: tx, status: 'ok', data: result.data });
        else {
          this.deps.log.warn({ action, transaction: tx, error: result.error }, 'county request failed');
          this.respond(action, { transaction: tx, status: 'error', error: result.error });
        }
      })
      .finally(() => this.runningCommands--);
  }

  /** Records the transaction before it runs; a request that cannot be recorded does not run. */
  private record(tx: string): boolean {
    try {
      return this.replay!.record(tx, this.deps.clock.now().getTime());
    } catch (err) {
      this.deps.log.error({ err }, 'cannot record the county transaction; refusing the request');
      return false;
    }
  }

  private respond(action: string, body: Omit<CountyResponse, 'v' | 'ts' | 'clock'>): void {
    const { clock, connection } = this.deps;
    const payload: CountyResponse = { v: 1, ...body, ...envelope(clock) };
    let text: string;
    try {
      text = JSON.stringify(payload);
    } catch (err) {
      text = JSON.stringify({ v: 1, transaction: body.transaction, status: 'error', error: { code: ErrorCodes.internal, message: `result not serialisable: ${(err as Error).message}` }, ...envelope(clock) });
    }
    const { client } = connection;
    if (!client || !connection.connected) return;
    client.publish(this.deps.topics.response(action), text, QOS1);
  }
}
