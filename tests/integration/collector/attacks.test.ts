/**
 * Issue 12, collector side: what someone who can publish into one station's topics can do to the county
 * collector, one test per attack, each against a real collector (the built CLI as a child process, or
 * startCollector in this process where its counters are asserted) and a real mosquitto. Each of these
 * failed on the collector before the fix (hang, lost rows for a forged answer, unsigned acks, one log
 * line per malformed message).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { Mosquitto, removeDir, tempDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { startCollector, type Collector } from '../../../county/collector.js';
import { openSqliteCollectorStore } from '../../../county/sqlite-store.js';
import { startFleet, type Fleet } from '../../../scripts/fleet-sim.js';
import { DEFAULT_SHAPE, durableRecord, fleetLedger, stationIdentity } from '../../../scripts/fleet/generate.js';
import { verifyRequest } from '../../../protocol/signing.js';
import { createLogger } from '../../../agent/log.js';
import { ROOT } from '../../helpers/agent.js';

const COLLECTOR_JS = join(ROOT, 'dist', 'county', 'collector.js');
const NEAR_2_53 = Number.MAX_SAFE_INTEGER - 1;

let broker: Mosquitto;
const dirs: string[] = [];
const clients: MqttClient[] = [];
const running: Array<{ stop(): Promise<void> }> = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start({ extra: ['max_queued_messages 100000'] });
});
afterAll(async () => {
  await broker.dispose();
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  for (const r of running.splice(0)) await r.stop();
  for (const d of dirs.splice(0)) removeDir(d);
});

let prefixN = 0;
const freshPrefix = (): string => `atk${++prefixN}-${process.pid}/stations`;
const dir = (): string => {
  const d = tempDir('collector-attack-');
  dirs.push(d);
  return d;
};

async function client(): Promise<MqttClient> {
  const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  clients.push(c);
  return c;
}

/** A valid durable record of `stationId` with the given seq (content from the fleet generator). */
function record(stationId: string, seq: number): { stream: 'usage' | 'events'; text: string } {
  const r = durableRecord(DEFAULT_SHAPE, stationIdentity(DEFAULT_SHAPE, 7), Math.min(seq, 1_000), 1);
  return { stream: r.stream, text: JSON.stringify({ ...r.payload, station_id: stationId, seq }) };
}

/** The ledger of record()'s records. */
const LEDGER = fleetLedger(DEFAULT_SHAPE, stationIdentity(DEFAULT_SHAPE, 7));

const resendAnswer = (transaction: string | null, from: number, to: number, count = 0, ledger = LEDGER): string =>
  JSON.stringify({ v: 1, transaction, status: 'ok', data: { from_seq: from, to_seq: to, count, ledger }, ts: new Date().toISOString(), clock: 'synced' });

/** Every ack seen per station topic (retained or live). */
function ackSpy(c: MqttClient): Map<string, Array<Record<string, unknown>>> {
  const acks = new Map<string, Array<Record<string, unknown>>>();
  c.on('message', (topic, payload) => {
    if (!topic.endsWith('/ack') || payload.length === 0) return;
    (acks.get(topic) ?? acks.set(topic, []).get(topic)!).push(JSON.parse(payload.toString()) as Record<string, unknown>);
  });
  return acks;
}
const lastAckSeq = (acks: Map<string, Array<Record<string, unknown>>>, topic: string): number => (acks.get(topic)?.at(-1)?.['seq'] as number | undefined) ?? 0;

describe('collector under attack (real mosquitto)', () => {
  it('a forged seq near 2^53 and a forged count-0 resend answer: the collector process keeps serving, stops on SIGTERM, and marks nothing lost', async () => {
    const prefix = freshPrefix();
    const db = join(dir(), 'county.db');
    const proc = spawn(process.execPath, [COLLECTOR_JS, '--create', '--url', broker.url, '--db', db, '--prefix', prefix, '--print-s', '0', '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(proc);
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const exited = new Promise<number | string>((r) => proc.once('exit', (code, sig) => r(code ?? sig ?? -1)));

    const honest = await client();
    const acks = ackSpy(honest);
    await honest.subscribeAsync(`${prefix}/st-honest/ack`, { qos: 1 });
    const publish = (station: string, seq: number) => {
      const r = record(station, seq);
      return honest.publishAsync(`${prefix}/${station}/${r.stream}`, r.text, { qos: 1 });
    };
    // Ready once the collector has subscribed: the honest station's first record gets acked.
    await waitFor(
      'the collector to ack the honest station',
      async () => {
        await publish('st-honest', 1);
        return waitFor(() => lastAckSeq(acks, `${prefix}/st-honest/ack`) >= 1, 500, 20).catch(() => false);
      },
      20_000,
      0,
    );

    const attacker = await client();
    const evil = record('st-evil', NEAR_2_53);
    await attacker.publishAsync(`${prefix}/st-evil/${evil.stream}`, evil.text, { qos: 1 });
    // What the pre-fix collector turned into 2^53 single-seq `lost` rows in one synchronous loop.
    await attacker.publishAsync(`${prefix}/st-evil/response/sessions.resend`, resendAnswer(`resend:1:${NEAR_2_53 - 1}:forged`, 1, NEAR_2_53 - 1), { qos: 1 });

    for (let seq = 2; seq <= 5; seq++) await publish('st-honest', seq);
    await waitFor('the honest station to be acked up to 5', () => lastAckSeq(acks, `${prefix}/st-honest/ack`) === 5, 10_000);

    proc.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running 10 s after SIGTERM'), 10_000))]);
    expect(code, stderr).toBe(0);

    const store = openSqliteCollectorStore(db);
    try {
      expect(await store.lost()).toEqual([]);
      expect(await store.station('st-evil')).toMatchObject({ watermark: 0, max_seq: 0, quarantined: 1 });
      expect((await store.quarantined('st-evil')).map((q) => q.seq)).toEqual([NEAR_2_53]);
      expect(await store.station('st-honest')).toMatchObject({ watermark: 5, acked_seq: 5, quarantined: 0 });
      expect((await store.fleet()).find((r) => r.station_id === 'st-evil')!.quarantined).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('believes a resend answer only for its own request, before it expires, and only for the range it asked', async () => {
    const prefix = freshPrefix();
    const c = await startCollector({ url: broker.url, db: join(dir(), 'county.db'), prefix, gapGraceMs: 100, resendRetryMs: 400, resendTimeoutMs: 300, ackIntervalMs: 50 });
    running.push(c);
    const station = await client();
    const requests: Array<{ transaction: string; args: { from_seq: number; to_seq: number } }> = [];
    station.on('message', (topic, payload) => {
      if (topic.endsWith('/request/sessions.resend')) requests.push(JSON.parse(payload.toString()) as (typeof requests)[number]);
    });
    const acks = ackSpy(station);
    await station.subscribeAsync([`${prefix}/st-c/request/+`, `${prefix}/st-c/ack`], { qos: 1 });
    for (const seq of [1, 3]) {
      const r = record('st-c', seq);
      await station.publishAsync(`${prefix}/st-c/${r.stream}`, r.text, { qos: 1 });
    }
    await waitFor('a resend request', () => requests.length >= 1, 10_000);
    expect(requests[0]!.args).toEqual({ from_seq: 2, to_seq: 2 });
    const answerTopic = `${prefix}/st-c/response/sessions.resend`;

    // Forged: a transaction the collector never sent (same shape, guessed nonce).
    await station.publishAsync(answerTopic, resendAnswer('resend:2:2:00000000', 2, 2), { qos: 1 });
    await waitFor(() => c.stats().resend_unknown >= 1, 5_000);
    // Late: the real transaction, after it expired.
    await waitFor(() => c.stats().resends_expired >= 1, 5_000);
    await station.publishAsync(answerTopic, resendAnswer(requests[0]!.transaction, 2, 2), { qos: 1 });
    await waitFor(() => c.stats().resend_unknown >= 2, 5_000);
    await c.flush();
    expect(await c.store.lost()).toEqual([]);
    expect((await c.store.station('st-c'))!.watermark).toBe(1);

    // In time, but for another ledger (the station's database was replaced meanwhile): not believed.
    let before = requests.length;
    await waitFor('the next request', () => requests.length > before, 5_000);
    await station.publishAsync(answerTopic, resendAnswer(requests.at(-1)!.transaction, 2, 2, 0, '01ANOTHERLEDGER00000000000'), { qos: 1 });
    await waitFor(() => c.stats().resend_answers >= 1, 5_000);
    await c.flush();
    expect(await c.store.lost()).toEqual([]);

    // In time, but claiming everything up to 2^53 − 1: only the seq asked for is marked lost.
    before = requests.length;
    await waitFor('the next request', () => requests.length > before, 5_000);
    const fresh = requests.at(-1)!;
    await station.publishAsync(answerTopic, resendAnswer(fresh.transaction, 1, Number.MAX_SAFE_INTEGER), { qos: 1 });
    await waitFor(() => c.stats().lost_marked === 1, 5_000);
    expect((await c.store.lost()).map((r) => [r.station_id, r.from_seq, r.to_seq])).toEqual([['st-c', 2, 2]]);
    await waitFor('the ack over the loss', () => lastAckSeq(acks, `${prefix}/st-c/ack`) === 3, 5_000);
    // The same answer again (a QoS 1 redelivery or a replay) is not believed twice.
    await station.publishAsync(answerTopic, resendAnswer(fresh.transaction, 1, Number.MAX_SAFE_INTEGER), { qos: 1 });
    await waitFor(() => c.stats().resend_unknown >= 3, 5_000);
    expect(c.stats().resend_answers).toBe(2);
  });

  it('signs its acks with the command key: {seq, ledger, ts, sig} over "<station>\\nack\\n<canonical {ledger, seq, ts}>"', async () => {
    const prefix = freshPrefix();
    const key = 'county-command-key-for-tests';
    const c = await startCollector({ url: broker.url, db: join(dir(), 'county.db'), prefix, ackIntervalMs: 50, commandKey: key });
    running.push(c);
    const station = await client();
    const acks = ackSpy(station);
    await station.subscribeAsync(`${prefix}/st-s/ack`, { qos: 1 });
    for (const seq of [1, 2]) {
      const r = record('st-s', seq);
      await station.publishAsync(`${prefix}/st-s/${r.stream}`, r.text, { qos: 1 });
    }
    await waitFor(() => lastAckSeq(acks, `${prefix}/st-s/ack`) === 2, 10_000);
    const ack = acks.get(`${prefix}/st-s/ack`)!.at(-1)!;
    expect(Object.keys(ack).sort()).toEqual(['ledger', 'seq', 'sig', 'ts']);
    expect(ack['ledger']).toBe(LEDGER);
    expect(Number.isNaN(Date.parse(ack['ts'] as string))).toBe(false);
    expect(verifyRequest(key, 'st-s', 'ack', ack)).toBe(true);
    // Bound to the seq, the station and the key.
    expect(verifyRequest(key, 'st-s', 'ack', { ...ack, seq: 3 })).toBe(false);
    expect(verifyRequest(key, 'st-s', 'ack', { ...ack, ledger: '01ANOTHERLEDGER00000000000' })).toBe(false);
    expect(verifyRequest(key, 'st-other', 'ack', ack)).toBe(false);
    expect(verifyRequest('another key', 'st-s', 'ack', ack)).toBe(false);
  });

  it("a flood from one station (garbage, seqs near 2^53, forged resend answers) leaves the other stations' records stored and acked, and the log bounded", async () => {
    const prefix = freshPrefix();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const log = createLogger('warn', sink);
    // A small bucket, so the flood is both admitted (and handled: malformed, quarantined, not believed) and shed at the door.
    const c = await startCollector({ url: broker.url, db: join(dir(), 'county.db'), prefix, gapGraceMs: 300, resendRetryMs: 1_000, ackIntervalMs: 50, log, stationRate: { perSecond: 200, burst: 600 } });
    running.push(c);
    const f: Fleet = await startFleet({
      url: broker.url,
      prefix,
      stations: 10,
      recordsPerStation: 20,
      seed: 'attack',
      intervals: { recordMs: 50, heartbeatMs: 200, stateMs: 300 },
      connectSpreadMs: 100,
    });
    running.unshift(f);

    const attacker = await client();
    const N = 3_000;
    let sent = 0;
    const flood = (async () => {
      for (let i = 0; i < N; i++) {
        const kind = i % 3;
        if (kind === 0) attacker.publish(`${prefix}/st-evil/usage`, `garbage ${i} {`, { qos: 0 });
        else if (kind === 1) {
          const r = record('st-evil', NEAR_2_53 - i);
          attacker.publish(`${prefix}/st-evil/${r.stream}`, r.text, { qos: 0 });
        } else attacker.publish(`${prefix}/st-evil/response/sessions.resend`, resendAnswer(`resend:1:${NEAR_2_53}:${i}`, 1, NEAR_2_53 - 1), { qos: 0 });
        sent++;
        // Yield now and then so the publishes go out while the fleet publishes too.
        if (i % 200 === 199) await new Promise((r) => setImmediate(r));
      }
      await attacker.publishAsync(`${prefix}/st-evil/usage`, 'last garbage {', { qos: 1 });
      sent++;
    })();

    await f.allAllocated();
    await waitFor('every fleet record acked', () => f.stats().acked === 200, 20_000);
    await flood;
    await waitFor('the flood to be processed', () => {
      const s = c.stats();
      return s.malformed + s.quarantined + s.resend_unknown + s.shed >= sent;
    }, 20_000);
    await c.flush();
    const s = c.stats();
    expect(await c.store.countRecords()).toBe(200);
    expect(s).toMatchObject({ stored: 200, conflicts: 0, lost_marked: 0 });
    expect(s.malformed + s.quarantined + s.resend_unknown + s.shed).toBe(sent);
    expect(s.malformed).toBeGreaterThan(0);
    expect(s.quarantined).toBeGreaterThan(0);
    expect(s.resend_unknown).toBeGreaterThan(0);
    expect(s.shed).toBeGreaterThan(0);
    expect(await c.store.lost()).toEqual([]);
    expect(await c.store.station('st-evil')).toMatchObject({ watermark: 0, max_seq: 0 });
    for (let i = 0; i < 10; i++) expect(await c.store.station(f.station(i).id)).toMatchObject({ watermark: 20, acked_seq: 20 });
    // At most 10 lines per message kind and minute, whatever the flood.
    const count = (m: string) => lines.filter((l) => (JSON.parse(l) as { msg: string }).msg === m).length;
    expect(count('malformed payload dropped')).toBeLessThanOrEqual(10);
    expect(count('resend answer for no request of ours ignored')).toBeLessThanOrEqual(10);
    expect(count('record seq far above the station watermark: quarantined')).toBeLessThanOrEqual(10);
    expect(count('station sends faster than any station does: shed (durable ones come back, unacked)')).toBeLessThanOrEqual(10);
    expect(lines.length).toBeLessThan(100);
  });
});
