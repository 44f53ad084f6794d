/**
 * Issue 12, forged acks, on real parts: the built daemon as a child process with a real database,
 * a real mosquitto, a PJLink simulator for a real usage session, and an honest county consumer.
 *
 * - A retained `{"seq": 9007199254740991}` left on the station's ack topic by anyone with publish
 *   rights used to mark every unsent record delivered and push the seq allocator to 2^53: the next
 *   start died on the records table's UNIQUE constraint, every time.
 * - With a command key, an unsigned or wrongly signed ack used to be believed all the same.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { callDaemon } from '../../../agent/control/client.js';
import { signAck } from '../../../protocol/signing.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { Mosquitto, removeDir, tempDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { startAgent, waitReady, writeConfig, type RunningAgent } from '../../helpers/agent.js';
import { CountyConsumer, writeSecret } from './harness.js';

const STATION = 'test-station';
const ACK = `stations/${STATION}/ack`;
const KEY = 'county-command-key-0123456789abcdef';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(): Promise<Mosquitto> {
  const b = await Mosquitto.start();
  cleanups.push(() => b.dispose());
  return b;
}

/** The county collector as production runs it: a persistent session, so nothing is lost across agent restarts. */
async function county(url: string, ackKey?: string): Promise<CountyConsumer> {
  const c = await CountyConsumer.connect(url, { autoAck: false, ...(ackKey ? { ackKey } : {}), options: { clientId: 'county-collector', clean: false } });
  cleanups.push(() => c.close());
  return c;
}

/** Someone with publish rights on the broker who is not the county. */
async function forge(url: string, payload: string): Promise<void> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'intruder' });
  await c.publishAsync(ACK, payload, { qos: 1, retain: true });
  await c.endAsync();
}

interface Station {
  dir: string;
  file: string;
  socket: string;
  sim: PjlinkSimulator;
  agent: RunningAgent;
  start(): Promise<void>;
}

async function station(url: string, county: Record<string, unknown> = {}): Promise<Station> {
  const sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir('trust-acks-');
  cleanups.push(() => removeDir(dir));
  const file = writeConfig(dir, {
    county: { url, heartbeat_s: 5, require_ack: true, ...county },
    devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.25 }],
    sessions: { min_s: 1, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 1 },
  });
  const s: Station = {
    dir,
    file,
    socket: join(dir, 'ctl.sock'),
    sim,
    agent: undefined as unknown as RunningAgent,
    async start() {
      s.agent = startAgent(file);
      const agent = s.agent;
      cleanups.push(() => agent.stop('SIGKILL'));
      await waitReady(agent, file);
    },
  };
  return s;
}

async function depth(s: Station): Promise<number> {
  return ((await callDaemon(s.socket, 'status')).data as { county: { outbox_depth: number } }).county.outbox_depth;
}

/** One class on the simulated projector, long enough to count, then off; resolves when the session is closed. */
async function classOn(s: Station): Promise<void> {
  const listed = async () => ((await callDaemon(s.socket, 'sessions.list', { since: '2000-01-01', until: '2100-01-01' })).data as { sessions: Array<{ duration_s: number }> }).sessions;
  const before = (await listed()).length;
  s.sim.setPower(1);
  const open = await waitFor(async () => ((await callDaemon(s.socket, 'status')).data as { open_session: string | null }).open_session, 10_000);
  const db = new Database(join(s.dir, 'data', 'station.db'), { readonly: true });
  try {
    // Until the agent's own checkpoint says the session lasted min_s (1 s).
    await waitFor(() => {
      const row = db.prepare('SELECT record FROM sessions WHERE id = ?').get(open) as { record: string } | undefined;
      return row && (JSON.parse(row.record) as { duration_s: number }).duration_s >= 1;
    }, 10_000);
  } finally {
    db.close();
  }
  s.sim.setPower(0);
  await waitFor(async () => (await listed()).length > before, 10_000);
}

/** The station's seq counter and published watermark, read from its database file. */
function counters(s: Station): { next_seq: number; published_seq: number } {
  const db = new Database(join(s.dir, 'data', 'station.db'), { readonly: true });
  try {
    const get = (k: string) => Number((db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string }).value);
    return { next_seq: get('next_seq'), published_seq: get('published_seq') };
  } finally {
    db.close();
  }
}

/** Records the broker has taken (PUBACK written down). */
function published(s: Station): number {
  const db = new Database(join(s.dir, 'data', 'station.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM records WHERE published = 1').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const contiguous = (seqs: Iterable<number>): boolean => {
  const sorted = [...seqs].sort((a, b) => a - b);
  return sorted.every((seq, i) => seq === i + 1);
};

describe('forged county acks against a real agent', () => {
  it('a poisoned retained ack changes nothing: the agent restarts cleanly, delivers a new usage record and loses nothing', async () => {
    const b = await broker();
    const c = await county(b.url);
    await forge(b.url, '{"seq":9007199254740991}');
    const s = await station(b.url);

    await s.start();
    // The retained poison reached the agent before anything was sent (refused, or believed: then the
    // agent_start record counts as delivered and is never sent); the agent_start record still reaches the county.
    await waitFor('the agent_start record (seq 1) at the county', () => c.stored.has(1), 10_000);
    await waitFor(async () => s.agent.output().includes('ignoring a county ack') || (await depth(s)) === 0, 10_000);
    expect(await depth(s)).toBeGreaterThanOrEqual(1);

    // A restart with the poison still retained.
    expect(await s.agent.stop('SIGTERM')).toBe(0);
    await s.start();
    await waitFor(() => s.agent.output().includes('ignoring a county ack'), 10_000);

    await classOn(s);
    const usage = await c.waitFor(`${STATION}/usage`, () => true, 10_000);
    const usageSeq = usage.payload!['seq'] as number;

    // The honest county acks what it holds, every seq from 1: nothing is missing, so nothing is lost.
    const max = Math.max(...c.stored.keys());
    expect(contiguous(c.stored.keys()), JSON.stringify([...c.stored.keys()])).toBe(true);
    expect(usageSeq).toBeLessThanOrEqual(max);
    c.ackContiguous(`stations/${STATION}`);
    await waitFor(async () => (await depth(s)) === 0, 10_000);
    // Records made after the ack carry on from where the station was, not from 2^53.
    expect(await s.agent.stop('SIGTERM')).toBe(0);
    const after = counters(s);
    expect(after.next_seq).toBeLessThan(100);
    expect(after.next_seq - 1).toBeGreaterThanOrEqual(max);
    expect(Number.isSafeInteger(after.published_seq)).toBe(true);
    expect(after.published_seq).toBeGreaterThanOrEqual(max);

    // And the next start, with the honest ack retained now, delivers the agent_stop record and the new start.
    await s.start();
    await waitFor(() => c.stored.has(after.next_seq), 10_000);
    expect(contiguous(c.stored.keys())).toBe(true);
  });

  it('with a command key: ignores unsigned and wrongly signed acks, believes the county\'s signed one', async () => {
    const b = await broker();
    const c = await county(b.url, KEY);
    const keyDir = tempDir('trust-key-');
    cleanups.push(() => removeDir(keyDir));
    const s = await station(b.url, { command_key_file: writeSecret(keyDir, 'command.key', `${KEY}\n`) });
    await s.start();
    await waitFor(() => c.stored.has(1), 10_000);
    await waitFor(() => published(s) >= 1, 10_000);

    await forge(b.url, JSON.stringify({ seq: 1 }));
    const ts = new Date().toISOString();
    await forge(b.url, JSON.stringify({ seq: 1, ts, sig: signAck('not-the-county-key-0123456789', STATION, { seq: 1, ts }) }));
    await forge(b.url, JSON.stringify({ seq: 1, ts, sig: signAck(KEY, 'another-station', { seq: 1, ts }) }));
    await waitFor(async () => (s.agent.output().match(/ignoring a county ack/g) ?? []).length >= 3 || (await depth(s)) === 0, 10_000);
    expect(await depth(s)).toBeGreaterThanOrEqual(1);

    c.ackContiguous(`stations/${STATION}`);
    await waitFor(async () => (await depth(s)) === 0, 10_000);
  });
});
