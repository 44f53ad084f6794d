/**
 * Sealed usage records: the core both sides share (docs/evidence.md). The model is systemd-journald's
 * Forward Secure Sealing: a station's sealing key evolves forward once per epoch and the old key is
 * erased, so whoever holds the station PC at time T can seal new records but cannot re-seal one from an
 * earlier epoch. Each sealed record carries:
 *   - `prev`:  SHA-256 (hex) of the previous sealed record's canonical bytes (RFC 8785), one chain per station;
 *   - `epoch`: the epoch whose key sealed it;
 *   - `seal`:  HMAC-SHA256 (hex) with that epoch's key over the record's canonical bytes without `seal`.
 * The verifier checks each record against its own epoch's key, and that epochs never go back along the
 * chain: journald's CVE-2023-31439 was a verifier that let an old entry be re-sealed with a newer key.
 * Pure: no clock, no files.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The label of the key evolution: key(e+1) = HMAC-SHA256(key(e), LABEL ‖ e as 8 bytes big-endian). */
export const EVIDENCE_LABEL = 'station-agent evidence v1';
export const SEED_BYTES = 32;
/** `prev` of the first sealed record of a fresh ledger. */
export const GENESIS_PREV = '0'.repeat(64);

/** The canonical bytes of a JSON value (RFC 8785 JSON Canonicalization Scheme). */
export function canonicalBytes(value: unknown): Buffer {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('not a JSON value');
  return Buffer.from(text, 'utf8');
}

/** The key of the epoch after `epoch`, from the key of `epoch`. */
export function nextKey(key: Buffer, epoch: number): Buffer {
  const e = Buffer.alloc(8);
  e.writeBigUInt64BE(BigInt(epoch));
  return createHmac('sha256', key).update(EVIDENCE_LABEL, 'utf8').update(e).digest();
}

/** The key of `epoch`, evolved forward from the seed of `seedEpoch`; an earlier epoch cannot be had. */
export function keyAt(seed: Buffer, seedEpoch: number, epoch: number): Buffer {
  if (!Number.isSafeInteger(epoch) || epoch < seedEpoch) throw new RangeError(`epoch ${epoch} is before the seed's epoch ${seedEpoch}`);
  let key = seed;
  for (let e = seedEpoch; e < epoch; e++) key = nextKey(key, e);
  return key;
}

/** The epoch a time falls in (epochs of `epochS` seconds counted from the Unix epoch). */
export function epochOf(tsMs: number, epochS: number): number {
  return Math.floor(tsMs / 1000 / epochS);
}

/**
 * What is hashed: the record as sealed. `historical` is left out, since the durable lane adds it on replay,
 * after sealing (agent/county/historical.ts).
 */
function asSealed(record: object): Record<string, unknown> {
  const { historical: _historical, ...rest } = record as { historical?: unknown };
  return rest;
}

/** SHA-256 (hex) of a sealed record's canonical bytes (seal included, `historical` not): the `prev` of the next one. */
export function recordHash(record: object): string {
  return createHash('sha256').update(canonicalBytes(asSealed(record))).digest('hex');
}

/** The seal of `record` with `key`, over its canonical bytes without `seal` and `historical`. */
export function sealOf(record: object, key: Buffer): string {
  const { seal: _seal, ...body } = asSealed(record);
  return createHmac('sha256', key).update(canonicalBytes(body)).digest('hex');
}

/** A record as the chain sees it: its seq and the three fields; everything else is covered by the seal. */
export interface ChainRecord {
  seq: number;
  prev?: string | undefined;
  epoch?: number | undefined;
  seal?: string | undefined;
}

export const VERIFY_CAUSES = ['chain_broken', 'seal_invalid', 'seal_wrong_epoch', 'gap', 'unsealed'] as const;
export type VerifyCause = (typeof VERIFY_CAUSES)[number];

export interface Finding {
  seq: number;
  cause: VerifyCause;
}

export interface VerifyOptions {
  /** The enrollment copy of the seed, with its epoch: without it only the chain is checked. */
  seed?: { key: Buffer; epoch: number };
  /**
   * Whether every seq strictly between two sealed records is known to the verifier (records of other
   * kinds sit between them). At the station: always. At the county: not while a seq is still missing,
   * and then the link cannot be judged yet: `gap`, not `chain_broken`.
   */
  complete?: (afterSeq: number, beforeSeq: number) => boolean;
  /** `prev` of the first sealed record (GENESIS_PREV for a fresh ledger, a genesis record's hash else). */
  start?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * Checks sealed records (in seq order, each as published) and names every bad one by seq with a stable
 * cause. A record with no seal is `unsealed`; a link to the previous record that does not hold is
 * `chain_broken` (an insertion, a deletion, a swap, an edit of the previous record); a seal that does not
 * verify with its own epoch's key is `seal_invalid`; a record whose epoch is later than the next one's,
 * or earlier than the seed's, is `seal_wrong_epoch`: epochs only go forward, so a record claiming a later
 * epoch than its successor was sealed after it, with a key that is not its own (CVE-2023-31439).
 */
export function verifyChain(records: readonly ChainRecord[], options: VerifyOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const complete = options.complete ?? (() => true);
  const keyOf = options.seed ? keyCache(options.seed) : undefined;
  const sealed = (r: ChainRecord): r is ChainRecord & { prev: string; epoch: number; seal: string } =>
    typeof r.seal === 'string' && typeof r.prev === 'string' && typeof r.epoch === 'number' && Number.isSafeInteger(r.epoch);
  let previous: { seq: number; hash: string } | undefined;
  records.forEach((r, i) => {
    if (!sealed(r)) {
      findings.push({ seq: r.seq, cause: 'unsealed' });
      previous = undefined;
      return;
    }
    const expectedPrev = previous ? previous.hash : (options.start ?? GENESIS_PREV);
    if (previous && !complete(previous.seq, r.seq)) findings.push({ seq: r.seq, cause: 'gap' });
    else if (!HEX64.test(r.prev) || !sameHex(r.prev, expectedPrev)) findings.push({ seq: r.seq, cause: 'chain_broken' });
    const next = records[i + 1];
    const later = next !== undefined && sealed(next) && r.epoch > next.epoch;
    if (later || (options.seed !== undefined && r.epoch < options.seed.epoch)) findings.push({ seq: r.seq, cause: 'seal_wrong_epoch' });
    else if (keyOf && !(HEX64.test(r.seal) && sameHex(r.seal, sealOf(r, keyOf(r.epoch))))) findings.push({ seq: r.seq, cause: 'seal_invalid' });
    previous = { seq: r.seq, hash: recordHash(r) };
  });
  return findings;
}

/** Keys by epoch, each evolved from the nearest one already known below it. */
function keyCache(seed: { key: Buffer; epoch: number }): (epoch: number) => Buffer {
  const keys = new Map<number, Buffer>([[seed.epoch, seed.key]]);
  return (epoch) => {
    let key = keys.get(epoch);
    if (key) return key;
    let from = seed.epoch;
    for (const e of keys.keys()) if (e <= epoch && e > from) from = e;
    key = keyAt(keys.get(from)!, from, epoch);
    keys.set(epoch, key);
    return key;
  };
}
