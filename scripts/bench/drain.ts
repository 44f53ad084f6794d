/**
 * 3. outbox drain: 20,000 durable usage records appended to the store's outbox in a real agent's
 * database while no broker exists; then mosquitto, an acking consumer and the agent are started and
 * the replay is timed from the first record at the consumer until the agent's outbox is empty (every
 * record acked). Reference, same run, same broker and payloads: a raw mqtt.js QoS-1 publish loop with
 * the agent's in-flight window (32), timed from the first to the last record at the consumer.
 * The agent runs with county.replay_rate 100000 (the schema's maximum; default 100).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { callDaemon } from '../../agent/control/client.js';
import { Store } from '../../agent/store/store.js';
import { AckingConsumer } from './consumer.js';
import { Mosquitto, Cleanup, baseStation, cpuPercent, figure, round, sampleProcess, sleep, startAgent, tempDir, waitFor, type BenchOptions, type BenchResult } from './common.js';

const N = 20_000;
const WINDOW = 32;
const REPLAY_RATE = 100_000;

/** Appends `n` usage records shaped like the tracker's; returns their wire payloads (as replayed). */
function fillLedger(dataDir: string, station: string, n: number): string[] {
  const store = Store.open(dataDir);
  const ledger = store.outbox;
  const payloads: string[] = [];
  const start0 = Date.UTC(2025, 0, 1);
  store.transaction(() => {
    for (let i = 0; i < n; i++) {
      const startMs = start0 + i * 3_600_000;
      const dur = 1800 + (i % 7) * 600;
      const end = new Date(startMs + dur * 1000).toISOString();
      const rec = ledger.append('usage', 'usage', end, (seq, id) => ({
        v: 1,
        seq,
        station_id: station,
        id,
        start: new Date(startMs).toISOString(),
        end,
        duration_s: dur,
        devices: [
          { id: 'projector', kind: 'projector', on_s: dur },
          { id: 'amplifier', kind: 'amplifier', on_s: dur - 60 },
          { id: 'led', kind: 'led_display', on_s: dur - 30 },
        ],
        inputs: [{ device: 'projector', input: '31', s: dur }],
        signal_s: dur - 120,
        trigger: i % 3 === 0 ? 'schedule:weekly-class' : 'manual',
        end_reason: 'devices_off',
        annotation: null,
        short: false,
        rule_version: 1,
        boot: 1,
        clock: 'synced',
      }));
      payloads.push(JSON.stringify({ ...rec.payload, historical: true }));
    }
  });
  store.close();
  return payloads;
}

export async function drain(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  try {
    const station = 'bench-drain';
    const dir = cleanup.dir(tempDir('bench-drain-'));
    const dataDir = join(dir, 'data');
    const tFill = performance.now();
    const payloads = fillLedger(dataDir, station, N);
    const fillS = (performance.now() - tFill) / 1000;
    const bytes = payloads.reduce((s, p) => s + Buffer.byteLength(p), 0);
    opts.log(`drain: ${N} records (${Math.round(bytes / N)} B each) appended in ${fillS.toFixed(1)} s; broker up`);

    const broker = await Mosquitto.start({ extra: ['max_queued_messages 100000', 'max_inflight_messages 0'] });
    cleanup.add(() => broker.dispose());

    // Reference: raw mqtt.js QoS-1 loop, same payloads, same window, to a consumer on the same broker.
    const rawConsumer = new AckingConsumer({ url: broker.url, station: 'bench-raw', noAck: true });
    await rawConsumer.start();
    cleanup.add(() => rawConsumer.stop());
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'bench-raw-pub', clean: true });
    cleanup.add(() => pub.endAsync(true));
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let inflight = 0;
      let done = 0;
      const pump = (): void => {
        while (inflight < WINDOW && next < payloads.length) {
          inflight++;
          pub.publish('stations/bench-raw/usage', payloads[next++]!, { qos: 1 }, (err) => {
            inflight--;
            if (err) return reject(err);
            if (++done === payloads.length) resolve();
            else pump();
          });
        }
      };
      pump();
    });
    await waitFor('the raw records at the consumer', () => rawConsumer.seen.size >= N, 60_000);
    const rawS = (rawConsumer.lastAt! - rawConsumer.firstAt!) / 1000;
    const rawRate = N / rawS;
    opts.log(`drain: raw loop ${Math.round(rawRate)} records/s`);

    // The agent, with a command key as config/example.yaml ships: every ack it believes is signed.
    const commandKey = 'bench-command-key-0123456789abcdef';
    const keyFile = join(dir, 'command.key');
    writeFileSync(keyFile, `${commandKey}\n`, { mode: 0o640 });
    const consumer = new AckingConsumer({ url: broker.url, station, ackEveryMs: 100, commandKey });
    await consumer.start();
    cleanup.add(() => consumer.stop());
    const agent = await startAgent(dir, {
      data_dir: dataDir,
      station: baseStation(station),
      county: { url: broker.url, heartbeat_s: 60, replay_rate: REPLAY_RATE, command_key_file: keyFile },
      devices: [],
    });
    cleanup.add(() => agent.stop());
    const tAgent = performance.now();
    await waitFor('the first replayed record', () => consumer.firstAt !== undefined, 30_000, 5);
    const agentCpu = sampleProcess(agent.pid, 250);
    const brokerCpu = sampleProcess(broker.pid!, 250);
    await waitFor('all records at the consumer', () => consumer.watermark >= N, 180_000, 100).catch(() => undefined);
    const allReceivedAt = performance.now();
    const receivedAll = consumer.watermark >= N;
    let depth = Number.NaN;
    await waitFor(
      'the agent outbox to empty',
      async () => {
        const r = await callDaemon(agent.socket, 'status', {}, 2_000);
        depth = (r.data as { county: { outbox_depth: number } }).county.outbox_depth;
        return depth === 0;
      },
      60_000,
      20,
    ).catch(() => undefined);
    const ackedAt = performance.now();
    const ac = cpuPercent(agentCpu.stop());
    const bc = cpuPercent(brokerCpu.stop());
    const first = consumer.firstAt ?? tAgent;
    const agentS = (ackedAt - first) / 1000;
    const agentRate = N / agentS;
    const recvRate = N / ((allReceivedAt - first) / 1000);
    await sleep(200);
    return {
      name: 'drain',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        figure({ metric: 'replay until all acked', value: round(agentRate, 0), unit: 'records/s', reference: 'raw mqtt.js QoS-1 loop, window 32', reference_value: round(rawRate, 0), goal: '≥ 0.5× raw', pass: receivedAll && depth === 0 && agentRate / rawRate >= 0.5 }),
        figure({ metric: 'replay until all received', value: round(recvRate, 0), unit: 'records/s', reference: 'raw loop', reference_value: round(rawRate, 0) }),
        figure({ metric: 'agent start→first record', value: round((first - tAgent) / 1000, 2), unit: 's' }),
        figure({ metric: 'agent cpu during replay', value: round(ac, 0), unit: '% of a core', reference: 'mosquitto cpu', reference_value: round(bc, 0) }),
        figure({ metric: 'outbox depth at end', value: depth, unit: 'records', reference: 'appended', reference_value: N }),
      ],
      notes: [
        `${N} usage records of ${Math.round(bytes / N)} B; county.replay_rate ${REPLAY_RATE} (schema max) — the replay cannot exceed it; mosquitto on loopback, acks every 100 ms (retained watermark)`,
        `received ${consumer.seen.size} distinct seqs (${consumer.messages} messages incl. duplicates); raw loop ${rawS.toFixed(2)} s`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
