/**
 * The sealing core (protocol/evidence.ts). Canonical bytes come from RFC 8785's own examples; the chain
 * checks are the tampering cases an inspection must catch, each named by seq with its cause.
 */
import { describe, it, expect } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import { canonicalBytes, epochOf, EVIDENCE_LABEL, GENESIS_PREV, keyAt, nextKey, recordHash, sealOf, verifyChain, type ChainRecord } from '../../../protocol/evidence.js';

describe('canonical bytes (RFC 8785)', () => {
  it('serialises the RFC\'s sample object (§3.2.2) exactly', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalBytes(input).toString('utf8')).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('sorts keys by their UTF-16 code units (§3.2.3)', () => {
    const input = JSON.parse('{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}');
    // Read off the text (a parsed object would put the integer-like key "1" first again).
    expect(canonicalBytes(input).toString('utf8')).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });
});

describe('forward keys', () => {
  it('evolve as key(e+1) = HMAC(key(e), label ‖ e), and never backwards', () => {
    const seed = randomBytes(32);
    const e = Buffer.alloc(8);
    e.writeBigUInt64BE(100n);
    expect(nextKey(seed, 100)).toEqual(createHmac('sha256', seed).update(EVIDENCE_LABEL).update(e).digest());
    expect(keyAt(seed, 100, 102)).toEqual(nextKey(nextKey(seed, 100), 101));
    expect(keyAt(seed, 100, 100)).toEqual(seed);
    expect(() => keyAt(seed, 100, 99)).toThrow(/before the seed/);
    expect(epochOf(Date.parse('2026-12-07T10:59:59.999Z'), 3600)).toBe(epochOf(Date.parse('2026-12-07T10:00:00Z'), 3600));
  });
});

/** A station's sealed usage records: one per epoch-ish, as an agent would seal them. */
function chain(seed: Buffer, seedEpoch: number, epochs: number[]): Array<ChainRecord & { duration_s: number }> {
  const out: Array<ChainRecord & { duration_s: number }> = [];
  let prev = GENESIS_PREV;
  epochs.forEach((epoch, i) => {
    const body = { seq: (i + 1) * 3, duration_s: 3600 + i, prev, epoch };
    const r = { ...body, seal: sealOf(body, keyAt(seed, seedEpoch, epoch)) };
    out.push(r);
    prev = recordHash(r);
  });
  return out;
}

describe('verifying a chain', () => {
  const seed = randomBytes(32);
  const E0 = 490_000;
  const epochs = [E0, E0, E0 + 1, E0 + 3, E0 + 3, E0 + 7];
  const seedOpt = { seed: { key: seed, epoch: E0 } };
  const reseal = (r: ChainRecord, key: Buffer) => ({ ...r, seal: sealOf(r, key) });

  it('holds for an untouched ledger, with the seed and without it', () => {
    const records = chain(seed, E0, epochs);
    expect(verifyChain(records, seedOpt)).toEqual([]);
    expect(verifyChain(records)).toEqual([]);
  });

  it('holds for records replayed as historical: the flag is added after sealing and is not sealed', () => {
    const records = chain(seed, E0, epochs).map((r) => ({ ...r, historical: true }));
    expect(verifyChain(records, seedOpt)).toEqual([]);
    const edited = records.map((r, i) => (i === 2 ? { ...r, duration_s: 1 } : r));
    expect(verifyChain(edited, seedOpt).map((f) => f.cause)).toEqual(['seal_invalid', 'chain_broken']);
  });

  it('names an edited duration: its seal, and the link of the record after it', () => {
    const records = chain(seed, E0, epochs);
    records[2] = { ...records[2]!, duration_s: 7200 };
    expect(verifyChain(records, seedOpt)).toEqual([
      { seq: 9, cause: 'seal_invalid' },
      { seq: 12, cause: 'chain_broken' },
    ]);
  });

  it('names a deleted record by the record whose link it breaks', () => {
    const records = chain(seed, E0, epochs);
    records.splice(3, 1);
    expect(verifyChain(records, seedOpt)).toEqual([{ seq: 15, cause: 'chain_broken' }]);
  });

  it('names an inserted record sealed with the current key, and the record after it', () => {
    const records = chain(seed, E0, epochs);
    const current = keyAt(seed, E0, E0 + 7);
    const body = { seq: 10, duration_s: 5400, prev: recordHash(records[2]!), epoch: E0 + 7 };
    records.splice(3, 0, { ...body, seal: sealOf(body, current) });
    expect(verifyChain(records, seedOpt)).toEqual([
      { seq: 10, cause: 'seal_wrong_epoch' },
      { seq: 12, cause: 'chain_broken' },
    ]);
  });

  it('names two swapped records', () => {
    const records = chain(seed, E0, epochs);
    [records[3], records[4]] = [records[4]!, records[3]!];
    expect(verifyChain(records, seedOpt)).toEqual([
      { seq: 15, cause: 'chain_broken' },
      { seq: 12, cause: 'chain_broken' },
      { seq: 18, cause: 'chain_broken' },
    ]);
  });

  it('names an old record re-sealed with the current key by someone holding the key file (CVE-2023-31439)', () => {
    const records = chain(seed, E0, epochs);
    const current = keyAt(seed, E0, E0 + 7);
    // Claiming its own epoch: the seal does not verify with that epoch's key.
    const same = reseal({ ...records[1]!, duration_s: 9000 } as ChainRecord, current);
    expect(verifyChain([records[0]!, same, ...records.slice(2)], seedOpt)).toEqual([
      { seq: 6, cause: 'seal_invalid' },
      { seq: 9, cause: 'chain_broken' },
    ]);
    // Claiming the current epoch: epochs never go back along the chain.
    const later = reseal({ ...records[1]!, duration_s: 9000, epoch: E0 + 7 } as ChainRecord, current);
    expect(verifyChain([records[0]!, later, ...records.slice(2)], seedOpt)).toEqual([
      { seq: 6, cause: 'seal_wrong_epoch' },
      { seq: 9, cause: 'chain_broken' },
    ]);
  });

  it('says gap, not broken, where seqs between two sealed records are not all known yet', () => {
    const records = chain(seed, E0, epochs);
    records.splice(2, 1);
    expect(verifyChain(records, { ...seedOpt, complete: (a, b) => !(a < 9 && b > 9) })).toEqual([{ seq: 12, cause: 'gap' }]);
  });

  it('names records without a seal', () => {
    const records: ChainRecord[] = chain(seed, E0, epochs);
    records[5] = { seq: 18 };
    expect(verifyChain(records, seedOpt)).toEqual([{ seq: 18, cause: 'unsealed' }]);
  });
});
