/**
 * Issue 12, county requests, on real parts: the built daemon as a child process with a real database
 * and a real mosquitto; PJLink simulators where a command must take time.
 *
 * - A flood of requests used to rewrite the whole seen-transaction cache (up to 1.3 MB, fsynced) on
 *   every one, and once 10 000 were recorded every real command got `busy` for ten minutes.
 * - A request refused as `busy` used to be recorded as seen: its retry was refused as `replayed`.
 * - With a command key, the allowlist was checked before the signature: an unsigned probe learnt which
 *   actions a station allows (`not_allowed` versus `bad_signature`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { callDaemon } from '../../../agent/control/client.js';
import { ResponseSchema, type CountyResponse } from '../../../protocol/payloads.js';
import { signRequest } from '../../../protocol/signing.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { Mosquitto, removeDir, tempDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { startAgent, waitReady, writeConfig } from '../../helpers/agent.js';
import { CountyConsumer, writeSecret } from './harness.js';

const STATION = 'test-station';
const REQ = `stations/${STATION}/request/`;
const KEY = 'county-command-key-0123456789abcdef';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  dir: string;
  county: CountyConsumer;
  /** The response to `transaction` on `response/<action>`, once it arrives. */
  answer(action: string, transaction: string, timeoutMs?: number): Promise<CountyResponse>;
  /** Rows in the station's seen_transactions table. */
  seen(): number;
}

async function setup(county: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Setup> {
  const broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  const dir = tempDir('trust-requests-');
  cleanups.push(() => removeDir(dir));
  const c = await CountyConsumer.connect(broker.url, { autoAck: true });
  cleanups.push(() => c.close());
  const file = writeConfig(dir, { county: { url: broker.url, heartbeat_s: 30, ...county }, ...extra });
  const agent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, file);
  await c.waitFor(`${STATION}/status`, (r) => r.payload?.['online'] === true);
  return {
    dir,
    county: c,
    answer: async (action, transaction, timeoutMs = 20_000) => {
      const r = await c.waitFor(`/response/${action}`, (m) => m.payload?.['transaction'] === transaction, timeoutMs);
      return ResponseSchema.parse(r.payload);
    },
    seen: () => {
      const db = new Database(join(dir, 'data', 'station.db'), { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM seen_transactions').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
  };
}

function signed(action: string, body: Record<string, unknown>, key = KEY): Record<string, unknown> {
  return { ...body, sig: signRequest(key, STATION, action, body) };
}

describe('county requests against a real agent', () => {
  it('without a command key: after a flood of which 10 050 ran, a real command still runs, and the replay cache stays bounded', async () => {
    const s = await setup({ allowed_commands: ['status', 'device.power'] });
    const responses = () => s.county.on('/response/status');
    // Answers by transaction, indexed as they arrive (10 000 of them: no scanning per check).
    const answered = new Map<string, string>();
    s.county.client.on('message', (topic, payload) => {
      if (!topic.endsWith('/response/status')) return;
      const r = JSON.parse(payload.toString()) as { transaction: string; status: string; error?: { message: string } };
      answered.set(r.transaction, r.error ? r.error.message : r.status);
    });
    const TARGET = 10_050;
    // Paced a few at a time on an unbuffered socket, so nearly all run and are recorded (a burst
    // would mostly be refused busy, eight running at once): the cache fills past its 10 000 entries.
    (s.county.client as unknown as { stream: { setNoDelay(on: boolean): void } }).stream.setNoDelay(true);
    let sent = 0;
    let ran = 0;
    while (ran < TARGET) {
      const wave = Array.from({ length: 500 }, () => `flood-${sent++}`);
      for (const [i, tx] of wave.entries()) {
        s.county.client.publish(`${REQ}status`, JSON.stringify({ transaction: tx, args: {} }), { qos: 0 });
        if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      await waitFor(() => wave.every((tx) => answered.has(tx)), 20_000, 5);
      ran += wave.filter((tx) => answered.get(tx) === 'ok').length;
      // Busy because eight ran at once is the flood's own doing; busy because of the replay cache locks the county out.
      expect(wave.map((tx) => answered.get(tx)).filter((m) => m !== 'ok' && m !== 'too many county commands running')).toEqual([]);
    }
    s.county.clear();
    await s.county.publish(`${REQ}status`, JSON.stringify({ transaction: 'real-after-flood', args: {} }));
    const real = await s.answer('status', 'real-after-flood');
    expect(real.error).toBeUndefined();
    expect(real).toMatchObject({ status: 'ok', data: { station_id: STATION } });
    expect(s.seen()).toBeLessThanOrEqual(10_000);
    // The same transaction again is refused as a replay: the cache still protects.
    await s.county.publish(`${REQ}status`, JSON.stringify({ transaction: 'real-after-flood', args: {} }));
    await waitFor(() => responses().filter((r) => r.payload?.['transaction'] === 'real-after-flood').length === 2, 20_000);
    const again = responses().filter((r) => r.payload?.['transaction'] === 'real-after-flood')[1]!;
    expect(again.payload).toMatchObject({ status: 'error', error: { code: 'replayed' } });
  }, 180_000);

  it('with a command key: an unsigned or forged flood learns nothing, is not recorded, and the county\'s signed command runs', async () => {
    const keyDir = tempDir('trust-key-');
    cleanups.push(() => removeDir(keyDir));
    const s = await setup({ allowed_commands: ['status'], command_key_file: writeSecret(keyDir, 'command.key', `${KEY}\n`) });
    const ts = () => new Date().toISOString();
    const actions = ['status', 'device.power', 'schedule.set', 'shell.exec'];
    const N = 2_000;
    for (let i = 0; i < N; i++) {
      const action = actions[i % actions.length]!;
      const body = { transaction: `probe-${i}`, ts: ts(), args: {} };
      const payload = i % 2 === 0 ? body : signed(action, body, 'guessed-key-guessed-key-guessed');
      s.county.client.publish(`${REQ}${action}`, JSON.stringify(payload), { qos: 0 });
    }
    const req = signed('status', { transaction: 'county-real', ts: ts(), args: {} });
    await s.county.publish(`${REQ}status`, JSON.stringify(req));
    expect(await s.answer('status', 'county-real', 60_000)).toMatchObject({ status: 'ok' });
    const probes = s.county.received.filter((r) => r.topic.includes('/response/') && String(r.payload?.['transaction']).startsWith('probe-'));
    expect(probes.length).toBeGreaterThan(N / 2);
    // Whatever the action, allowed or not: the same answer.
    expect(new Set(probes.map((r) => (r.payload?.['error'] as { code: string }).code))).toEqual(new Set(['bad_signature']));
    expect(s.seen()).toBe(1);
  });

  it('a request refused as busy is not recorded: the county retries it with the same transaction and it runs', async () => {
    // Nine projectors on one simulator that stops answering: eight commands hang on their drivers
    // (the most a station runs at once), the ninth gets busy.
    const sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
    await sim.start();
    cleanups.push(() => sim.stop());
    const ids = Array.from({ length: 9 }, (_, i) => `p${i + 1}`);
    const s = await setup(
      { allowed_commands: ['device.power'] },
      { devices: ids.map((id) => ({ id, kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 60 })) },
    );
    const socket = join(s.dir, 'ctl.sock');
    await waitFor(async () => ((await callDaemon(socket, 'devices')).data as Array<{ online: boolean }>).every((d) => d.online), 15_000);
    sim.silent = true;
    for (const id of ids) {
      s.county.client.publish(`${REQ}device.power`, JSON.stringify({ transaction: `power-${id}`, args: { device: id, value: 'on' } }), { qos: 1 });
    }
    const busy = await s.answer('device.power', 'power-p9');
    expect(busy).toMatchObject({ status: 'error', error: { code: 'busy' } });
    sim.silent = false;
    // The eight hung commands end (their drivers time out); then the county tries again, same transaction.
    await waitFor(() => ids.slice(0, 8).every((id) => s.county.on('/response/device.power').some((r) => r.payload?.['transaction'] === `power-${id}`)), 30_000);
    const from = s.county.received.length;
    await s.county.publish(`${REQ}device.power`, JSON.stringify({ transaction: 'power-p9', args: { device: 'p9', value: 'on' } }));
    const retried = await waitFor(() => s.county.received.slice(from).find((r) => r.topic.endsWith('/response/device.power') && r.payload?.['transaction'] === 'power-p9'), 20_000);
    expect(retried.payload).toMatchObject({ status: 'ok', data: { id: 'p9' } });
  });
});
