/**
 * `stationctl ledger verify`: the station's own check of its usage stream (docs/evidence.md
 * "Verification"). Pure: the rows, the chain's head from meta and the enrollment copies come in, a
 * report comes out.
 *
 * The stream is cut at each genesis record into segments, each a chain of its own starting at
 * GENESIS_PREV, checked by protocol/evidence.ts verifyChain with the enrollment copy that covers it (the
 * newest one whose epoch is not after the genesis's). Around that:
 *   - records before the first genesis, up to its `after_seq`, are the ledger's history from before
 *     sealing: reported as a count, not as findings; anything else before a genesis does not belong;
 *   - a genesis names the seq of the usage record just before it (`after_seq`): a record missing there
 *     is a `gap` at that seq, one inserted there breaks the genesis's link (`chain_broken`);
 *   - epochs never go back along the whole stream, across geneses too (`seal_wrong_epoch`);
 *   - the head in meta names the last sealed record and its hash: a last record deleted is a `gap` at
 *     its seq, a record after it was not appended by the agent (`chain_broken`). Meta is not sealed:
 *     this catches a careless hand, not someone who edits meta too.
 * At the station every seq between two records is known (events share the seq space), so a link that
 * does not hold is always `chain_broken`, never a `gap` waiting for a record.
 */
import { GENESIS_PREV, recordHash, verifyChain, type ChainRecord, type VerifyCause } from '../../protocol/evidence.js';
import { chainKind } from '../../protocol/chain-record.js';
import type { Enrollment } from '../../protocol/enrollment.js';
import type { ChainHead } from '../store/chain.js';

export type RecordKind = 'session' | 'note' | 'genesis';

export interface LedgerFinding {
  seq: number;
  cause: VerifyCause;
  /** What the record at that seq is; null when there is none (a record missing). */
  kind: RecordKind | null;
}

export interface LedgerReport {
  ok: boolean;
  station_id: string;
  ledger: string;
  /** Records of the usage stream (sessions, notes, geneses). */
  records: number;
  sealed: number;
  /** Records from before sealing began (up to the first genesis's after_seq): history, not evidence. */
  before_sealing: number;
  geneses: number;
  /** Whether seals and epochs were checked with enrollment copies, or the chain alone. */
  seals_checked: boolean;
  /** The seed_ids the seals were checked with. */
  seeds: string[];
  findings: LedgerFinding[];
}

type Rec = ChainRecord & Record<string, unknown>;

export function verifyLedger(
  rows: ReadonlyArray<{ seq: number; payload: string }>,
  context: { station_id: string; ledger: string; head: ChainHead | undefined },
  enrollments: readonly Enrollment[],
): LedgerReport {
  const findings: Array<{ seq: number; cause: VerifyCause }> = [];
  const kinds = new Map<number, RecordKind>();
  const records: Rec[] = rows.map((row) => {
    const rec = parse(row.payload);
    kinds.set(row.seq, rec ? chainKind(rec as { type?: unknown }) : 'session');
    // A record moved to another seq (two rows swapped) still says where it was sealed.
    if (!rec || rec.seq !== row.seq) {
      findings.push({ seq: row.seq, cause: 'chain_broken' });
      return { ...(rec ?? {}), seq: row.seq };
    }
    return rec;
  });
  const isSealed = (r: Rec) => typeof r.seal === 'string';
  const genesisAt = records.flatMap((r, i) => (kinds.get(r.seq) === 'genesis' ? [i] : []));
  const seeds = [...enrollments].sort((a, b) => a.epoch - b.epoch);
  let beforeSealing = 0;

  if (genesisAt.length === 0) {
    for (const r of records) findings.push({ seq: r.seq, cause: isSealed(r) ? 'chain_broken' : 'unsealed' });
  } else {
    const first = records[genesisAt[0]!]!;
    const afterSeq = numberOr(first.after_seq, 0);
    for (const r of records.slice(0, genesisAt[0])) {
      if (r.seq <= afterSeq && !isSealed(r)) beforeSealing++;
      else findings.push({ seq: r.seq, cause: isSealed(r) ? 'chain_broken' : 'unsealed' });
    }
    let lastEpoch: { seq: number; epoch: number } | undefined;
    genesisAt.forEach((start, k) => {
      const segment = records.slice(start, genesisAt[k + 1] ?? records.length);
      const genesis = segment[0]!;
      // The link a genesis makes to what came before it: the seq of the usage record just before it.
      const before = start > 0 ? records[start - 1]!.seq : 0;
      const named = numberOr(genesis.after_seq, -1);
      if (named > before) findings.push({ seq: named, cause: 'gap' });
      else if (named !== before) findings.push({ seq: genesis.seq, cause: 'chain_broken' });
      const seed = seedFor(seeds, genesis.epoch);
      findings.push(...verifyChain(segment, { start: GENESIS_PREV, ...(seed ? { seed } : {}) }));
      const firstSealed = segment.find(isSealed);
      if (lastEpoch && firstSealed && typeof firstSealed.epoch === 'number' && lastEpoch.epoch > firstSealed.epoch) {
        findings.push({ seq: lastEpoch.seq, cause: 'seal_wrong_epoch' });
      }
      const lastSealed = segment.findLast(isSealed);
      if (lastSealed && typeof lastSealed.epoch === 'number') lastEpoch = { seq: lastSealed.seq, epoch: lastSealed.epoch };
    });
  }

  const head = context.head;
  if (head && genesisAt.length > 0) {
    const at = records.find((r) => r.seq === head.seq);
    if (!at) findings.push({ seq: head.seq, cause: 'gap' });
    else if (!isSealed(at) || recordHash(at) !== head.prev) findings.push({ seq: head.seq, cause: 'chain_broken' });
    for (const r of records) if (r.seq > head.seq && isSealed(r)) findings.push({ seq: r.seq, cause: 'chain_broken' });
  }

  const unique = new Map<string, LedgerFinding>();
  for (const f of findings) unique.set(`${f.seq}:${f.cause}`, { ...f, kind: kinds.get(f.seq) ?? null });
  const sorted = [...unique.values()].sort((a, b) => a.seq - b.seq || a.cause.localeCompare(b.cause));
  return {
    ok: sorted.length === 0,
    station_id: context.station_id,
    ledger: context.ledger,
    records: records.length,
    sealed: records.filter(isSealed).length,
    before_sealing: beforeSealing,
    geneses: genesisAt.length,
    seals_checked: seeds.length > 0,
    seeds: seeds.map((s) => s.seed_id),
    findings: sorted,
  };
}

/** The enrollment copy a segment was sealed under: the newest whose epoch is not after its genesis's. */
function seedFor(seeds: readonly Enrollment[], epoch: unknown): { key: Buffer; epoch: number } | undefined {
  if (seeds.length === 0) return undefined;
  const e = typeof epoch === 'number' ? epoch : Number.POSITIVE_INFINITY;
  // None old enough: the oldest, so that every record of the segment is found before its seed's epoch.
  const pick = seeds.findLast((s) => s.epoch <= e) ?? seeds[0]!;
  return { key: Buffer.from(pick.seed, 'hex'), epoch: pick.epoch };
}

function parse(text: string): Rec | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { seq?: unknown }).seq === 'number' ? (v as Rec) : undefined;
  } catch {
    return undefined;
  }
}

function numberOr(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : fallback;
}

