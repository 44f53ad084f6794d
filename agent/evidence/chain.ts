/**
 * Appends the records of the `usage` stream — usage sessions, notes, geneses — and, when `evidence` is
 * configured, seals each one in the transaction that appends it (docs/evidence.md):
 *   prev  = recordHash of the previous sealed record (the chain's head in meta), GENESIS_PREV for a genesis;
 *   epoch = max(epoch of now, epoch of the key on disk) (agent/evidence/keys.ts);
 *   seal  = sealOf(record, key(epoch)).
 * The head moves in the same transaction, so a restart continues the chain and a rolled-back append
 * leaves it as it was. Without `evidence` records are appended as they always were: unsealed.
 *
 * A chain starts with a genesis record (`begin()`, at the agent's start): on a fresh ledger (after_seq 0),
 * when sealing starts on a ledger that has records (after_seq: the last of them, unsealed), when usage
 * records were appended unsealed since the last sealed one (sealing was switched off for a while), and
 * when the seed changed (a rotation: a new seed, a new genesis).
 */
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { GENESIS_PREV, recordHash, sealOf } from '../../protocol/evidence.js';
import type { GenesisRecord } from '../../protocol/chain-record.js';
import type { Clock } from '../clock.js';
import type { DurableRecord, Outbox } from '../store/outbox.js';
import type { Store } from '../store/store.js';
import type { EpochKeys } from './keys.js';

/** The `type` of a usage-stream row: a usage session, a note about one, a genesis. */
export type ChainType = 'usage' | 'note' | 'genesis';

export type BuildRecord = (seq: number, id: string, ledger: string) => Record<string, unknown>;

/** What writes the usage stream (the session tracker): sealed or not, it cannot tell and need not. */
export interface ChainAppender {
  /** Whether records are sealed: a sealed record is never edited (a note becomes its own record). */
  readonly sealed: boolean;
  /** Appends a record to the usage stream, inside the caller's transaction when there is one. */
  append(type: ChainType, ts: string, build: BuildRecord, id?: string): DurableRecord;
}

/** The usage stream without sealing: what every station did before evidence, and does without it. */
export function unsealedChain(outbox: Outbox): ChainAppender {
  return { sealed: false, append: (type, ts, build, id) => outbox.append('usage', type, ts, build, id) };
}

export class UsageChain implements ChainAppender {
  constructor(
    private readonly deps: {
      store: Store;
      keys: EpochKeys;
      clock: Clock;
      stationId: string;
      log: Logger;
    },
  ) {}

  get sealed(): boolean {
    return true;
  }

  append(type: ChainType, ts: string, build: BuildRecord, id: string = ulid()): DurableRecord {
    const { store, keys, clock } = this.deps;
    return store.transaction(() =>
      store.outbox.append(
        'usage',
        type,
        ts,
        (seq, recordId, ledger) => {
          const body = build(seq, recordId, ledger);
          const prev = type === 'genesis' ? GENESIS_PREV : (store.chain.head()?.prev ?? GENESIS_PREV);
          // The key first: when the epoch moves on, the old key is off the disk before this record exists.
          const { epoch, key } = keys.keyFor(clock.now().getTime());
          const unsealed = { ...body, prev, epoch };
          const payload = { ...unsealed, seal: sealOf(unsealed, key) };
          store.chain.setHead({ prev: recordHash(payload), seq, seedId: keys.seedId });
          return payload;
        },
        id,
      ),
    );
  }

  /**
   * Starts the chain when it must (see the file's comment) with a genesis record, and returns it; null
   * when the chain simply continues.
   */
  begin(): DurableRecord | null {
    const { store, keys, clock, stationId, log } = this.deps;
    return store.transaction(() => {
      const head = store.chain.head();
      const last = store.chain.lastSeq();
      if (head && head.seedId === keys.seedId) {
        if (last === head.seq) return null;
        if (last < head.seq) {
          // The last sealed record is gone from the ledger (deleted by hand, or a restored backup).
          // Continuing from the head keeps that visible to `stationctl ledger verify` and the county;
          // a new genesis would hide it.
          log.error({ head_seq: head.seq, last_seq: last }, 'the last sealed usage record is missing from the ledger; the chain continues from it');
          return null;
        }
      }
      const reason = !head ? (last === 0 ? 'fresh ledger' : 'sealing starts on an existing ledger') : head.seedId !== keys.seedId ? 'new seed' : 'unsealed records since the last sealed one';
      const ts = clock.now().toISOString();
      const record = this.append('genesis', ts, (seq, id, ledger) => {
        const genesis: Omit<GenesisRecord, 'prev' | 'epoch' | 'seal'> = { v: 1, id, seq, ledger, station_id: stationId, ts, type: 'genesis', after_seq: last, epoch_s: keys.epochS };
        return genesis;
      });
      log.info({ seq: record.seq, after_seq: last, reason, epoch: keys.epoch }, 'evidence chain begins with a genesis record');
      return record;
    });
  }
}
