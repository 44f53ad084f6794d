/**
 * Per-station command keys (protocol/command-keys.ts, docs/mqtt.md "Per-station command keys"): the
 * derivation reproduces the documented test vector, the values on the docs page are the ones the code
 * computes, the master key's text format is enforced, and a station's key signs for that station only —
 * checked against the station's own request guard and ack gate, fed the key as the station reads it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveStationKey, MAX_MASTER_KEY_BYTES, MIN_MASTER_KEY_BYTES, parseMasterKey, STATION_KEY_LABEL, stationKeyFileText } from '../../../protocol/command-keys.js';
import { signAck, signRequest, verifyAck, verifyRequest } from '../../../protocol/signing.js';
import { ReplayCache, RequestGuard } from '../../../agent/county/requests.js';
import { MemorySeen } from '../county/fake-connection.js';
import { AckGate } from '../../../agent/county/ack-gate.js';

const MASTER_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const MASTER = Buffer.from(MASTER_HEX, 'hex');
// Computed independently of this code: printf 'station-agent command key v1\nvillage-01' |
// openssl dgst -sha256 -mac HMAC -macopt hexkey:<MASTER_HEX>, and with Python's hmac module.
const KEY_01 = '08798be9a72580a75ef2d729d0ee06cdcbb93a1fd6befcb4432c0fc7cb253521';
const KEY_02 = '69509472056dbacfc3d7620933681f55f95688acbc68494f012855680aab348b';
// The "Command signing" example request signed for village-01 with KEY_01:
// printf '<signing input>' | openssl dgst -sha256 -hmac <KEY_01>
const EXAMPLE_SIG = 'd6203533ee7cd9cf679d7f3206512b453112f39526db6f049645e54e8d00f849';
const EXAMPLE_REQUEST = { transaction: 'c-20260301-0001', ts: '2026-03-01T12:00:00.000Z', args: { device: 'proj1', value: 'on' } };

/** What the station does with its key file (agent/county/command-key.ts): trimmed, UTF-8. */
const asStationReadsIt = (fileText: string): Buffer => Buffer.from(fileText.trim(), 'utf8');

describe('station key derivation', () => {
  it('reproduces the test vector', () => {
    expect(STATION_KEY_LABEL).toBe('station-agent command key v1\n');
    expect(deriveStationKey(MASTER, 'village-01')).toBe(KEY_01);
    expect(deriveStationKey(MASTER, 'village-02')).toBe(KEY_02);
    expect(stationKeyFileText(MASTER, 'village-01')).toBe(`${KEY_01}\n`);
    expect(signRequest(asStationReadsIt(stationKeyFileText(MASTER, 'village-01')), 'village-01', 'device.power', EXAMPLE_REQUEST)).toBe(EXAMPLE_SIG);
  });

  it('matches the values docs/mqtt.md gives', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'mqtt.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Per-station command keys'), doc.indexOf('## 7. The county side'));
    const cell = (label: string): string[] => [...section.matchAll(new RegExp(`^\\| ${label} \\| \`([^\`]+)\` \\|$`, 'gm'))].map((m) => m[1]!);
    const [master] = cell('master key \\(hex\\)');
    const ids = cell('station id');
    const keys = cell('station key');
    expect(master).toBe(MASTER_HEX);
    expect(ids).toEqual(['village-01', 'village-02']);
    expect(keys).toEqual(ids.map((id) => deriveStationKey(Buffer.from(master!, 'hex'), id)));
    expect(section).toContain(`| \`${signRequest(KEY_01, 'village-01', 'device.power', EXAMPLE_REQUEST)}\` |`);
    expect(section).toContain(`SHA2-256(stdin)= ${KEY_01}`);
  });

  it('gives every station a different 64-hex-digit key, and another master other keys', () => {
    const ids = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 64 }), ids, ids, (master, a, b) => {
        const ka = deriveStationKey(master, a);
        expect(ka).toMatch(/^[0-9a-f]{64}$/);
        expect(deriveStationKey(master, a)).toBe(ka);
        if (a !== b) expect(deriveStationKey(master, b)).not.toBe(ka);
        const other = Uint8Array.from(master, (x, i) => (i === 0 ? x ^ 1 : x));
        expect(deriveStationKey(other, a)).not.toBe(ka);
      }),
    );
  });

  it('refuses what is not a station id, and a master key under 32 bytes', () => {
    for (const id of ['', 'Village-01', '-x', 'a/b', 'a+', '#', 'x'.repeat(65), 'village 01', 'village-01\n']) {
      expect(() => deriveStationKey(MASTER, id), JSON.stringify(id)).toThrow(TypeError);
    }
    expect(() => deriveStationKey(MASTER.subarray(0, 31), 'village-01')).toThrow(RangeError);
  });
});

describe('master key text', () => {
  it('is hex of 32 to 512 bytes, either case, whitespace around ignored', () => {
    expect(parseMasterKey(`${MASTER_HEX}\n`)).toEqual({ ok: true, key: MASTER });
    expect(parseMasterKey(`  ${MASTER_HEX.toUpperCase()}\r\n`)).toEqual({ ok: true, key: MASTER });
    expect(parseMasterKey('ab'.repeat(MAX_MASTER_KEY_BYTES))).toMatchObject({ ok: true });
    expect(parseMasterKey('ab'.repeat(MIN_MASTER_KEY_BYTES - 1))).toEqual({ ok: false, problem: 'too_short', bytes: 31 });
    expect(parseMasterKey('ab'.repeat(MAX_MASTER_KEY_BYTES + 1))).toEqual({ ok: false, problem: 'too_long', bytes: 513 });
    for (const bad of ['', '\n', `${MASTER_HEX}0`, `${MASTER_HEX.slice(0, 62)}zz`, `0x${MASTER_HEX}`, `${MASTER_HEX.slice(0, 32)} ${MASTER_HEX.slice(32)}`, 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=']) {
      expect(parseMasterKey(bad), JSON.stringify(bad)).toEqual({ ok: false, problem: 'not_hex' });
    }
  });
});

describe("a station's key signs for that station only", () => {
  const NOW = Date.parse('2026-03-01T12:00:00.000Z');
  const keyA = asStationReadsIt(stationKeyFileText(MASTER, 'village-01'));
  const keyB = asStationReadsIt(stationKeyFileText(MASTER, 'village-02'));

  function stationGuard(stationId: string, key: Buffer): RequestGuard {
    const replay = new ReplayCache(new MemorySeen(), { whenFull: 'refuse' });
    return new RequestGuard({ stationId, allowed: ['status'], key, nowMs: () => NOW, replay });
  }

  it('requests: B refuses one signed with A’s key, whichever station it names; A and B accept their own', () => {
    const a = stationGuard('village-01', keyA);
    const b = stationGuard('village-02', keyB);
    const body = { transaction: 't-1', ts: new Date(NOW).toISOString(), args: {} };
    const signed = (key: Buffer, station: string) => Buffer.from(JSON.stringify({ ...body, sig: signRequest(key, station, 'status', body) }));
    expect(b.check('status', signed(keyA, 'village-02'))).toMatchObject({ ok: false, code: 'bad_signature' });
    expect(b.check('status', signed(keyA, 'village-01'))).toMatchObject({ ok: false, code: 'bad_signature' });
    expect(a.check('status', signed(keyA, 'village-01'))).toMatchObject({ ok: true });
    expect(b.check('status', signed(keyB, 'village-02'))).toMatchObject({ ok: true });
    expect(verifyRequest(keyB, 'village-02', 'status', { ...body, sig: signRequest(keyA, 'village-02', 'status', body) })).toBe(false);
  });

  it('acks: B’s gate ignores an ack signed with A’s key and believes one signed with its own', () => {
    const ledger = '6f1c2a9e04b7d35c8e21f0a4b6c9d713';
    const gate = new AckGate('village-02', ledger);
    gate.setKey({ state: 'loaded', key: keyB });
    const ack = { seq: 5, ledger, ts: new Date(NOW).toISOString() };
    const raw = (key: Buffer) => Buffer.from(JSON.stringify({ ...ack, sig: signAck(key, 'village-02', ack) }));
    expect(gate.check(raw(keyA), 10)).toMatchObject({ ok: false, reason: 'bad_signature' });
    expect(gate.check(raw(keyB), 10)).toEqual({ ok: true, seq: 5 });
    expect(verifyAck(keyA, 'village-01', { ...ack, sig: signAck(keyA, 'village-01', ack) })).toBe(true);
  });
});
