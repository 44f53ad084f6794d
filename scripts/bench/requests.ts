/**
 * requests: what an admitted county request costs the station's disk. A real agent (unsigned mode,
 * `status` allowed) and mosquitto; requests with a fresh UUID transaction each are sent in waves of
 * 100, a few at a time (a burst is mostly refused `busy`, eight running at once), and the agent's
 * `write_bytes` (/proc/<pid>/io) is read around a window of 300 answered requests, first at the start,
 * then after 2,000 more. Before issue 12 every request that passed the guard (busy ones too) rewrote
 * the whole seen-transaction cache as one meta value, fsynced, so the cost grew with the cache; now a
 * request that runs writes one row and a refused one nothing. Figures per answered request and per
 * request that ran. `BENCH_AGENT_JS=/path/to/dist/agent/main.js` measures another build the same way.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { FleetTopics } from '../../protocol/topics.js';
import { Cleanup, Mosquitto, figure, round, startAgent, tempDir, waitFor, writeBytes, type BenchOptions, type BenchResult } from './common.js';

const STATION = 'bench-requests';
const fleet = new FleetTopics('stations');
const topics = fleet.station(STATION);
const WINDOW = 300;
const THEN = 2_000;

export async function requestsBench(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  try {
    const broker = await Mosquitto.start();
    cleanup.add(() => broker.dispose());
    const dir = cleanup.dir(tempDir('bench-requests-'));
    const agent = await startAgent(
      dir,
      { station: { id: STATION, name: 'bench' }, county: { url: broker.url, heartbeat_s: 60, allowed_commands: ['status'] }, devices: [] },
      process.env['BENCH_AGENT_JS'] || undefined,
    );
    cleanup.add(() => agent.stop());
    const county: MqttClient = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clientId: 'bench-requests-county' });
    cleanup.add(() => county.endAsync(true));
    // Unbuffered, so a few requests at a time reach the agent as they are sent.
    (county as unknown as { stream: { setNoDelay(on: boolean): void } }).stream.setNoDelay(true);
    const answers = new Map<string, string>();
    county.on('message', (_t, payload) => {
      const r = JSON.parse(payload.toString()) as { transaction: string; status: string };
      answers.set(r.transaction, r.status);
    });
    await county.subscribeAsync(fleet.filter('response'), { qos: 1 });
    await waitFor('the agent online', async () => {
      const tx = randomUUID();
      county.publish(topics.request('status'), JSON.stringify({ transaction: tx }), { qos: 0 });
      await waitFor(() => answers.has(tx), 1_000, 5);
      return true;
    }, 20_000);

    let answered = 0;
    let ran = 0;
    /** Sends waves until `count` more requests were answered; the agent's write_bytes and the wall time spent. */
    const window = async (count: number): Promise<{ bytes: number; answered: number; ran: number; seconds: number }> => {
      const b0 = writeBytes(agent.pid);
      const [a0, r0, s0] = [answered, ran, performance.now()];
      while (answered - a0 < count) {
        const wave = Array.from({ length: 100 }, () => randomUUID());
        for (const [i, tx] of wave.entries()) {
          county.publish(topics.request('status'), JSON.stringify({ transaction: tx }), { qos: 0 });
          if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 0));
        }
        await waitFor('the wave answered', () => wave.every((tx) => answers.has(tx)), 300_000, 5);
        answered += wave.length;
        ran += wave.filter((tx) => answers.get(tx) === 'ok').length;
      }
      return { bytes: writeBytes(agent.pid) - b0, answered: answered - a0, ran: ran - r0, seconds: (performance.now() - s0) / 1000 };
    };
    const kib = (n: number) => round(n / 1024, 1);

    const first = await window(WINDOW);
    opts.log(`requests: first ${first.answered} answered (${first.ran} ran): ${Math.round(first.bytes / first.answered)} B written per request`);
    await window(THEN);
    const later = await window(WINDOW);
    opts.log(`requests: ${later.answered} answered after ${THEN} more (${later.ran} ran): ${Math.round(later.bytes / later.answered)} B written per request`);
    return {
      name: 'requests',
      elapsed_s: Math.round((Date.now() - t0) / 100) / 10,
      figures: [
        figure({ metric: 'disk per request, first', value: kib(first.bytes / first.answered), unit: 'KiB' }),
        figure({
          metric: `disk per request, +${THEN}`,
          value: kib(later.bytes / later.answered),
          unit: 'KiB',
          reference: 'the same for the first requests',
          reference_value: kib(first.bytes / first.answered),
          goal: 'does not grow',
        }),
        figure({ metric: `disk per run request, +${THEN}`, value: kib(later.bytes / Math.max(1, later.ran)), unit: 'KiB' }),
        figure({ metric: `requests/s answered, +${THEN}`, value: round(later.answered / later.seconds, 0), unit: 'req/s' }),
      ],
      notes: [process.env['BENCH_AGENT_JS'] ? `agent: ${process.env['BENCH_AGENT_JS']}` : 'agent: this build'],
    };
  } finally {
    await cleanup.run();
  }
}
