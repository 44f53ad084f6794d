import { afterEach, describe, expect, it } from 'vitest';
import { Mosquitto, waitFor } from '../../../scripts/lib/kit/index.js';
import { UsageRecordSchema } from '../../../protocol/usage-record.js';
import { EventRecordSchema } from '../../../protocol/event-record.js';
import { CountyConsumer, makeStation, type Station } from './harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function broker(opts: Parameters<typeof Mosquitto.start>[0] = {}): Promise<Mosquitto> {
  const b = await Mosquitto.start(opts);
  cleanups.push(() => b.dispose());
  return b;
}

/** The county collector as production runs it: a persistent session, so nothing published while it is away is lost. */
async function collector(url: string, autoAck = true): Promise<CountyConsumer> {
  const c = await CountyConsumer.connect(url, {
    autoAck,
    options: { clientId: 'county-collector', clean: false, reconnectPeriod: 100 },
  });
  cleanups.push(() => c.close());
  return c;
}

function station(opts: Parameters<typeof makeStation>[0]): Station {
  const s = makeStation(opts);
  cleanups.push(() => s.close());
  return s;
}

describe('county link durable lane', () => {
  it('delivers 500 usage records made while the broker was down: all, in order, each seq once', async () => {
    const b = await broker({ persistence: true });
    const county = await collector(b.url);
    await b.stop();

    const s = station({ url: b.url, county: { replay_rate: 1_000 } });
    await s.link.start();
    s.appendUsage(500);
    expect(s.ledger.depth().count).toBe(500);
    await waitFor(() => s.link.status().last_error, 3_000);

    const t0 = Date.now();
    await b.startAgain();
    await waitFor(() => county.stored.size === 500, 20_000);
    // 500 at replay_rate 1000/s: about half a second of sending once connected (generous bound for loaded CI).
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(county.arrivalOrder).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(county.duplicates).toBe(0);
    for (const rec of county.stored.values()) {
      const parsed = UsageRecordSchema.parse(rec);
      expect(parsed.historical).toBe(true);
    }
    await waitFor(() => s.ledger.depth().count === 0, 5_000);

    // A record made while connected goes out live, without the historical flag.
    s.appendUsage(1);
    await waitFor(() => county.stored.has(501), 5_000);
    expect(county.stored.get(501)!['historical']).toBeUndefined();
    await waitFor(() => s.ledger.depth().count === 0, 5_000);
  });

  it('loses nothing when the broker restarts in the middle of the replay', async () => {
    const b = await broker({ persistence: true });
    const county = await collector(b.url);
    const s = station({ url: b.url, county: { replay_rate: 200 } });
    s.appendUsage(500);
    await s.link.start();
    await waitFor(() => county.stored.size >= 100, 10_000);
    expect(county.stored.size).toBeLessThan(450);
    await b.restart(300);
    await waitFor(() => county.stored.size === 500, 30_000);
    await waitFor(() => s.ledger.depth().count === 0, 10_000);
    expect([...county.stored.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    // Replay after the restart resumes at the county's watermark, not at the beginning.
    expect(county.duplicates).toBeLessThan(200);
  });

  it('replays rate-limited at county.replay_rate', async () => {
    const b = await broker();
    const county = await collector(b.url);
    const s = station({ url: b.url, county: { replay_rate: 100 } });
    s.appendUsage(150);
    const t0 = Date.now();
    await s.link.start();
    await waitFor(() => county.stored.size === 150, 10_000);
    const elapsed = Date.now() - t0;
    // 150 records at 100/s with a 0.1 s burst: at least ~1.4 s.
    expect(elapsed).toBeGreaterThan(1_300);
  });

  it('with require_ack: false, a PUBACK removes the record from the outbox', async () => {
    const b = await broker();
    const county = await collector(b.url, false);
    const s = station({ url: b.url, county: { require_ack: false } });
    s.appendUsage(20);
    await s.link.start();
    await waitFor(() => county.stored.size === 20, 5_000);
    await waitFor(() => s.ledger.depth().count === 0, 5_000);
  });

  it('keeps records until the county acks and sends them again when no ack comes in time', async () => {
    const b = await broker();
    const county = await collector(b.url, false);
    const s = station({ url: b.url, tuning: { ackTimeoutMs: 1_000 } });
    await s.link.start();
    await county.waitFor('/status');
    s.appendUsage(5);
    await waitFor(() => county.stored.size === 5, 5_000);
    expect(s.ledger.depth().count).toBe(5);
    await waitFor(() => county.duplicates >= 5, 6_000);
    const again = county.on('/usage').slice(5);
    expect(again.every((r) => r.payload?.['historical'] === true)).toBe(true);
    await county.publish('stations/village-01/ack', JSON.stringify({ seq: 5, ledger: s.ledger.ledger() }), { retain: true });
    await waitFor(() => s.ledger.depth().count === 0, 5_000);
  });

  it('ignores an ack above the highest seq it published: it removes nothing and never moves the seq counter', async () => {
    const b = await broker();
    const county = await collector(b.url, false);
    const s = station({ url: b.url });
    await s.link.start();
    await county.waitFor('/status');
    s.appendUsage(3);
    await waitFor(() => county.stored.size === 3, 5_000);
    await waitFor(() => s.ledger.publishedSeq() === 3, 5_000);
    await county.publish('stations/village-01/ack', JSON.stringify({ seq: 1000, ledger: s.ledger.ledger() }), { retain: true });
    // Believed acks after it still work; the one above stays ignored.
    await county.publish('stations/village-01/ack', JSON.stringify({ seq: 2, ledger: s.ledger.ledger() }), { retain: true });
    await waitFor(() => s.ledger.depth().count === 1, 5_000);
    expect(s.ledger.depth().first_seq).toBe(3);
    const [rec] = s.appendUsage(1);
    expect(rec!.seq).toBe(4);
  });

  it('ignores malformed acks', async () => {
    const b = await broker();
    const county = await collector(b.url, false);
    const s = station({ url: b.url });
    await s.link.start();
    await county.waitFor('/status');
    s.appendUsage(2);
    await waitFor(() => county.stored.size === 2, 5_000);
    for (const bad of ['not json', '{"seq":-1}', '{"seq":"2"}', '[]', '{"seq":1.5}']) {
      await county.publish('stations/village-01/ack', bad);
    }
    await county.publish('stations/village-01/ack', JSON.stringify({ seq: 1, ledger: s.ledger.ledger() }));
    await waitFor(() => s.ledger.depth().count === 1, 5_000);
    expect(s.link.status().connected).toBe(true);
  });

  it('sessions.resend republishes stored records from a seq, acked or not, as historical', async () => {
    const b = await broker();
    const county = await collector(b.url);
    const s = station({ url: b.url });
    await s.link.start();
    s.appendUsage(10);
    await waitFor(() => s.ledger.depth().count === 0 && county.stored.size === 10, 5_000);
    county.clear();
    const res = await s.registry.invoke('sessions.resend', { from_seq: 4 }, { source: 'county', transaction: 't1' });
    expect(res).toEqual({ status: 'ok', data: { from_seq: 4, to_seq: 10, count: 7, ledger: s.ledger.ledger() } });
    await waitFor(() => county.on('/usage').length === 7, 5_000);
    expect(county.on('/usage').map((r) => r.payload?.['seq'])).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(county.on('/usage').every((r) => r.payload?.['historical'] === true)).toBe(true);
    const bad = await s.registry.invoke('sessions.resend', { from_seq: 0 }, { source: 'county' });
    expect(bad.status).toBe('error');
  });

  it('summarises low-priority events over the outbox budget, never usage records, and reports it', async () => {
    const b = await broker({ persistence: true });
    const county = await collector(b.url);
    await b.stop();
    const s = station({ url: b.url, county: { outbox_max_mb: 0.02 } });
    s.appendUsage(20);
    const events = [];
    for (let i = 0; i < 120; i++) {
      const severity = i % 10 === 0 ? 'error' : 'info';
      events.push(
        s.ledger.append('events', severity === 'error' ? 'device_fault' : 'schedule_run', new Date().toISOString(), (seq, id) => ({
          v: 1, seq, id, station_id: 'village-01', ts: new Date().toISOString(), clock: 'synced',
          type: severity === 'error' ? 'device_fault' : 'schedule_run', severity,
          message: `event ${i} ${'x'.repeat(150)}`, boot: 1,
        })),
      );
    }
    const before = s.ledger.bytes();
    expect(before).toBeGreaterThan(0.02 * 2 ** 20);
    await s.link.start();
    const depth = s.ledger.depth().count;
    expect(depth).toBeLessThan(141);
    expect(s.ledger.bytes()).toBeLessThan(0.02 * 2 ** 20 * 0.95);
    const pending = s.ledger.pending(0, 1000);
    expect(pending.filter((r) => r.stream === 'usage')).toHaveLength(20);
    // Errors outlive info events.
    expect(pending.filter((r) => r.type === 'device_fault')).toHaveLength(12);
    const summary = pending.find((r) => r.type === 'outbox_summarised');
    expect(summary).toBeDefined();
    const ev = EventRecordSchema.parse(JSON.parse(summary!.text));
    const removed = 141 - (depth - 1) - 0;
    expect(ev.data?.['removed']).toBe(removed - 1);
    expect(ev.data?.['by_severity']).toEqual({ info: removed - 1 });

    // It reaches the county like any other event.
    await b.startAgain();
    await county.waitFor('/events', (r) => r.payload?.['type'] === 'outbox_summarised', 10_000);
  });
});
