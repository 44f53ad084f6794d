/**
 * The station's sealing key, evolving forward (docs/evidence.md "Key handling"). The key is read from the
 * seed file once at start and kept in memory; when a record is sealed in a later epoch than the key's,
 * the key is evolved to that epoch and the file replaced (agent/evidence/key-file.ts) before the record
 * is sealed, so the key of an earlier epoch is gone from the disk before a record of the new one exists.
 * The epoch of a record is max(epoch of now, epoch of the key): a clock set back never reaches an older key.
 * The agent also moves the key on when each epoch ends (EpochTicker below), so the key of an ended epoch
 * does not wait on disk for the next record, and a record rarely pays for the file replacement: one
 * small file replaced per epoch (24 a day at the default 3600 s), nothing per heartbeat.
 */
import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { epochOf, keyAt } from '../../protocol/evidence.js';
import { ConfigError } from '../../config/errors.js';
import { keyFileText, readKeyFile, replaceFile, type KeyFile } from './key-file.js';

/**
 * Most epochs one record moves the key on: a clock set years ahead would otherwise block the agent for
 * minutes of HMACs (and the watchdog would kill it). 20,000 steps are some 0.2 s (2.3 years of hourly
 * epochs); the key catches up over the next records, each sealed with an epoch that still only goes forward.
 */
export const MAX_EPOCH_STEPS = 20_000;

export interface SealingKey {
  epoch: number;
  key: Buffer;
}

export class EpochKeys {
  #state: KeyFile;
  #key: Buffer;

  private constructor(
    readonly file: string,
    state: KeyFile,
    private readonly log: Logger,
  ) {
    this.#state = state;
    this.#key = Buffer.from(state.key, 'hex');
  }

  /**
   * Loads the seed file named by `evidence.seed_file`. Whatever keeps the agent from sealing is a
   * configuration error (exit 78), with the fix in the reader's language (ConfigError hints).
   */
  static load(file: string, expect: { stationId: string; epochS: number }, log: Logger): EpochKeys {
    const read = readKeyFile(file);
    if (!read.ok) {
      if (read.reason === 'missing') throw new ConfigError([`evidence.seed_file: no seed file ${file}`], { hints: [{ code: 'evidence_init', file }] });
      if (read.reason === 'unreadable') throw new ConfigError([`evidence.seed_file: cannot read ${file} (${read.detail})`], { hints: [{ code: 'evidence_owner', file }] });
      throw new ConfigError([`evidence.seed_file: ${file} is not a seed file made by stationctl evidence init (${read.detail})`], { hints: [{ code: 'evidence_init', file }] });
    }
    const k = read.keyFile;
    const problems: string[] = [];
    if (k.station_id !== expect.stationId) problems.push(`evidence.seed_file: ${file} was made for station ${k.station_id}, this is station ${expect.stationId}`);
    if (k.epoch_s !== expect.epochS) {
      problems.push(`evidence.epoch_s: ${expect.epochS} differs from the seed's ${k.epoch_s} (${file}); the epoch length is fixed when the seed is made`);
    }
    if (problems.length > 0) throw new ConfigError(problems);
    try {
      // The key is replaced beside itself: the agent must be able to create a file in that folder.
      accessSync(dirname(file), constants.W_OK);
      accessSync(file, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError([`evidence.seed_file: the agent cannot replace ${file} in its folder (${code}); the key is replaced there every epoch`], {
        hints: [{ code: 'evidence_owner', file }],
      });
    }
    return new EpochKeys(file, k, log);
  }

  get seedId(): string {
    return this.#state.seed_id;
  }

  get epochS(): number {
    return this.#state.epoch_s;
  }

  /** The epoch of the key in memory and on disk. */
  get epoch(): number {
    return this.#state.epoch;
  }

  /**
   * The key to seal a record made at `nowMs` with. Moves the key forward (and replaces the file) when
   * `nowMs` is in a later epoch. When the file cannot be replaced (a full disk), the record is still
   * sealed, with the key on disk and its epoch, and the failure is logged: losing evidence is worse.
   */
  keyFor(nowMs: number): SealingKey {
    const current = this.#state.epoch;
    const wanted = Math.max(epochOf(nowMs, this.#state.epoch_s), current);
    if (!(wanted > current)) return { epoch: current, key: this.#key };
    const target = Math.min(wanted, current + MAX_EPOCH_STEPS);
    const key = keyAt(this.#key, current, target);
    const next: KeyFile = { ...this.#state, epoch: target, key: key.toString('hex') };
    try {
      replaceFile(this.file, keyFileText(next));
    } catch (err) {
      key.fill(0);
      this.log.error({ err, file: this.file, epoch: current, wanted: target }, 'cannot replace the evidence key file; sealing with the key of the earlier epoch');
      return { epoch: current, key: this.#key };
    }
    this.#key.fill(0);
    this.#key = key;
    this.#state = next;
    if (wanted > target) this.log.warn({ epoch: target, wanted }, 'the clock is far ahead of the evidence key: it catches up over the next records');
    return { epoch: target, key };
  }
}

/**
 * Moves the key on at the end of each epoch (a second after its boundary by the station's clock), so only
 * the current epoch's key is ever on disk, whether or not a record was made in the epoch that ended.
 */
export class EpochTicker {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly keys: EpochKeys,
    private readonly nowMs: () => number,
  ) {}

  start(): void {
    this.stop();
    const now = this.nowMs();
    this.keys.keyFor(now);
    const epochMs = this.keys.epochS * 1000;
    const delay = Math.max(1000, (Math.floor(now / epochMs) + 1) * epochMs - now + 1000);
    this.#timer = setTimeout(() => this.start(), delay);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
