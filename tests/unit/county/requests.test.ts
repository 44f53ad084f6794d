import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_REQUEST_BYTES, ReplayCache, RequestGuard, sniffTransaction } from '../../../agent/county/requests.js';
import { canonicalJson, signRequest, signingInput, verifyRequest } from '../../../agent/county/signing.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const NOW = Date.parse('2026-03-01T12:00:00.000Z');

function guard(opts: { key?: Buffer; allowed?: string[]; now?: () => number; replay?: ReplayCache } = {}): RequestGuard {
  return new RequestGuard({
    stationId: 'village-01',
    allowed: opts.allowed ?? ['device.power', 'diag.run'],
    ...(opts.key ? { key: opts.key } : {}),
    nowMs: opts.now ?? (() => NOW),
    replay: opts.replay ?? new ReplayCache(),
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

  it('runs a transaction once (QoS 1 redelivery, replay)', () => {
    const g = guard();
    expect(g.check('diag.run', buf({ transaction: 'dup' })).ok).toBe(true);
    expect(g.check('diag.run', buf({ transaction: 'dup' }))).toMatchObject({ ok: false, code: 'replayed' });
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

describe('ReplayCache', () => {
  it('forgets entries after the window and refuses when full of live ones', () => {
    const c = new ReplayCache(1_000, 2);
    expect(c.add('a', 0)).toBe(true);
    expect(c.add('b', 0)).toBe(true);
    expect(c.add('c', 500)).toBe(false);
    expect(c.has('a', 999)).toBe(true);
    expect(c.has('a', 1_000)).toBe(false);
    expect(c.add('c', 1_000)).toBe(true);
    const restored = new ReplayCache(1_000, 2);
    restored.load(c.dump(1_000), 1_000);
    expect(restored.has('c', 1_500)).toBe(true);
    restored.load('garbage', 0);
    restored.load([[1, 2], ['x']], 0);
    expect(restored.size).toBe(1);
  });

  it('sniffs a transaction from a broken or oversized payload', () => {
    expect(sniffTransaction(Buffer.from('{"args": {}, "transaction" : "abc-1", "x": ['))).toBe('abc-1');
    expect(sniffTransaction(Buffer.from('{"transaction": "has space"}'))).toBeNull();
    expect(sniffTransaction(Buffer.from('garbage'))).toBeNull();
  });
});
