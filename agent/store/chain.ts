/**
 * The evidence chain's side of the store (docs/evidence.md): every record of the `usage` stream is a
 * chain record (sessions, notes, geneses), and the chain's head — the hash and seq of the last sealed
 * record and the seed it was sealed under — lives in meta, written in the same transaction as the record,
 * so a restart continues the chain. No key is ever stored here: the key is in the seed file alone.
 */
import type { MetaRepository } from './meta.js';
import { lazy, type Db } from './prepared.js';

const PREV_KEY = 'chain_prev';
const SEQ_KEY = 'chain_seq';
const SEED_KEY = 'chain_seed';

export interface ChainHead {
  /** recordHash of the last sealed record: the `prev` of the next one. */
  prev: string;
  /** Its seq. */
  seq: number;
  /** The seed_id it was sealed under (a new seed starts a new genesis). */
  seedId: string;
}

export class ChainRepository {
  readonly #meta: MetaRepository;
  readonly #lastUsage;
  readonly #all;

  constructor(db: Db, meta: MetaRepository) {
    this.#meta = meta;
    // Walking seq (the rowid) backwards: the newest usage record is a few events from the end.
    this.#lastUsage = lazy<[], { seq: number }>(db, "SELECT seq FROM records WHERE +stream = 'usage' ORDER BY seq DESC LIMIT 1");
    this.#all = lazy<[], { seq: number; payload: string }>(db, "SELECT seq, payload FROM records WHERE +stream = 'usage' ORDER BY seq");
  }

  /** The seq of the newest record of the usage stream, 0 when there is none. */
  lastSeq(): number {
    return this.#lastUsage().get()?.seq ?? 0;
  }

  head(): ChainHead | undefined {
    const prev = this.#meta.get(PREV_KEY);
    const seq = Number(this.#meta.get(SEQ_KEY));
    const seedId = this.#meta.get(SEED_KEY);
    if (prev === undefined || seedId === undefined || !Number.isSafeInteger(seq)) return undefined;
    return { prev, seq, seedId };
  }

  /** Inside the transaction that appends the record. */
  setHead(head: ChainHead): void {
    this.#meta.set(PREV_KEY, head.prev);
    this.#meta.set(SEQ_KEY, String(head.seq));
    this.#meta.set(SEED_KEY, head.seedId);
  }

  /**
   * Every record of the usage stream, in seq order, as stored (`stationctl ledger verify`). A station's
   * ledger holds a few sessions a day: ten years are some 20,000 rows.
   */
  records(): Array<{ seq: number; payload: string }> {
    return this.#all().all();
  }
}
