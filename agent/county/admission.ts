/**
 * Request admission (docs/mqtt.md "County requests"): a county request passes the RequestGuard (size,
 * shape, allowlist, signature, freshness, replay; requests.ts), then a concurrency limit, before it
 * reaches the command registry; the answer goes back on `response/<action>`. Refusals are logged at a
 * bounded rate so a flood of bad requests cannot flood the journal.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CountyConfig } from '../../config/schema.js';
import { ErrorCodes } from '../../drivers/errors.js';
import type { Clock } from '../clock.js';
import type { CommandRegistry } from '../commands.js';
import { envelope, QOS1, type Connection } from './connection.js';
import type { SeenTransactions } from './meta.js';
import type { CountyResponse } from './payloads.js';
import { ReplayCache, RequestGuard } from './requests.js';
import type { Topics } from './topics.js';

export interface AdmissionDeps {
  county: CountyConfig;
  stationId: string;
  registry: CommandRegistry;
  topics: Topics;
  connection: Connection;
  clock: Clock;
  log: Logger;
  /** Where the replay cache survives a restart. */
  seen: SeenTransactions;
  /** More county commands than this running at once get `busy`. */
  maxConcurrentCommands: number;
}

/** Request problems logged one by one per minute; the rest are counted. */
const PROBLEM_LOGS_PER_MINUTE = 20;

export class RequestAdmission {
  private guard: RequestGuard | undefined;
  private readonly replay = new ReplayCache();
  private runningCommands = 0;
  private droppedRequestLogs = 0;
  private requestLogWindowStart = 0;
  private requestLogsInWindow = 0;

  constructor(private readonly deps: AdmissionDeps) {}

  /**
   * Loads the signing key and the seen transactions; until then no request is admitted. Returns the
   * problem to show in the link's status when the key cannot be read.
   */
  async start(): Promise<string | undefined> {
    const { county, log } = this.deps;
    let key: Buffer | undefined;
    let problem: string | undefined;
    if (county.command_key_file) {
      try {
        key = Buffer.from((await readFile(county.command_key_file, 'utf8')).trim(), 'utf8');
      } catch (err) {
        // Fail closed: without the key no county command may run, but reporting still works.
        problem = `cannot read county.command_key_file ${county.command_key_file}: ${(err as Error).message}`;
        log.error({ err }, problem);
        key = undefined;
      }
      if (key !== undefined && key.length < 16) {
        log.warn('county.command_key_file holds fewer than 16 bytes: use a longer random key');
      }
    }
    const allowed = county.command_key_file && key === undefined ? [] : county.allowed_commands;
    this.guard = new RequestGuard({
      stationId: this.deps.stationId,
      allowed,
      ...(key ? { key } : {}),
      nowMs: () => this.deps.clock.now().getTime(),
      replay: this.replay,
    });
    try {
      this.replay.load(this.deps.seen.load(), this.deps.clock.now().getTime());
    } catch {
      /* a damaged cache only weakens replay protection for five minutes */
    }
    return problem;
  }

  /** A message on `request/<action>`. */
  handle(action: string, raw: Buffer): void {
    if (!this.guard) return;
    const verdict = this.guard.check(action, raw);
    if (!verdict.ok) {
      this.logProblem({ action, transaction: verdict.transaction, code: verdict.code }, `county request refused: ${verdict.message}`);
      if (verdict.transaction !== null) {
        this.respond(action, { transaction: verdict.transaction, status: 'error', error: { code: verdict.code, message: verdict.message } });
      }
      return;
    }
    this.persistSeen();
    if (this.runningCommands >= this.deps.maxConcurrentCommands) {
      this.respond(action, { transaction: verdict.transaction, status: 'error', error: { code: ErrorCodes.busy, message: 'too many county commands running' } });
      return;
    }
    this.runningCommands++;
    this.deps.log.info({ action, transaction: verdict.transaction }, 'county request');
    void this.deps.registry
      .invoke(action, verdict.args, { source: 'county', transaction: verdict.transaction })
      .then((result) => {
        if (result.status === 'ok') this.respond(action, { transaction: verdict.transaction, status: 'ok', data: result.data });
        else {
          this.deps.log.warn({ action, transaction: verdict.transaction, error: result.error }, 'county request failed');
          this.respond(action, { transaction: verdict.transaction, status: 'error', error: result.error });
        }
      })
      .finally(() => this.runningCommands--);
  }

  private logProblem(fields: Record<string, unknown>, msg: string): void {
    // A flood of bad requests must not flood the journal: at most 20 lines a minute, then a count.
    const { log } = this.deps;
    const now = Date.now();
    if (now - this.requestLogWindowStart > 60_000) {
      if (this.droppedRequestLogs > 0) log.warn({ suppressed: this.droppedRequestLogs }, 'county request problems not logged individually');
      this.requestLogWindowStart = now;
      this.requestLogsInWindow = 0;
      this.droppedRequestLogs = 0;
    }
    if (this.requestLogsInWindow++ < PROBLEM_LOGS_PER_MINUTE) log.warn(fields, msg);
    else this.droppedRequestLogs++;
  }

  private persistSeen(): void {
    try {
      this.deps.seen.save(this.replay.dump(this.deps.clock.now().getTime()));
    } catch (err) {
      this.deps.log.warn({ err }, 'cannot persist the replay cache');
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
