import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_REQUEST_BYTES, ReplayCache, RequestGuard, sniffTransaction } from '../../../agent/county/requests.js';
import { canonicalJson, signAck, signRequest, signingInput, verifyAck, verifyRequest } from '../../../protocol/signing.js';
import { Store } from '../../../agent/store/store.js';
import { MemorySeen } from './fake-connection.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const NOW = Date.parse('2026-03-01T12:00:00.000Z');

function guard(opts: { key?: Buffer; allowed?: string[]; now?: () => number; replay?: ReplayCache } = {}): RequestGuard {
  return new RequestGuard({
    stationId: 'village-01',
    allowed: opts.allowed ?? ['device.power', 'diag.run'],
    ...(opts.key ? { key: opts.key } : {}),
    nowMs: opts.now ?? (() => NOW),
    replay: opts.replay ?? new ReplayCache(new MemorySeen(), { whenFull: 'refuse' }),
  });
}
const buf = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('canonical JSON and signatures', () => {
  it('sorts keys recursively and drops no whitespace-significant data', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'é' }, u: undefined })).toBe('{"a":{"c":"é","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(signingInput('s1', 'act', { transaction: 't', sig: 'ignored', args: {} })).toBe('s1\nact\n{"args":{},"transaction":"t"}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
  });

  it('has a documented golden vector', () => {
    // The example of docs/mqtt.md "Command signing": keep the two in step.
    const req = { transaction: 'c-20260301-0001', ts: '2026-03-01T12:00:00.000Z', args: { device: 'proj1', value: 'on' } };
    expect(signingInput('village-01', 'device.power', req)).toBe(
      'village-01\ndevice.power\n{"args":{"device":"proj1","value":"on"},"transaction":"c-20260301-0001","ts":"2026-03-01T12:00:00.000Z"}',
    );
    expect(signRequest('example-key-change-me', 'village-01', 'device.power', req)).toBe(GOLDEN_SIG);
  });

  it('verifies whatever key order the county serialised with', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }), (args) => {
        const body = { transaction: 't-1', ts: '2026-03-01T12:00:00.000Z', args };
        const sig = signRequest(KEY, 'village-01', 'x', body);
        const shuffled = JSON.parse(JSON.stringify({ args, sig, ts: body.ts, transaction: body.transaction })) as Record<string, unknown>;
        return verifyRequest(KEY, 'village-01', 'x', shuffled) && !verifyRequest(KEY, 'village-02', 'x', shuffled) && !verifyRequest(KEY, 'village-01', 'y', shuffled);
      }),
    );
  });
});

// Computed independently: printf '<signing input>' | openssl dgst -sha256 -hmac 'example-key-change-me'
const GOLDEN_SIG = '057b02bbbd83a48a87ac3d4dc1b033ee0bbab6c29d824d583e1d7f6ae2f4ee6b';

describe('RequestGuard', () => {
  it('accepts a well-formed allowed request and hands over its args', () => {
    expect(guard().check('device.power', buf({ transaction: 't1', args: { device: 'p' } }))).toEqual({
      ok: true, action: 'device.power', transaction: 't1', args: { device: 'p' },
    });
    expect(guard().check('diag.run', buf({ transaction: 't2' }))).toMatchObject({ ok: true, args: {} });
  });

  it('refuses with a code, and a transaction whenever one can be read', () => {
    const g = guard();
    expect(g.check('diag.run', buf('nope'))).toMatchObject({ ok: false, code: 'malformed', transaction: null });
    expect(g.check('diag.run', buf('{"transaction":"tx-9", broken'))).toMatchObject({ ok: false, code: 'malformed', transaction: 'tx-9' });
    expect(g.check('diag.run', buf([1]))).toMatchObject({ ok: false, code: 'malformed', transaction: null });
    expect(g.check('diag.run', buf({ transaction: 'a', args: [] }))).toMatchObject({ ok: false, code: 'malformed', transaction: 'a' });
    expect(g.check('diag.run', buf({ transaction: 5 }))).toMatchObject({ ok: false, code: 'malformed', transaction: null });
    expect(g.check('shell', buf({ transaction: 'b' }))).toMatchObject({ ok: false, code: 'not_allowed', transaction: 'b' });
    const big = Buffer.concat([buf('{"transaction":"big","args":{"x":"'), Buffer.alloc(MAX_REQUEST_BYTES, 0x61), buf('"}}')]);
    expect(g.check('diag.run', big)).toMatchObject({ ok: false, code: 'too_large', transaction: 'big' });
    expect(g.check('diag.run', buf({ transaction: 'c', ts: 'soon' }))).toMatchObject({ ok: false, code: 'malformed' });
  });

  it('refuses a transaction admission recorded (QoS 1 redelivery, replay), and records nothing itself', () => {
    const seen = new MemorySeen();
    const replay = new ReplayCache(seen, { whenFull: 'refuse' });
    const g = guard({ replay });
    expect(g.check('diag.run', buf({ transaction: 'dup' })).ok).toBe(true);
    expect(g.check('diag.run', buf({ transaction: 'dup' })).ok).toBe(true);
    expect(seen.adds).toBe(0);
    expect(replay.record('dup', NOW)).toBe(true);
    expect(g.check('diag.run', buf({ transaction: 'dup' }))).toMatchObject({ ok: false, code: 'replayed' });
  });

  it('with a key: checks the signature before the allowlist, so an unsigned probe learns nothing', () => {
    const g = guard({ key: KEY, allowed: ['diag.run'] });
    const ts = new Date(NOW).toISOString();
    for (const action of ['diag.run', 'device.power', 'shell.exec']) {
      expect(g.check(action, buf({ transaction: `probe-${action}`, ts }))).toMatchObject({ ok: false, code: 'bad_signature' });
      const forged = { transaction: `forged-${action}`, ts };
      expect(g.check(action, buf({ ...forged, sig: signRequest('not-the-key', 'village-01', action, forged) }))).toMatchObject({ code: 'bad_signature' });
    }
    // Only a correctly signed request learns that its action is not allowed.
    const signed = { transaction: 'signed-1', ts };
    expect(g.check('device.power', buf({ ...signed, sig: signRequest(KEY, 'village-01', 'device.power', signed) }))).toMatchObject({ code: 'not_allowed' });
  });

  it('with a key: requires sig and ts, checks both, and refuses stale or future requests', () => {
    const g = guard({ key: KEY });
    const body = { transaction: 's1', ts: new Date(NOW - 60_000).toISOString(), args: { device: 'p' } };
    expect(g.check('device.power', buf({ ...body, sig: signRequest(KEY, 'village-01', 'device.power', body) })).ok).toBe(true);
    expect(g.check('device.power', buf({ ...body, transaction: 's2' }))).toMatchObject({ code: 'bad_signature' });
    const noTs = { transaction: 's3' };
    expect(g.check('device.power', buf({ ...noTs, sig: signRequest(KEY, 'village-01', 'device.power', noTs) }))).toMatchObject({ code: 'stale' });
    for (const [tx, offset] of [['s4', -301_000], ['s5', 301_000]] as const) {
      const b = { transaction: tx, ts: new Date(NOW + offset).toISOString() };
      expect(g.check('device.power', buf({ ...b, sig: signRequest(KEY, 'village-01', 'device.power', b) }))).toMatchObject({ code: 'stale' });
    }
    const edge = { transaction: 's6', ts: new Date(NOW - 299_000).toISOString() };
    expect(g.check('device.power', buf({ ...edge, sig: signRequest(KEY, 'village-01', 'device.power', edge) })).ok).toBe(true);
  });

  it('never throws on arbitrary bytes', () => {
    const g = guard({ key: KEY });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 20 }), (bytes, action) => {
        const v = g.check(action, Buffer.from(bytes));
        return v.ok === false;
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const v = g.check('diag.run', Buffer.from(JSON.stringify(value) ?? 'null'));
        return typeof v.ok === 'boolean';
      }),
    );
  });
});

describe('ReplayCache on the store\'s seen_transactions table', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = (dir?: string): { store: Store; dir: string } => {
    const d = dir ?? mkdtempSync(join(tmpdir(), 'replay-cache-'));
    if (!dir) dirs.push(d);
    const store = Store.open(d);
    stores.push(store);
    return { store, dir: d };
  };

  it('forgets entries after the window, refuses when full of live ones, and survives a reopen', () => {
    const { store, dir } = open();
    const c = new ReplayCache(store.seenTransactions, { ttlMs: 1_000, maxEntries: 2, whenFull: 'refuse' });
    c.load(0);
    expect(c.record('a', 0)).toBe(true);
    expect(c.record('b', 0)).toBe(true);
    expect(c.record('c', 500)).toBe(false);
    expect(c.has('c', 500)).toBe(false);
    expect(c.has('a', 999)).toBe(true);
    expect(c.has('a', 1_000)).toBe(false);
    expect(c.record('c', 1_000)).toBe(true);
    expect(c.size).toBe(1);
    store.close();
    const again = new ReplayCache(open(dir).store.seenTransactions, { ttlMs: 1_000, maxEntries: 2, whenFull: 'refuse' });
    again.load(1_200);
    expect(again.has('c', 1_500)).toBe(true);
    expect(again.has('a', 1_500)).toBe(false);
    expect(again.size).toBe(1);
  });

  it('bounds the transaction bytes kept as well as the count', () => {
    const { store } = open();
    const c = new ReplayCache(store.seenTransactions, { ttlMs: 60_000, maxEntries: 100, maxBytes: 300, whenFull: 'refuse' });
    c.load(0);
    expect(c.record('x'.repeat(128), 0)).toBe(true);
    expect(c.record('y'.repeat(128), 1)).toBe(true);
    expect(c.record('z'.repeat(128), 2)).toBe(false);
    expect(c.record('short', 3)).toBe(true);
    expect(store.seenTransactions.totals()).toEqual({ count: 3, bytes: 261 });
  });

  it('without a command key, makes room by forgetting the oldest entries instead of refusing', () => {
    const { store } = open();
    const c = new ReplayCache(store.seenTransactions, { ttlMs: 600_000, maxEntries: 200, whenFull: 'evict_oldest' });
    c.load(0);
    for (let i = 0; i < 1_000; i++) expect(c.record(`flood-${i}`, i)).toBe(true);
    expect(store.seenTransactions.totals().count).toBeLessThanOrEqual(200);
    expect(c.has('flood-999', 1_000)).toBe(true);
    expect(c.has('flood-0', 1_000)).toBe(false);
    expect(c.record('real-command', 1_001)).toBe(true);
    expect(c.has('real-command', 1_002)).toBe(true);
  });

  it('brings the cache of schema version 2 (one meta value) over as rows, and drops a damaged one', () => {
    for (const [value, expected] of [
      [JSON.stringify([['kept', 5_000], ['expired', 10], [42, 9_000], ['also', 6_000.5]]), ['kept', 'also']],
      ['{not json', []],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'replay-cache-'));
      dirs.push(dir);
      const old = Store.open(dir, { targetVersion: 2 });
      old.setMeta('county_seen_tx', value);
      old.close();
      const upgraded = open(dir).store;
      expect(upgraded.meta('county_seen_tx')).toBeUndefined();
      expect(['kept', 'expired', 'also'].filter((tx) => upgraded.seenTransactions.has(tx, 100))).toEqual(expected);
    }
  });
  it('sniffs a transaction from a broken or oversized payload', () => {
    expect(sniffTransaction(Buffer.from('{"args": {}, "transaction" : "abc-1", "x": ['))).toBe('abc-1');
    expect(sniffTransaction(Buffer.from('{"transaction": "has space"}'))).toBeNull();
    expect(sniffTransaction(Buffer.from('garbage'))).toBeNull();
  });
});

// Computed independently: printf 'village-01\nack\n{"seq":1312,"ts":"2026-03-01T12:00:00.000Z"}' | openssl dgst -sha256 -hmac 'example-key-change-me'
const ACK_GOLDEN_SIG = '7c41fe0d6663754e970cf37668a5e313c64890c8fb25a716a6413b212989eeb6';

describe('ack signing', () => {
  it('signs {seq, ts} with the command signing input and action `ack`', () => {
    const ack = { seq: 1312, ts: '2026-03-01T12:00:00.000Z' };
    // The documented example (docs/mqtt.md "Ack signing"): signing input `village-01\nack\n{"seq":1312,"ts":"…"}`.
    expect(signingInput('village-01', 'ack', ack)).toBe('village-01\nack\n{"seq":1312,"ts":"2026-03-01T12:00:00.000Z"}');
    const sig = signAck('example-key-change-me', 'village-01', ack);
    expect(sig).toBe(ACK_GOLDEN_SIG);
    expect(verifyAck('example-key-change-me', 'village-01', { ...ack, sig })).toBe(true);
    expect(verifyAck('example-key-change-me', 'village-02', { ...ack, sig })).toBe(false);
    expect(verifyAck('example-key-change-me', 'village-01', { ...ack, seq: 1313, sig })).toBe(false);
    expect(verifyAck('another-key', 'village-01', { ...ack, sig })).toBe(false);
  });

  it('signs the ledger with them when the ack names one, so an ack cannot be moved to another ledger', () => {
    const ack = { seq: 1312, ts: '2026-03-01T12:00:00.000Z', ledger: '6f1c2a9e04b7d35c8e21f0a4b6c9d713' };
    // printf 'village-01\nack\n{"ledger":"6f1c…","seq":1312,"ts":"…"}' | openssl dgst -sha256 -hmac 'example-key-change-me'
    const sig = signAck('example-key-change-me', 'village-01', ack);
    expect(sig).toBe('6e29e0357877f1cd10989369b0a79b081577e02e74835a7d3e7ce7cb78e1910b');
    expect(verifyAck('example-key-change-me', 'village-01', { ...ack, sig })).toBe(true);
    expect(verifyAck('example-key-change-me', 'village-01', { ...ack, ledger: '01OTHERLEDGER0000000000000', sig })).toBe(false);
    expect(verifyAck('example-key-change-me', 'village-01', { seq: ack.seq, ts: ack.ts, sig })).toBe(false);
  });
});
